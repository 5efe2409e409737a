"""Two-factor pages, mounted at /account/2fa/ (inside the language prefix)."""

from django.urls import path

from accounts.twofactor import views

app_name = "twofactor"

urlpatterns = [
    path("", views.manage, name="manage"),
    path("setup/", views.setup, name="setup"),
    path("verify/", views.verify, name="verify"),
    path("recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("devices/<int:pk>/remove/", views.device_remove, name="device_remove"),
]
