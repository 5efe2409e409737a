"""Refusals of payment confirmation, in the project's ApplicationError shape."""

from django.utils.translation import gettext_lazy as _

from config.errors import ApplicationError, Conflict


class PaymentNotConfirmable(Conflict):
    code = "payment_not_confirmable"
    default_message = _("This payment can no longer be confirmed.")


class PasskeyRequired(Conflict):
    code = "passkey_required"
    default_message = _("Create a passkey first: this account has none that can be used.")


class EmailCodeFallbackNotAllowed(ApplicationError):  # noqa: N818
    code = "email_code_not_allowed"
    status = 403
    default_message = _(
        "An email code cannot confirm this payment: the amount is above the limit for "
        "codes. Confirm with a passkey (fingerprint, face or screen lock), on this device "
        "or on your phone."
    )


class ConfirmationRateLimited(ApplicationError):  # noqa: N818
    code = "rate_limited"
    status = 429
    default_message = _("Too many attempts. Wait a few minutes, then try again.")


class BindingChanged(Conflict):
    """The payment's amount, currency or payee is not what the payer confirmed."""

    code = "binding_mismatch"
    default_message = _(
        "What you confirmed no longer matches: the details changed. Review them and confirm again."
    )
