"""Demo merchants for `manage.py seed_demo`.

Demo Coffee Roasters: approved, with an owner and a developer (the demo owner and staff).
A few more merchants whose applications wait in the KYC queue, each brought to its state
through the real onboarding and review services (so their timelines and the audit log
read as they would): submitted, under review with the first of two approvals, and sent
back for more information. Their owners sign in with the demo password.
"""

import struct
import zlib
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.demo import DEMO_EMAIL_DOMAIN, DemoContext, DemoUser, demo_user_ensure
from accounts.models import User
from accounts.roles import Role
from merchants.catalogues import Bank, MerchantCategory
from merchants.models import (
    DocumentKind,
    Merchant,
    MerchantEvent,
    MerchantMembership,
    MerchantStatus,
    TeamRole,
)
from merchants.services.onboarding import (
    application_get_or_create,
    application_save_draft,
    application_submit,
    document_upload,
)
from merchants.services.review import (
    application_approve,
    application_request_information,
    application_start_review,
)
from merchants.validators import (
    RESIDENT_ID_CHECK,
    RESIDENT_ID_WEIGHTS,
    credit_code_check_character,
)

DEMO_MERCHANT_NAME = "Demo Coffee Roasters"

# The states a KYC application can wait in.
SUBMITTED = "submitted"
FIRST_OF_TWO_APPROVALS = "first_of_two_approvals"
NEEDS_INFORMATION = "needs_information"


@dataclass(frozen=True)
class DemoApplication:
    """A demo merchant waiting in the KYC queue, and the state its application is in."""

    merchant_name: str
    legal_name: str
    owner: DemoUser
    state: str
    number: int  # makes the credit code, ID number and bank account distinct
    mcc: str
    monthly_volume: int  # fen; above KYC_SECOND_REVIEW_THRESHOLD needs two reviewers
    bank: str
    note: str = ""  # what the reviewer asked for, or said with the first approval


DEMO_APPLICATIONS: tuple[DemoApplication, ...] = (
    DemoApplication(
        "Lotus Tea House",
        "Hangzhou Lotus Tea House Co., Ltd.",
        DemoUser(Role.MERCHANT_OWNER, f"lotus@{DEMO_EMAIL_DOMAIN}", "Xu Ling"),
        SUBMITTED,
        1,
        MerchantCategory.FAST_FOOD,
        30_000_000,  # ¥300,000
        Bank.CMB,
    ),
    DemoApplication(
        "Pearl River Books",
        "Guangzhou Pearl River Books Co., Ltd.",
        DemoUser(Role.MERCHANT_OWNER, f"pearl@{DEMO_EMAIL_DOMAIN}", "He Tao"),
        SUBMITTED,
        2,
        MerchantCategory.BOOKS,
        6_000_000,  # ¥60,000
        Bank.BOC,
    ),
    DemoApplication(
        "Great Wall Electronics",
        "Beijing Great Wall Electronics Trading Co., Ltd.",
        DemoUser(Role.MERCHANT_OWNER, f"greatwall@{DEMO_EMAIL_DOMAIN}", "Ma Jun"),
        FIRST_OF_TWO_APPROVALS,
        3,
        MerchantCategory.ELECTRONICS,
        800_000_000,  # ¥8,000,000: over the second-review threshold
        Bank.ICBC,
        "Licence, representative and account match. Volume needs a second reviewer.",
    ),
    DemoApplication(
        "Jade River Noodles",
        "Chengdu Jade River Noodles Catering Co., Ltd.",
        DemoUser(Role.MERCHANT_OWNER, f"jade@{DEMO_EMAIL_DOMAIN}", "Gao Yan"),
        NEEDS_INFORMATION,
        4,
        MerchantCategory.RESTAURANT,
        15_000_000,  # ¥150,000
        Bank.CCB,
        "The business licence scan is cut off at the bottom: upload a complete scan, "
        "with the registration authority's seal visible.",
    ),
)

# Small but real files: the upload service checks a document's type by its first bytes.
_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _credit_code(number: int) -> str:
    first_17 = f"91330100MA2D{number:05d}"
    return first_17 + credit_code_check_character(first_17)


def _resident_id(number: int) -> str:
    first_17 = f"33010619800101{number:03d}"
    total = sum(int(d) * w for d, w in zip(first_17, RESIDENT_ID_WEIGHTS, strict=True))
    return first_17 + RESIDENT_ID_CHECK[total % 11]


def _application_data(demo: DemoApplication) -> dict[str, Any]:
    slug = demo.owner.email.split("@")[0]
    return {
        "legal_name": demo.legal_name,
        "credit_code": _credit_code(demo.number),
        "mcc": demo.mcc,
        "website": f"https://{slug}.example.com",
        "expected_monthly_volume": demo.monthly_volume,
        "representative_name": demo.owner.full_name,
        "representative_id_number": _resident_id(demo.number),
        "contact_name": demo.owner.full_name,
        "contact_email": demo.owner.email,
        "contact_phone": f"138 0013 80{demo.number:02d}",
        "bank_account_name": demo.legal_name,
        "bank_code": demo.bank,
        "bank_branch": "",
        "bank_account_number": f"62220202001122{demo.number:05d}",
    }


def _seed_application(context: DemoContext, demo: DemoApplication) -> None:
    """Create the merchant, its owner and its application, brought to `demo.state`."""
    if Merchant.objects.filter(name=demo.merchant_name).exists():
        return  # seeded before: a second run changes nothing
    owner = demo_user_ensure(context, demo.owner)
    merchant = Merchant.objects.create(name=demo.merchant_name, status=MerchantStatus.DRAFT)
    MerchantMembership.objects.create(merchant=merchant, user=owner, role=TeamRole.OWNER)
    application = application_get_or_create(merchant=merchant)
    application_save_draft(application=application, actor=owner, data=_application_data(demo))
    for kind, name, content, content_type in (
        (DocumentKind.BUSINESS_LICENCE, "business-licence.pdf", _PDF, "application/pdf"),
        (DocumentKind.REPRESENTATIVE_ID, "representative-id.png", _png(), "image/png"),
    ):
        document_upload(
            application=application,
            actor=owner,
            kind=kind,
            file=SimpleUploadedFile(name, content, content_type=content_type),
        )
    application_submit(application=application, actor=owner)
    reviewers: dict[str, User] = {
        # The administrator gives the first approval, so the demo KYC reviewer can give
        # the second one (maker-checker: it must come from someone else).
        FIRST_OF_TWO_APPROVALS: context.users[Role.ADMINISTRATOR],
        NEEDS_INFORMATION: context.users[Role.KYC_REVIEWER],
    }
    if demo.state in reviewers:
        reviewer = reviewers[demo.state]
        application_start_review(application=application, reviewer=reviewer)
        if demo.state == FIRST_OF_TWO_APPROVALS:
            application_approve(application=application, reviewer=reviewer, note=demo.note)
        else:
            application_request_information(
                application=application, reviewer=reviewer, message=demo.note
            )
    merchant.refresh_from_db()
    context.created.append(f"merchant {demo.merchant_name} ({merchant.get_status_display()})")


def seed(context: DemoContext) -> None:
    """Create the approved demo merchant with its team, then the KYC queue's merchants.

    A second run changes nothing.
    """
    merchant = Merchant.objects.filter(name=DEMO_MERCHANT_NAME).first()
    if merchant is None:
        now = timezone.now()
        merchant = Merchant.objects.create(
            name=DEMO_MERCHANT_NAME, status=MerchantStatus.APPROVED, approved_at=now
        )
        MerchantEvent.objects.create(
            merchant=merchant,
            occurred_at=now,
            from_status="",
            to_status=MerchantStatus.APPROVED,
            reason="Demo data",
        )
        context.created.append(f"merchant {DEMO_MERCHANT_NAME} (approved)")
    for role, team_role in (
        (Role.MERCHANT_OWNER, TeamRole.OWNER),
        (Role.MERCHANT_STAFF, TeamRole.DEVELOPER),
    ):
        _membership, created = MerchantMembership.objects.get_or_create(
            merchant=merchant, user=context.users[role], defaults={"role": team_role}
        )
        if created:
            context.created.append(f"{context.users[role].email} joins as {team_role.label}")
    context.extra["merchant"] = merchant
    for demo in DEMO_APPLICATIONS:
        _seed_application(context, demo)
