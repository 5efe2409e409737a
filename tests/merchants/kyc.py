"""Helpers for the onboarding and KYC review tests: files, users, applications in a state."""

import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from accounts.roles import Role
from merchants.models import DocumentKind, MerchantApplication, MerchantStatus, TeamRole
from merchants.services.onboarding import application_submit, document_upload
from merchants.services.review import application_start_review
from tests.factories import MerchantApplicationFactory, MerchantMembershipFactory, UserFactory

PDF_BYTES = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def png_bytes() -> bytes:
    """Return a real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def upload(
    name: str = "licence.pdf", content: bytes = PDF_BYTES, content_type: str = ""
) -> SimpleUploadedFile:
    """Return an uploaded file as a browser would send it."""
    return SimpleUploadedFile(name, content, content_type=content_type or "application/pdf")


def owner_with_draft(**application_fields: object) -> tuple[User, MerchantApplication]:
    """Return a merchant owner and their merchant's complete draft (no documents yet)."""
    application = MerchantApplicationFactory(**application_fields)
    owner = UserFactory(roles=[Role.MERCHANT_OWNER])
    MerchantMembershipFactory(merchant=application.merchant, user=owner, role=TeamRole.OWNER)
    return owner, application


def add_required_documents(application: MerchantApplication, owner: User) -> None:
    """Upload the business licence and the representative's ID through the service."""
    document_upload(
        application=application,
        actor=owner,
        kind=DocumentKind.BUSINESS_LICENCE,
        file=upload("licence.pdf"),
    )
    document_upload(
        application=application,
        actor=owner,
        kind=DocumentKind.REPRESENTATIVE_ID,
        file=upload("id.png", png_bytes(), "image/png"),
    )


def reviewer(**kwargs: object) -> User:
    return UserFactory(roles=[Role.KYC_REVIEWER], **kwargs)


def submitted_application(**application_fields: object) -> tuple[User, MerchantApplication]:
    """Return an owner and their submitted application (documents uploaded)."""
    owner, application = owner_with_draft(**application_fields)
    add_required_documents(application, owner)
    application_submit(application=application, actor=owner)
    assert application.merchant.status == MerchantStatus.SUBMITTED
    return owner, application


def application_under_review(
    by: User | None = None, **application_fields: object
) -> tuple[User, MerchantApplication, User]:
    """Return owner, application under review, and the reviewer who took it."""
    owner, application = submitted_application(**application_fields)
    taker = by or reviewer()
    application_start_review(application=application, reviewer=taker)
    return owner, application, taker
