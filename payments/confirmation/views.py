"""Checkout endpoints that confirm a payment, and the payer's receipt page.

JSON (POST, CSRF header, session cookie; errors in the one shape {"error": {"code",
"message", "details"}}), run by static/js/checkout-passkey.js:

    /pay/<token>/passkey/options/            {} -> {"publicKey", "attempt"}
    /pay/<token>/passkey/confirm/            {"credential"} -> {"status", "redirect"}
    /pay/<token>/passkey/register/options/   {} -> {"publicKey", "attempt"}
    /pay/<token>/passkey/register/           {"credential", "name"?} -> {"passkey"}
    /pay/<token>/attempts/report/            {"attempt", "error"} -> {"recorded"}

Forms (POST, then back to the checkout page with a message; they work without
JavaScript): /pay/<token>/email-code/send/ and /pay/<token>/email-code/confirm/.

The challenge and attempt ids wait in the session under the payment's key, so an answer
is accepted only from the browser session that asked, for that payment.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from config.errors import ApplicationError, NotFound, ValidationFailed
from payments.confirmation import services
from payments.confirmation.errors import ConfirmationRateLimited
from payments.confirmation.models import VerificationMethod
from payments.confirmation.selectors import payment_get_for_payer
from payments.confirmation.session import session_key
from payments.domain.models import Payment
from payments.views.checkout import (
    checkout_payment_or_404,
    confirmation_rate_limited,
    follow_payer_language,
)

View = Callable[..., HttpResponse]


def _payer(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(_("The request body is not valid JSON.")) from exc
    if not isinstance(body, dict):
        raise ValidationFailed(_("The request body must be a JSON object."))
    return body


def _error(exc: ApplicationError) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.status)


def checkout_json(view: View) -> View:
    """POST, never cached, signed in (else 401), in the payer's language; the view gets
    the payment of the token; an ApplicationError becomes the one JSON error shape."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        follow_payer_language(request)
        payment = checkout_payment_or_404(token)
        if not request.user.is_authenticated:
            return _error(
                ApplicationError(
                    _("Your session has ended. Sign in again."),
                    code="not_authenticated",
                    status=401,
                )
            )
        try:
            return view(request, payment)
        except ApplicationError as exc:
            return _error(exc)

    return never_cache(require_POST(wrapper))


def _rate_limit(request: HttpRequest, payment: Payment, method: str) -> None:
    if confirmation_rate_limited(request, payment, method=method):
        raise ConfirmationRateLimited()


def _ids(request: HttpRequest, payment: Payment, step: str) -> tuple[int | None, int | None]:
    # Popped: a challenge is answered once, whatever the outcome.
    stored = request.session.pop(session_key(payment, step), None) or {}
    return stored.get("challenge"), stored.get("attempt")


def _checkout_path(payment: Payment) -> str:
    return reverse("checkout", kwargs={"token": payment.checkout_token})


# ----------------------------------------------------------------- passkeys


@checkout_json
def checkout_passkey_options(request: HttpRequest, payment: Payment) -> HttpResponse:
    _rate_limit(request, payment, VerificationMethod.PASSKEY)
    start = services.payment_passkey_confirmation_start(payment=payment, payer=_payer(request))
    request.session[session_key(payment, "passkey")] = {
        "challenge": start.challenge_id,
        "attempt": start.attempt_id,
    }
    return JsonResponse({"publicKey": start.options, "attempt": start.attempt_id})


@checkout_json
def checkout_passkey_confirm(request: HttpRequest, payment: Payment) -> HttpResponse:
    body = _json_body(request)
    challenge_id, attempt_id = _ids(request, payment, "passkey")
    confirmed = services.payment_confirm_with_passkey(
        payment=payment,
        payer=_payer(request),
        challenge_id=challenge_id,
        attempt_id=attempt_id,
        response=body.get("credential"),
        request=request,
    )
    return JsonResponse({"status": confirmed.status, "redirect": _checkout_path(payment)})


@checkout_json
def checkout_passkey_register_options(request: HttpRequest, payment: Payment) -> HttpResponse:
    _rate_limit(request, payment, VerificationMethod.PASSKEY_REGISTRATION)
    start = services.payment_passkey_registration_start(payment=payment, payer=_payer(request))
    request.session[session_key(payment, "registration")] = {
        "challenge": start.challenge_id,
        "attempt": start.attempt_id,
    }
    return JsonResponse({"publicKey": start.options, "attempt": start.attempt_id})


@checkout_json
def checkout_passkey_register(request: HttpRequest, payment: Payment) -> HttpResponse:
    body = _json_body(request)
    challenge_id, attempt_id = _ids(request, payment, "registration")
    credential = services.payment_passkey_register(
        payment=payment,
        payer=_payer(request),
        challenge_id=challenge_id,
        attempt_id=attempt_id,
        response=body.get("credential"),
        name=str(body.get("name") or ""),
        request=request,
    )
    return JsonResponse({"passkey": {"id": credential.pk, "name": credential.name}})


@checkout_json
def checkout_attempt_report(request: HttpRequest, payment: Payment) -> HttpResponse:
    """The browser reports a ceremony that ended on the device (cancelled, timed out...)."""
    body = _json_body(request)
    recorded = services.verification_attempt_client_failure(
        payment=payment,
        payer=_payer(request),
        attempt_id=body.get("attempt"),
        error_name=str(body.get("error") or "")[:64],
    )
    # The ceremony is over: its challenge must not wait in the session for an answer.
    for step in ("passkey", "registration"):
        stored = request.session.get(session_key(payment, step)) or {}
        if stored.get("attempt") == body.get("attempt"):
            request.session.pop(session_key(payment, step), None)
    return JsonResponse({"recorded": recorded})


# ----------------------------------------------------------------- email code


def _form_view(view: Callable[[HttpRequest, Payment], HttpResponse]) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        follow_payer_language(request)
        payment = checkout_payment_or_404(token)
        if not request.user.is_authenticated:
            query = urlencode({"next": _checkout_path(payment)})
            return redirect(f"{reverse('passkey_login')}?{query}")
        return view(request, payment)

    return never_cache(require_POST(wrapper))


@_form_view
def checkout_email_code_send(request: HttpRequest, payment: Payment) -> HttpResponse:
    payer = _payer(request)
    try:
        _rate_limit(request, payment, VerificationMethod.EMAIL_CODE)
        attempt, _record = services.payment_email_code_send(
            payment=payment, payer=payer, request=request
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        request.session[session_key(payment, "email_code")] = {"attempt": attempt.pk}
        messages.success(
            request,
            _("We sent a 6-digit code to %(email)s. It works for 10 minutes.")
            % {"email": payer.email},
        )
    return redirect(_checkout_path(payment) + "#email-code")


@_form_view
def checkout_email_code_confirm(request: HttpRequest, payment: Payment) -> HttpResponse:
    stored = request.session.get(session_key(payment, "email_code")) or {}
    try:
        _rate_limit(request, payment, VerificationMethod.EMAIL_CODE)
        services.payment_confirm_with_email_code(
            payment=payment,
            payer=_payer(request),
            code=str(request.POST.get("code") or "")[:20],
            attempt_id=stored.get("attempt"),
            request=request,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_checkout_path(payment) + "#email-code")
    request.session.pop(session_key(payment, "email_code"), None)
    return redirect(_checkout_path(payment))


# ----------------------------------------------------------------- receipts


@never_cache
@require_GET
@login_required
def payer_receipt(request: HttpRequest, public_id: str) -> HttpResponse:
    """The receipt of a payment the signed-in payer confirmed (anyone else's is a 404)."""
    try:
        payment = payment_get_for_payer(payer=_payer(request), public_id=public_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    evidence = getattr(payment, "confirmation_evidence", None)
    response = render(
        request,
        "payments/payer/receipt.html",
        {"payment": payment, "evidence": evidence, "merchant_name": payment.merchant.name},
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
