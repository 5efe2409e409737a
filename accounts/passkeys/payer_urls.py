"""The payer area, mounted at /payer/ (config/urls.py)."""

from django.urls import path

from accounts.passkeys import views

urlpatterns = [
    path("", views.payer_home, name="payer_home"),
]
