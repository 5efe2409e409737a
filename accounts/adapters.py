"""django-allauth adapter: Paydesk's hooks into sign-up and sign-in."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest

from accounts.middleware import current_request
from accounts.models import User
from accounts.services.audit import audit_event_record
from accounts.services.users import user_signup_complete


class AccountAdapter(DefaultAccountAdapter):
    def save_user(
        self,
        request: HttpRequest,
        user: AbstractBaseUser,
        form: forms.BaseForm,
        commit: bool = True,
    ) -> AbstractBaseUser:
        """Save the new user, then give them the role of the account type they chose.

        accounts.forms.SignupForm calls this inside its transaction.
        """
        user = super().save_user(request, user, form, commit=False)
        assert isinstance(user, User)
        user.full_name = str(form.cleaned_data.get("full_name") or "")
        if commit:
            user.save()
            account_type = form.cleaned_data.get("account_type")
            if account_type:
                user_signup_complete(
                    user=user,
                    account_type=account_type,
                    business_name=form.cleaned_data.get("business_name", ""),
                    request=request,
                )
        return user

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except forms.ValidationError:
            # The password is never checked (nor logged) once the limit is hit.
            login = str(credentials.get("email") or credentials.get("username") or "")[:254]
            audit_event_record(
                action="auth.login_rate_limited", after={"login": login}, request=request
            )
            raise

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        with transaction.atomic():
            confirmed = super().confirm_email(request, email_address)
            if confirmed:
                audit_event_record(
                    action="auth.email_confirmed",
                    actor=email_address.user,
                    target=email_address.user,
                    after={"email": email_address.email},
                    request=request,
                )
        return bool(confirmed)

    def set_password(self, user: AbstractBaseUser, password: str) -> None:
        # allauth calls this for password reset, change and set; none pass the request.
        request = self.request or current_request()
        with transaction.atomic():
            super().set_password(user, password)
            actor = user
            if request is not None and isinstance(request.user, User):
                actor = request.user  # a signed-in change rather than a reset by email
            audit_event_record(
                action="auth.password_changed",
                actor=actor if isinstance(actor, User) else None,
                target=user,
                request=request,
            )
