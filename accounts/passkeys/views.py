"""Passkey pages and their JSON endpoints, payer sign-up by email code, the payer area.

The browser fetches fresh WebAuthn options from a JSON endpoint (never from the page:
the CSP allows no inline script, and a challenge must be fresh), runs the ceremony in
static/js/webauthn.js and posts the answer back. The challenge id waits in the session,
so an answer is only accepted from the browser session that asked for it.

Every JSON endpoint answers errors in the one shape {"error": {"code", "message",
"details"}}.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.passkeys.errors import RateLimited
from accounts.passkeys.forms import EmailCodeForm, EmailForm, PasskeyNameForm
from accounts.passkeys.models import PasskeyCredential
from accounts.passkeys.payer_area import payer_payments_section
from accounts.passkeys.selectors import (
    passkey_get_for_user,
    passkey_list_for_user,
    user_has_passkey,
)
from accounts.passkeys.services import (
    passkey_register,
    passkey_registration_start,
    passkey_remove,
    passkey_rename,
    passkey_sign_in,
    passkey_sign_in_start,
    payer_access_by_email_code,
    payer_signup_code_send,
)
from accounts.roles import Role
from accounts.services.audit import client_ip
from accounts.twofactor.redirects import url_with_next
from config.errors import ApplicationError, NotFound, ValidationFailed

SESSION_REGISTRATION_CHALLENGE = "passkeys:registration_challenge"
SESSION_SIGN_IN_CHALLENGE = "passkeys:sign_in_challenge"
SESSION_SIGNUP_EMAIL = "passkeys:signup_email"
SESSION_NEXT = "passkeys:next"
# Anonymous sign-in options write a challenge row each: keep one client from flooding.
SIGN_IN_OPTIONS_PER_MINUTE = 30
# The backend that loads the session's user on later requests (passkeys and codes prove
# the user themselves; no backend authenticates them).
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"

View = Callable[..., HttpResponse]


# ----------------------------------------------------------------- helpers


def _error_response(exc: ApplicationError) -> JsonResponse:
    response = JsonResponse(exc.as_dict(), status=exc.status)
    retry_after = exc.details.get("retry_after_seconds")
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def json_endpoint(view: View) -> View:
    """POST only, never cached; an ApplicationError becomes the one JSON error shape."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as exc:
            return _error_response(exc)

    return never_cache(require_POST(wrapper))


def json_login_required(view: View) -> View:
    """Answer 401 in the error shape, rather than redirect to a login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _error_response(
                ApplicationError(
                    _("Your session has ended. Sign in again."),
                    code="not_authenticated",
                    status=401,
                )
            )
        return view(request, *args, **kwargs)

    return wrapper


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(_("The request body is not valid JSON.")) from exc
    if not isinstance(body, dict):
        raise ValidationFailed(_("The request body must be a JSON object."))
    return body


def _safe_url(request: HttpRequest, candidate: Any) -> str:
    if isinstance(candidate, str) and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _next_from(request: HttpRequest, body: dict[str, Any] | None = None) -> str:
    candidates = [
        (body or {}).get("next"),
        request.POST.get("next"),
        request.GET.get("next"),
        request.session.get(SESSION_NEXT),
    ]
    for candidate in candidates:
        url = _safe_url(request, candidate)
        if url:
            return url
    return ""


def home_url_for(user: User) -> str:
    """Return where a signed-in user starts: the payer area for payers, else the dashboard."""
    if user.has_role(Role.PAYER) and user.has_perm("accounts.use_payer_area"):
        return reverse("payer_home")
    return reverse("dashboard")


def _login(request: HttpRequest, user: User) -> None:
    # django.contrib.auth.login cycles the session key and sends user_logged_in (audited
    # `auth.login`); allauth's middleware and pages work with such a session.
    login(request, user, backend=LOGIN_BACKEND)
    request.session.pop(SESSION_SIGNUP_EMAIL, None)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _own_passkey_or_404(user: User, pk: int) -> PasskeyCredential:
    try:
        return passkey_get_for_user(user=user, passkey_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


# ----------------------------------------------------------------- managing passkeys


@never_cache
@require_GET
@login_required
def passkey_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "accounts/passkeys/list.html",
        {
            "passkeys": passkey_list_for_user(user=user),
            "can_sign_in_with_passkey": not user.requires_two_factor,
            "next_url": _next_from(request),
        },
    )


@json_endpoint
@json_login_required
def passkey_register_options(request: HttpRequest) -> HttpResponse:
    challenge, options = passkey_registration_start(user=_user(request))
    request.session[SESSION_REGISTRATION_CHALLENGE] = challenge.pk
    return JsonResponse({"publicKey": options})


@json_endpoint
@json_login_required
def passkey_register_verify(request: HttpRequest) -> HttpResponse:
    body = _json_body(request)
    user = _user(request)
    credential = passkey_register(
        user=user,
        challenge_id=request.session.pop(SESSION_REGISTRATION_CHALLENGE, None),
        response=body.get("credential"),
        name=str(body.get("name") or ""),
        request=request,
    )
    if user.requires_two_factor:
        added = _("Passkey “%(name)s” added. You can now use it to confirm payments.")
    else:
        added = _("Passkey “%(name)s” added. You can now use it to sign in and confirm payments.")
    messages.success(request, added % {"name": credential.name})
    redirect_url = _next_from(request, body) or reverse("passkey_list")
    request.session.pop(SESSION_NEXT, None)
    return JsonResponse(
        {"passkey": {"id": credential.pk, "name": credential.name}, "redirect": redirect_url}
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def passkey_rename_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    credential = _own_passkey_or_404(user, pk)
    form = PasskeyNameForm(data=request.POST or None, initial={"name": credential.name})
    if request.method == "POST" and form.is_valid():
        try:
            passkey_rename(
                user=user, passkey_id=pk, name=form.cleaned_data["name"], request=request
            )
        except ApplicationError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(request, _("Passkey renamed."))
            return redirect("passkey_list")
    return render(request, "accounts/passkeys/rename.html", {"form": form, "passkey": credential})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def passkey_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    credential = _own_passkey_or_404(user, pk)
    if request.method == "POST":
        try:
            passkey_remove(user=user, passkey_id=pk, request=request)
        except NotFound as exc:  # removed in another tab meanwhile
            raise Http404(exc.message) from exc
        messages.success(request, _("Passkey “%(name)s” removed.") % {"name": credential.name})
        return redirect("passkey_list")
    remaining = passkey_list_for_user(user=user).exclude(pk=pk).count()
    return render(
        request,
        "accounts/passkeys/remove.html",
        {
            "passkey": credential,
            "is_last": remaining == 0,
            "has_password": user.has_usable_password(),
        },
    )


@never_cache
@require_GET
@login_required
def passkey_setup(request: HttpRequest) -> HttpResponse:
    """Ask a new payer to create their first passkey (or skip for now)."""
    next_url = _next_from(request)
    return render(
        request,
        "accounts/passkeys/setup.html",
        {
            "next_url": next_url,
            "skip_url": next_url or home_url_for(_user(request)),
            "has_passkey": user_has_passkey(_user(request)),
        },
    )


# ----------------------------------------------------------------- signing in


@never_cache
@require_GET
def passkey_login(request: HttpRequest) -> HttpResponse:
    """Sign in with a passkey (button or the email field's autofill), or get a code."""
    next_url = _next_from(request)
    if request.user.is_authenticated:
        return redirect(next_url or home_url_for(_user(request)))
    return render(
        request,
        "accounts/passkeys/sign_in.html",
        {"form": EmailForm(), "next_url": next_url},
    )


@json_endpoint
def passkey_login_options(request: HttpRequest) -> HttpResponse:
    ip = client_ip(request) or "-"
    key = f"passkeys:sign-in-options:{ip}"
    cache.add(key, 0, 60)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, 60)
        count = 1
    if count > SIGN_IN_OPTIONS_PER_MINUTE:
        raise RateLimited(retry_after_seconds=60)
    challenge, options = passkey_sign_in_start()
    request.session[SESSION_SIGN_IN_CHALLENGE] = challenge.pk
    return JsonResponse({"publicKey": options})


@json_endpoint
def passkey_login_verify(request: HttpRequest) -> HttpResponse:
    body = _json_body(request)
    user, _evidence = passkey_sign_in(
        challenge_id=request.session.pop(SESSION_SIGN_IN_CHALLENGE, None),
        response=body.get("credential"),
        request=request,
    )
    next_url = _next_from(request, body)
    _login(request, user)
    request.session.pop(SESSION_NEXT, None)
    return JsonResponse({"redirect": next_url or home_url_for(user)})


# ----------------------------------------------------------------- payer sign-up


@never_cache
@require_http_methods(["GET", "POST"])
def payer_signup(request: HttpRequest) -> HttpResponse:
    """Step 1: the payer's email address; a code goes to it."""
    next_url = _next_from(request)
    if request.user.is_authenticated:
        return redirect(next_url or home_url_for(_user(request)))
    form = EmailForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            payer_signup_code_send(email=email, request=request)
        except RateLimited as exc:
            if request.session.get(SESSION_SIGNUP_EMAIL) != email.strip().lower():
                form.add_error("email", exc.message)
            else:  # the code just sent is still on its way: go and enter it
                messages.info(request, exc.message)
                return redirect("payer_signup_code")
        except ApplicationError as exc:
            form.add_error("email", exc.message)
        else:
            request.session[SESSION_SIGNUP_EMAIL] = email.strip().lower()
            if next_url:
                request.session[SESSION_NEXT] = next_url
            return redirect("payer_signup_code")
    return render(request, "accounts/payer/signup.html", {"form": form, "next_url": next_url})


@never_cache
@require_http_methods(["GET", "POST"])
def payer_signup_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code from the email; it signs the payer up, or in if they exist."""
    email = request.session.get(SESSION_SIGNUP_EMAIL)
    if not email:
        return redirect("payer_signup")
    if request.method == "POST" and "resend" in request.POST:
        try:
            payer_signup_code_send(email=email, request=request)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("A new code is on its way."))
        return redirect("payer_signup_code")
    form = EmailCodeForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            access = payer_access_by_email_code(
                email=email, code=form.cleaned_data["code"], request=request
            )
        except ApplicationError as exc:
            form.add_error("code", exc.message)
        else:
            next_url = _next_from(request)
            _login(request, access.user)
            request.session.pop(SESSION_NEXT, None)
            if access.is_new or not user_has_passkey(access.user):
                return redirect(url_with_next(reverse("passkey_setup"), next_url))
            return redirect(next_url or home_url_for(access.user))
    return render(request, "accounts/payer/signup_code.html", {"form": form, "email": email})


# ----------------------------------------------------------------- payer area


@never_cache
@require_GET
@login_required
@permission_required("accounts.use_payer_area", raise_exception=True)
def payer_home(request: HttpRequest) -> HttpResponse:
    """The payer area: their payments and receipts (filled by the payments app's hook)."""
    section = payer_payments_section()
    context: dict[str, Any] = {
        "payments_template": section.template_name if section else "",
        "passkey_count": passkey_list_for_user(user=_user(request)).count(),
    }
    if section is not None:
        context.update(section.get_context(request))
    return render(request, "accounts/payer/home.html", context)
