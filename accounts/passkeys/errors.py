"""Refusals of the passkey and email-code layer, in the project's ApplicationError shape.

`code` is stable and machine-readable (tests and the JavaScript rely on it); `message`
is translated and safe to show to the person at the browser.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from config.errors import ApplicationError
from config.errors import RateLimited as RateLimited  # re-exported for the passkey layer


class PasskeyError(ApplicationError):
    """A refused passkey action."""

    code = "passkey_error"
    default_message = _("The passkey could not be used. Try again.")


class ChallengeInvalid(PasskeyError):  # noqa: N818
    code = "challenge_invalid"
    default_message = _("This request has no passkey step in progress. Start again.")


class ChallengeUsed(PasskeyError):  # noqa: N818
    code = "challenge_used"
    status = 409
    default_message = _("This passkey request was already answered. Start again.")


class ChallengeExpired(PasskeyError):  # noqa: N818
    code = "challenge_expired"
    default_message = _("This passkey request has expired. Start again.")


# One message per verification refusal. The codes are also what the audit log records.
VERIFICATION_MESSAGES: dict[str, Any] = {
    "malformed_response": _("The browser sent a response that could not be read. Try again."),
    "unknown_credential": _("This passkey is not known to Paydesk. It may have been removed."),
    "credential_not_owned": _("This passkey belongs to another account."),
    "credential_blocked": _(
        "This passkey is blocked because it may have been copied. Sign in another way and "
        "remove it."
    ),
    "user_handle_mismatch": _("This passkey does not belong to the account it claims."),
    "wrong_ceremony": _("The browser answered a different kind of passkey request."),
    "challenge_mismatch": _("The passkey answered a different request. Start again."),
    "origin_mismatch": _("The passkey was used on a site other than Paydesk."),
    "rp_id_mismatch": _("The passkey was made for a site other than Paydesk."),
    "user_not_present": _("The passkey did not confirm that you were present."),
    "user_not_verified": _(
        "Your device did not verify you (fingerprint, face or screen lock). Passkeys are "
        "accepted only with that check."
    ),
    "unsupported_algorithm": _("This passkey uses a signature type that Paydesk does not accept."),
    "invalid_signature": _("The passkey's signature is not valid."),
    "invalid_attestation": _("The new passkey could not be checked."),
    "counter_regression": _(
        "This passkey may have been copied, so it has been blocked. Sign in another way and "
        "remove it."
    ),
    "binding_mismatch": _(
        "What you confirmed no longer matches: the details changed. Review them and confirm again."
    ),
}


class PasskeyVerificationFailed(PasskeyError):  # noqa: N818
    """The browser's answer was refused; `code` says why (a key of VERIFICATION_MESSAGES)."""

    code = "passkey_verification_failed"

    def __init__(self, reason: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(
            VERIFICATION_MESSAGES.get(reason, PasskeyError.default_message),
            code=reason,
            details=details,
        )
        self.reason = reason


class PasskeyExists(PasskeyError):  # noqa: N818
    code = "passkey_exists"
    status = 409
    default_message = _("This passkey is already registered.")


class PasskeyLimitReached(PasskeyError):  # noqa: N818
    code = "passkey_limit_reached"
    status = 409
    default_message = _("You have too many passkeys. Remove one you no longer use first.")


class PasskeySignInRefused(PasskeyError):  # noqa: N818
    code = "passkey_sign_in_refused"
    status = 403


class EmailCodeInvalid(ApplicationError):  # noqa: N818
    """A refused email code; `code` is one of no_code, code_expired, too_many_attempts,
    wrong_code, binding_mismatch."""

    code = "email_code_invalid"
    default_message = _("That code is not valid.")


class AccountNotEligible(ApplicationError):  # noqa: N818
    """The email's account may not be reached with an email code (or is inactive)."""

    code = "password_sign_in_required"
    status = 409
    default_message = _(
        "This email address belongs to an account that signs in with a password. Use the "
        "password sign-in page."
    )
