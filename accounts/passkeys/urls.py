"""Passkey pages and JSON endpoints, mounted at /passkeys/ (config/urls.py)."""

from django.urls import path

from accounts.passkeys import views

urlpatterns = [
    path("", views.passkey_list, name="passkey_list"),
    path("register/options/", views.passkey_register_options, name="passkey_register_options"),
    path("register/", views.passkey_register_verify, name="passkey_register"),
    path("welcome/", views.passkey_setup, name="passkey_setup"),
    path("<int:pk>/rename/", views.passkey_rename_view, name="passkey_rename"),
    path("<int:pk>/remove/", views.passkey_remove_view, name="passkey_remove"),
    path("sign-in/", views.passkey_login, name="passkey_login"),
    path("sign-in/options/", views.passkey_login_options, name="passkey_login_options"),
    path("sign-in/verify/", views.passkey_login_verify, name="passkey_login_verify"),
    path("sign-up/", views.payer_signup, name="payer_signup"),
    path("sign-up/code/", views.payer_signup_code, name="payer_signup_code"),
]
