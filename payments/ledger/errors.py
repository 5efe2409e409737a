"""Errors the ledger raises; all are `ApplicationError`s with a stable `code`.

A caller that sees one of these has a bug or a conflicting retry, never a transient fault:
retrying the same call gives the same answer.
"""

from django.utils.translation import gettext_lazy as _

from config.errors import Conflict, ValidationFailed


class InvalidPosting(ValidationFailed):
    """The lines do not make a valid posting (unbalanced, non-positive, wrong currency...)."""

    code = "ledger_invalid_posting"
    default_message = _("The posting is not valid.")


class UnbalancedPosting(InvalidPosting):
    code = "ledger_unbalanced_posting"
    default_message = _("The posting's debits do not equal its credits.")


class PostingKeyConflict(Conflict):
    """The key was already used for a posting with different lines, kind or source."""

    code = "ledger_posting_key_conflict"
    default_message = _("This posting key was already used for a different posting.")


class PostingAlreadyReversed(Conflict):
    code = "ledger_posting_already_reversed"
    default_message = _("This posting has already been reversed.")


class InvalidReversal(Conflict):
    code = "ledger_invalid_reversal"
    default_message = _("This posting cannot be reversed.")
