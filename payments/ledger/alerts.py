"""The email that tells the administrators a ledger check failed."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from payments.ledger.models import LedgerCheckRun

logger = logging.getLogger(__name__)


def ledger_alert_recipients() -> list[tuple[str, str]]:
    """Return `(email, language)` for every active administrator and `settings.ADMINS`."""
    administrators = (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.ADMINISTRATOR))
        .distinct()
        .order_by("email")
    )
    recipients = {u.email: u.preferred_language or settings.LANGUAGE_CODE for u in administrators}
    for _name, email in getattr(settings, "ADMINS", []):
        recipients.setdefault(email, settings.LANGUAGE_CODE)
    return sorted(recipients.items())


def _run_url(run: LedgerCheckRun) -> str:
    try:
        path = reverse("admin:payments_ledgercheckrun_change", args=[run.pk])
    except NoReverseMatch:
        return ""
    return settings.PORTAL_BASE_URL + path


def _message(run: LedgerCheckRun) -> tuple[str, str]:
    total = sum(problem["count"] for problem in run.problems)
    subject = _("[Paydesk] Ledger check failed: %(count)d problem(s)") % {"count": total}
    lines = [
        _(
            "The ledger check of %(time)s found problems. Postings are never edited: once "
            "the cause is found, correct them with reversing or adjusting postings."
        )
        % {"time": timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M %Z")},
        "",
    ]
    for problem in run.problems:
        lines.append(f"- {problem['check']}: {problem['count']}")
        lines.extend(f"    {example}" for example in problem["examples"][:5])
    url = _run_url(run)
    if url:
        lines += ["", _("Details: %(url)s") % {"url": url}]
    return subject, "\n".join(lines) + "\n"


def ledger_check_alert_send(*, run: LedgerCheckRun) -> int:
    """Email the administrators about the failed check `run`, once; return emails sent.

    Safe to run twice: the run is locked and marked `alerted_at` in the same transaction.
    """
    with transaction.atomic():
        run = LedgerCheckRun.objects.select_for_update().get(pk=run.pk)
        if run.is_passed or run.alerted_at is not None:
            return 0
        sent = 0
        for email, language in ledger_alert_recipients():
            with translation.override(language):
                subject, body = _message(run)
            EmailMessage(
                subject=subject, body=body, from_email=settings.SERVER_EMAIL, to=[email]
            ).send()
            sent += 1
        if not sent:
            logger.error("Ledger check %s failed and there is no administrator to tell", run.pk)
        run.alerted_at = timezone.now()
        run.save(update_fields=["alerted_at"])
    return sent
