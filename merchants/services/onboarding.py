"""The merchant owner's side of onboarding: save the draft, upload documents, submit."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import Conflict, ValidationFailed
from merchants.models import (
    ApplicationDocument,
    Merchant,
    MerchantApplication,
    MerchantStatus,
)
from merchants.models.application import EDITABLE_STATUSES, REQUIRED_DOCUMENT_KINDS, DocumentKind
from merchants.services.lifecycle import merchant_transition
from merchants.validators import (
    inspect_document,
    validate_bank_account_number,
    validate_credit_code,
    validate_phone,
    validate_resident_id,
)

# A generous cap: a licence, both sides of an ID, a permit and a few extras.
MAX_DOCUMENTS_PER_APPLICATION = 12


class ApplicationLocked(Conflict):
    code = "application_locked"


class ApplicationIncomplete(ValidationFailed):
    """Submission refused; `details` maps field name to messages, `steps` lists the steps."""

    code = "application_incomplete"

    def __init__(self, message: str, *, errors: dict[str, list[str]], steps: list[str]) -> None:
        super().__init__(message, details={"fields": errors, "steps": steps})
        self.errors = errors
        self.steps = steps


class DocumentRejected(ValidationFailed):
    code = "document_rejected"


@dataclass(frozen=True)
class Step:
    """One page of the application form and the fields it fills."""

    slug: str
    title: str | Promise
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


BUSINESS = Step(
    "business",
    gettext_lazy("Business"),
    required=("legal_name", "credit_code", "mcc", "expected_monthly_volume"),
    optional=("website",),
)
REPRESENTATIVE = Step(
    "representative",
    gettext_lazy("Representative & contact"),
    required=(
        "representative_name",
        "representative_id_number",
        "contact_name",
        "contact_email",
        "contact_phone",
    ),
)
SETTLEMENT = Step(
    "settlement",
    gettext_lazy("Settlement account"),
    required=("bank_account_name", "bank_code", "bank_account_number"),
    optional=("bank_branch",),
)
DOCUMENTS = Step("documents", gettext_lazy("Documents"), required=REQUIRED_DOCUMENT_KINDS)
REVIEW = Step("review", gettext_lazy("Review & submit"), required=())
APPLICATION_STEPS: tuple[Step, ...] = (BUSINESS, REPRESENTATIVE, SETTLEMENT, DOCUMENTS, REVIEW)
FORM_STEPS = {step.slug: step for step in (BUSINESS, REPRESENTATIVE, SETTLEMENT)}
EDITABLE_FIELDS = frozenset(f for step in FORM_STEPS.values() for f in step.fields)

# Submission re-checks stored values: drafts may have been saved by an older form.
FIELD_VALIDATORS: dict[str, Callable[[Any], None]] = {
    "credit_code": validate_credit_code,
    "representative_id_number": validate_resident_id,
    "bank_account_number": validate_bank_account_number,
    "contact_phone": validate_phone,
    "contact_email": EmailValidator(),
    "website": URLValidator(schemes=["http", "https"]),
}


def application_get_or_create(*, merchant: Merchant) -> MerchantApplication:
    """Return the merchant's application, creating the empty draft on first use."""
    application, _created = MerchantApplication.objects.get_or_create(
        merchant=merchant, defaults={"legal_name": ""}
    )
    application.merchant = merchant
    return application


def _lock_editable(application: MerchantApplication) -> Merchant:
    """Lock the merchant row and refuse unless the application may still change.

    Call inside an atomic block: the lock keeps a submit or a review from slipping in
    between the check and the write.
    """
    merchant = Merchant.objects.select_for_update().get(pk=application.merchant_id)
    if merchant.status not in EDITABLE_STATUSES:
        raise ApplicationLocked(
            _("The application is %(status)s and cannot be changed.")
            % {"status": MerchantStatus(merchant.status).label.lower()}
        )
    application.merchant = merchant
    return merchant


def application_save_draft(
    *,
    application: MerchantApplication,
    actor: User,
    data: dict[str, Any],
    request: HttpRequest | None = None,
) -> list[str]:
    """Store the given application fields (validated by the form) and return those changed.

    Unknown keys are ignored. The audit record names the changed fields, never their values:
    they include identity and account numbers.
    """
    with transaction.atomic():
        _lock_editable(application)
        current = MerchantApplication.objects.select_for_update().get(pk=application.pk)
        changed = []
        for name, value in data.items():
            if name not in EDITABLE_FIELDS:
                continue
            value = "" if value is None and name != "expected_monthly_volume" else value
            if getattr(current, name) != value:
                setattr(current, name, value)
                changed.append(name)
        if changed:
            current.save(update_fields=[*changed, "updated_at"])
            audit_event_record(
                action="merchant.application.save",
                actor=actor,
                target=current,
                after={"fields": sorted(changed)},
                request=request,
            )
    for name in changed:
        setattr(application, name, getattr(current, name))
    return changed


def application_problems(application: MerchantApplication) -> dict[str, list[str]]:
    """Return what keeps the application from being submitted: field name -> messages.

    Documents are reported under the document kind's value (e.g. "business_licence").
    """
    problems: dict[str, list[str]] = {}
    for step in FORM_STEPS.values():
        for name in step.fields:
            value = getattr(application, name)
            if value in ("", None):
                if name in step.required:
                    problems[name] = [_("This field is required.")]
                continue
            validator = FIELD_VALIDATORS.get(name)
            if validator is not None:
                try:
                    validator(value)
                except ValidationError as error:
                    problems[name] = [str(m) for m in error.messages]
    present = set(application.documents.values_list("kind", flat=True))
    for kind in REQUIRED_DOCUMENT_KINDS:
        if kind not in present:
            problems[kind] = [
                _("Upload the %(document)s.") % {"document": DocumentKind(kind).label.lower()}
            ]
    return problems


def step_for_field(name: str) -> Step:
    """Return the step that holds field (or document kind) `name`."""
    return next(step for step in APPLICATION_STEPS if name in step.fields)


def application_submit(
    *, application: MerchantApplication, actor: User, request: HttpRequest | None = None
) -> MerchantApplication:
    """Submit a complete draft (or a resubmission after a request for information).

    Raises ApplicationIncomplete naming every missing or invalid field and its step; on
    success the application is locked until a reviewer asks for more information.
    """
    with transaction.atomic():
        merchant = _lock_editable(application)
        current = MerchantApplication.objects.select_for_update().get(pk=application.pk)
        current.merchant = merchant
        problems = application_problems(current)
        if problems:
            steps = [
                str(step.title)
                for step in APPLICATION_STEPS
                if any(name in problems for name in step.fields)
            ]
            raise ApplicationIncomplete(
                _("The application is not complete. Finish these steps: %(steps)s.")
                % {"steps": ", ".join(steps)},
                errors=problems,
                steps=steps,
            )
        resubmission = merchant.status == MerchantStatus.NEEDS_INFORMATION
        current.review_round += 1
        current.submitted_at = timezone.now()
        current.information_request = ""
        current.save(
            update_fields=["review_round", "submitted_at", "information_request", "updated_at"]
        )
        merchant_transition(
            merchant=merchant,
            to_status=MerchantStatus.SUBMITTED,
            actor=actor,
            audit_action="merchant.application.resubmit"
            if resubmission
            else "merchant.application.submit",
            audit_extra={"round": current.review_round},
            request=request,
        )
    application.refresh_from_db()
    return application


def document_upload(
    *,
    application: MerchantApplication,
    actor: User,
    kind: str,
    file: UploadedFile,
    request: HttpRequest | None = None,
) -> ApplicationDocument:
    """Check and store one KYC document (PDF, PNG or JPEG by content, size-capped).

    The browser's content type and file name are not trusted: the type comes from the
    file's first bytes and the stored name is random.
    """
    if kind not in DocumentKind.values:
        raise DocumentRejected(_("Choose what kind of document this is."))
    try:
        inspected = inspect_document(file, file.size or 0)
    except ValidationError as error:
        raise DocumentRejected(" ".join(error.messages)) from error
    original_name = PurePath(file.name or "document").name[:255]
    with transaction.atomic():
        _lock_editable(application)
        if application.documents.count() >= MAX_DOCUMENTS_PER_APPLICATION:
            raise DocumentRejected(
                _("An application holds at most %(count)d documents; delete one first.")
                % {"count": MAX_DOCUMENTS_PER_APPLICATION}
            )
        document = ApplicationDocument(
            application=application,
            kind=kind,
            original_name=original_name,
            content_type=inspected.content_type,
            size=inspected.size,
            sha256=inspected.sha256,
            uploaded_by=actor,
        )
        document.file.save(f"upload.{inspected.extension}", file, save=False)
        stored_name = document.file.name or ""
        # If the row cannot be written, the stored file must not outlive it.
        try:
            document.save()
            audit_event_record(
                action="merchant.document.upload",
                actor=actor,
                target=application,
                after=document.audit_data(),
                request=request,
            )
        except Exception:
            document.file.storage.delete(stored_name)
            raise
    return document


def document_delete(
    *, document: ApplicationDocument, actor: User, request: HttpRequest | None = None
) -> None:
    """Delete a document of an editable application; the file goes once the delete commits."""
    application = document.application
    with transaction.atomic():
        _lock_editable(application)
        storage, name = document.file.storage, document.file.name or ""
        before = document.audit_data()
        document.delete()
        audit_event_record(
            action="merchant.document.delete",
            actor=actor,
            target=application,
            before=before,
            request=request,
        )
        transaction.on_commit(lambda: storage.delete(name))
