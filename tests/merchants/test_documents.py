"""KYC documents: type and size checks, private storage, and who may read them."""

import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from merchants.models import ApplicationDocument, DocumentKind, TeamRole
from merchants.services.onboarding import (
    ApplicationLocked,
    DocumentRejected,
    document_delete,
    document_upload,
)
from tests.factories import MerchantMembershipFactory, UserFactory
from tests.helpers.twofactor import verify_client
from tests.merchants.kyc import (
    JPEG_BYTES,
    PDF_BYTES,
    owner_with_draft,
    png_bytes,
    submitted_application,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("name", "content", "claimed", "expected_type"),
    [
        ("licence.pdf", PDF_BYTES, "application/pdf", "application/pdf"),
        ("scan.png", png_bytes(), "image/png", "image/png"),
        ("photo.jpeg", JPEG_BYTES, "image/jpeg", "image/jpeg"),
        # The type comes from the bytes, whatever the browser or the file name claims.
        ("licence.txt", PDF_BYTES, "text/plain", "application/pdf"),
    ],
)
def test_pdf_png_and_jpeg_are_stored_privately_with_their_hash(
    name, content, claimed, expected_type
):
    owner, application = owner_with_draft()

    document = document_upload(
        application=application,
        actor=owner,
        kind=DocumentKind.BUSINESS_LICENCE,
        file=upload(name, content, claimed),
    )

    document.refresh_from_db()
    assert document.content_type == expected_type
    assert document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.original_name == name
    assert document.uploaded_by == owner
    path = Path(document.file.path)
    assert path.read_bytes() == content
    assert path.is_relative_to(
        Path(settings.MEDIA_ROOT) / "kyc" / str(application.merchant.public_id)
    )
    assert name not in path.name  # stored under a random name
    audit = AuditEvent.objects.get(action="merchant.document.upload")
    assert audit.after is not None
    assert audit.after["sha256"] == document.sha256
    assert audit.actor == owner


@pytest.mark.parametrize(
    ("name", "content", "claimed"),
    [
        ("licence.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
        ("photo.gif", b"GIF89a\x01\x00\x01\x00", "image/gif"),
        ("doc.docx", b"PK\x03\x04rest-of-zip", "application/pdf"),
    ],
)
def test_other_file_types_are_refused_and_nothing_is_stored(name, content, claimed):
    owner, application = owner_with_draft()

    with pytest.raises(DocumentRejected) as caught:
        document_upload(
            application=application,
            actor=owner,
            kind=DocumentKind.BUSINESS_LICENCE,
            file=upload(name, content, claimed),
        )

    assert "PDF, PNG or JPEG" in caught.value.message
    assert not ApplicationDocument.objects.exists()
    assert stored_files() == []
    assert not AuditEvent.objects.filter(action="merchant.document.upload").exists()


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.KYC_DOCUMENT_MAX_BYTES = 1024
    owner, application = owner_with_draft()

    with pytest.raises(DocumentRejected) as caught:
        document_upload(
            application=application,
            actor=owner,
            kind=DocumentKind.BUSINESS_LICENCE,
            file=upload("big.pdf", PDF_BYTES + b"0" * 1024),
        )

    assert "the limit is 1.0\xa0KB" in caught.value.message
    assert not ApplicationDocument.objects.exists()
    assert stored_files() == []


def test_a_file_of_exactly_the_limit_is_accepted(settings):
    settings.KYC_DOCUMENT_MAX_BYTES = 1024
    owner, application = owner_with_draft()
    content = PDF_BYTES + b"0" * (1024 - len(PDF_BYTES))

    document = document_upload(
        application=application,
        actor=owner,
        kind=DocumentKind.OTHER,
        file=upload("max.pdf", content),
    )

    assert document.size == 1024


def test_the_default_limit_is_ten_megabytes():
    assert settings.KYC_DOCUMENT_MAX_BYTES == 10 * 1024 * 1024


def test_an_empty_file_is_refused():
    owner, application = owner_with_draft()

    with pytest.raises(DocumentRejected):
        document_upload(
            application=application,
            actor=owner,
            kind=DocumentKind.OTHER,
            file=upload("empty.pdf", b""),
        )

    assert not ApplicationDocument.objects.exists()


def test_a_submitted_application_takes_no_uploads_or_deletions():
    owner, application = submitted_application()
    before = set(ApplicationDocument.objects.values_list("pk", flat=True))
    files_before = stored_files()

    with pytest.raises(ApplicationLocked):
        document_upload(
            application=application, actor=owner, kind=DocumentKind.OTHER, file=upload()
        )
    document = application.documents.first()
    assert document is not None
    with pytest.raises(ApplicationLocked):
        document_delete(document=document, actor=owner)

    assert set(ApplicationDocument.objects.values_list("pk", flat=True)) == before
    assert sorted(stored_files()) == sorted(files_before)


def test_deleting_a_document_removes_the_row_and_then_the_file(django_capture_on_commit_callbacks):
    owner, application = owner_with_draft()
    document = document_upload(
        application=application, actor=owner, kind=DocumentKind.OTHER, file=upload()
    )
    path = Path(document.file.path)

    with django_capture_on_commit_callbacks(execute=True):
        document_delete(document=document, actor=owner)

    assert not ApplicationDocument.objects.exists()
    assert not path.exists()
    deletion = AuditEvent.objects.get(action="merchant.document.delete")
    assert deletion.before is not None
    assert deletion.before["name"] == "licence.pdf"


# --- access: the owner and KYC staff only ---


def verified(user) -> Client:
    client = Client()
    verify_client(client, user)
    return client


def document_url(document: ApplicationDocument) -> str:
    return reverse("application_document", kwargs={"pk": document.pk})


def test_the_owner_can_open_the_document_inline_with_safe_headers():
    owner, application = owner_with_draft()
    document = document_upload(
        application=application,
        actor=owner,
        kind=DocumentKind.BUSINESS_LICENCE,
        file=upload("营业执照.pdf"),
    )

    response = verified(owner).get(document_url(document))

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response.getvalue() == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline; filename")
    assert "%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert "sandbox" in response["Content-Security-Policy"]
    # The owner reading their own file is not a staff access and is not audited as one.
    assert not AuditEvent.objects.filter(action="merchant.document.view").exists()


def test_download_asks_for_an_attachment():
    owner, application = owner_with_draft()
    document = document_upload(
        application=application,
        actor=owner,
        kind=DocumentKind.OTHER,
        file=upload("id.png", png_bytes(), "image/png"),
    )

    response = verified(owner).get(document_url(document) + "?download=1")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="id.png"'
    assert response["Content-Type"] == "image/png"


@pytest.mark.parametrize("role", [Role.KYC_REVIEWER, Role.ADMINISTRATOR])
def test_kyc_staff_can_open_any_document_and_the_access_is_audited(role):
    _owner, application = submitted_application()
    document = application.documents.first()
    assert document is not None
    staff = UserFactory(roles=[role])

    response = verified(staff).get(document_url(document))

    assert response.status_code == 200
    event = AuditEvent.objects.get(action="merchant.document.view")
    assert event.actor == staff
    assert event.after == {"document": document.pk, "kind": document.kind}


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(
            lambda app: UserFactory(roles=[Role.MERCHANT_OWNER]), id="another-merchants-owner"
        ),
        pytest.param(lambda app: UserFactory(roles=[Role.SUPPORT_AGENT]), id="support-agent"),
        pytest.param(lambda app: UserFactory(roles=[Role.RISK_ANALYST]), id="risk-analyst"),
        pytest.param(lambda app: UserFactory(roles=[Role.FINANCE_OPERATOR]), id="finance-operator"),
        pytest.param(lambda app: UserFactory(), id="payer"),
        pytest.param(
            lambda app: (
                MerchantMembershipFactory(
                    merchant=app.merchant,
                    user=UserFactory(roles=[Role.MERCHANT_STAFF]),
                    role=TeamRole.ADMIN,
                ).user
            ),
            id="same-merchant-admin",
        ),
        pytest.param(
            lambda app: (
                MerchantMembershipFactory(
                    merchant=app.merchant,
                    user=UserFactory(roles=[Role.MERCHANT_STAFF]),
                    role=TeamRole.DEVELOPER,
                ).user
            ),
            id="same-merchant-developer",
        ),
    ],
)
def test_everyone_else_gets_404(make_user):
    owner, application = owner_with_draft()
    document = document_upload(
        application=application, actor=owner, kind=DocumentKind.OTHER, file=upload()
    )
    intruder = make_user(application)

    response = verified(intruder).get(document_url(document))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="merchant.document.view").exists()


def test_anonymous_visitors_are_sent_to_sign_in():
    owner, application = owner_with_draft()
    document = document_upload(
        application=application, actor=owner, kind=DocumentKind.OTHER, file=upload()
    )

    response = Client().get(document_url(document))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_no_url_serves_the_media_directory():
    owner, application = owner_with_draft()
    document = document_upload(
        application=application, actor=owner, kind=DocumentKind.OTHER, file=upload()
    )

    response = verified(owner).get(f"/media/{document.file.name}")

    assert response.status_code == 404
    assert not str(Path(document.file.path)).startswith(str(Path(settings.BASE_DIR) / "static"))


# --- the documents page ---


def test_uploading_from_the_page_stores_the_document():
    owner, _application = owner_with_draft()

    response = verified(owner).post(
        reverse("onboarding_documents"),
        {
            "kind": DocumentKind.REPRESENTATIVE_ID,
            "file": upload("id.jpg", JPEG_BYTES, "image/jpeg"),
        },
    )

    assert response.status_code == 302
    document = ApplicationDocument.objects.get()
    assert (document.kind, document.content_type) == ("representative_id", "image/jpeg")


def test_a_refused_upload_is_explained_on_the_page():
    owner, _application = owner_with_draft()

    response = verified(owner).post(
        reverse("onboarding_documents"),
        {
            "kind": DocumentKind.BUSINESS_LICENCE,
            "file": upload("evil.pdf", b"MZ\x90\x00", "application/pdf"),
        },
    )

    assert response.status_code == 400
    assert 'data-testid="file-errors"' in response.content.decode()
    assert not ApplicationDocument.objects.exists()


def test_deleting_from_the_page_is_scoped_to_the_owners_merchant():
    owner, _application = owner_with_draft()
    other_owner, other_application = owner_with_draft()
    theirs = document_upload(
        application=other_application, actor=other_owner, kind=DocumentKind.OTHER, file=upload()
    )

    response = verified(owner).post(reverse("onboarding_document_delete", kwargs={"pk": theirs.pk}))

    assert response.status_code == 404
    assert ApplicationDocument.objects.filter(pk=theirs.pk).exists()
