"""The owner's side of onboarding: validators, the draft, submission and the portal pages."""

from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from merchants.forms.onboarding import BusinessForm, SettlementForm
from merchants.models import KycReview, MerchantApplication, MerchantEvent, MerchantStatus, TeamRole
from merchants.services.onboarding import (
    ApplicationIncomplete,
    ApplicationLocked,
    application_get_or_create,
    application_save_draft,
    application_submit,
)
from merchants.services.review import application_request_information
from merchants.validators import (
    credit_code_check_character,
    validate_bank_account_number,
    validate_credit_code,
    validate_phone,
    validate_resident_id,
)
from tests.factories import (
    MerchantFactory,
    MerchantMembershipFactory,
    UserFactory,
    valid_credit_code,
)
from tests.helpers.twofactor import verify_client
from tests.merchants.kyc import (
    add_required_documents,
    application_under_review,
    owner_with_draft,
    submitted_application,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- validators ---


def test_the_known_valid_credit_code_passes():
    validate_credit_code("91350100M000100Y43")
    assert credit_code_check_character("91350100M000100Y4") == "3"


def test_credit_code_is_accepted_in_lower_case_with_spaces():
    validate_credit_code("91350100m000 100y43")


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("91350100M000100Y44", "credit_code_check"),
        ("91350100M000100Y4", "credit_code_length"),
        ("91350100M000100Y433", "credit_code_length"),
        ("91350100M000100I43", "credit_code_characters"),
        ("9135010OM000100Y43", "credit_code_characters"),
    ],
)
def test_a_wrong_credit_code_is_refused_with_its_reason(code, error_code):
    with pytest.raises(ValidationError) as caught:
        validate_credit_code(code)

    assert caught.value.code == error_code


def test_check_character_31_maps_to_zero():
    # Find a 17-character body whose weighted sum is a multiple of 31: its check is "0".
    body = next(
        f"9133010000000{n:04d}"
        for n in range(10000)
        if _weighted(f"9133010000000{n:04d}") % 31 == 0
    )

    assert credit_code_check_character(body) == "0"
    validate_credit_code(body + "0")


def _weighted(body: str) -> int:
    from merchants.validators import CREDIT_CODE_ALPHABET, CREDIT_CODE_WEIGHTS

    return sum(
        CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(body, CREDIT_CODE_WEIGHTS, strict=True)
    )


def test_resident_id_check_digit():
    validate_resident_id("11010519491231002X")
    with pytest.raises(ValidationError) as caught:
        validate_resident_id("110105194912310021")
    assert caught.value.code == "resident_id_check"


@pytest.mark.parametrize("number", ["1234567890", "6222 0202 0011 2233 445", "1" * 30])
def test_bank_account_numbers_of_10_to_30_digits_pass(number):
    validate_bank_account_number(number)


@pytest.mark.parametrize(
    ("number", "error_code"),
    [
        ("123456789", "bank_account_length"),
        ("1" * 31, "bank_account_length"),
        ("62220202001122334A", "bank_account_digits"),
    ],
)
def test_bank_account_number_length_and_digits_are_checked(number, error_code):
    with pytest.raises(ValidationError) as caught:
        validate_bank_account_number(number)

    assert caught.value.code == error_code


def test_phone_numbers():
    validate_phone("+86 138-0013-8000")
    with pytest.raises(ValidationError):
        validate_phone("12345")


# --- forms ---


def test_business_form_turns_yuan_into_fen_and_normalises_the_code():
    form = BusinessForm(
        data={
            "legal_name": "Example Co.",
            "credit_code": "91350100m000100y43",
            "mcc": "5411",
            "expected_monthly_volume_yuan": "12345.67",
        },
        instance=MerchantApplication(),
    )

    assert form.is_valid(), form.errors
    data = form.draft_data()
    assert data["expected_monthly_volume"] == 1_234_567
    assert data["credit_code"] == "91350100M000100Y43"


def test_settlement_form_strips_spaces_from_the_account_number():
    form = SettlementForm(
        data={"bank_account_number": "6222 0202 0011 2233 445"}, instance=MerchantApplication()
    )

    assert form.is_valid(), form.errors
    assert form.draft_data()["bank_account_number"] == "6222020200112233445"


# --- services ---


def test_save_draft_stores_changed_fields_and_audits_their_names_only():
    owner, application = owner_with_draft()

    changed = application_save_draft(
        application=application,
        actor=owner,
        data={
            "legal_name": "New Name Ltd.",
            "bank_account_number": "1234567890",
            "mcc": application.mcc,
            "status": "approved",
        },
    )

    assert changed == ["legal_name", "bank_account_number"]
    application.refresh_from_db()
    assert application.legal_name == "New Name Ltd."
    assert application.merchant.status == MerchantStatus.DRAFT
    event = AuditEvent.objects.get(action="merchant.application.save")
    assert event.after == {"fields": ["bank_account_number", "legal_name"]}
    assert event.actor == owner
    assert "1234567890" not in str(event.after)


def test_submit_refuses_an_incomplete_application_and_names_fields_and_steps():
    owner, application = owner_with_draft(credit_code="", contact_phone="", bank_code="")

    with pytest.raises(ApplicationIncomplete) as caught:
        application_submit(application=application, actor=owner)

    assert set(caught.value.errors) == {
        "credit_code",
        "contact_phone",
        "bank_code",
        "business_licence",
        "representative_id",
    }
    assert caught.value.steps == [
        "Business",
        "Representative & contact",
        "Settlement account",
        "Documents",
    ]
    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.DRAFT
    assert application.review_round == 0
    assert application.submitted_at is None
    assert not MerchantEvent.objects.exists()


def test_submit_rechecks_stored_values():
    owner, application = owner_with_draft(credit_code="91350100M000100Y44")
    add_required_documents(application, owner)

    with pytest.raises(ApplicationIncomplete) as caught:
        application_submit(application=application, actor=owner)

    assert list(caught.value.errors) == ["credit_code"]


def test_submit_locks_the_application_and_records_the_move():
    owner, application = owner_with_draft()
    add_required_documents(application, owner)

    application_submit(application=application, actor=owner)

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.SUBMITTED
    assert application.review_round == 1
    assert application.submitted_at is not None
    event = MerchantEvent.objects.get()
    assert (event.from_status, event.to_status, event.actor) == ("draft", "submitted", owner)
    audit = AuditEvent.objects.get(action="merchant.application.submit")
    assert audit.before == {"status": "draft"}
    assert audit.after == {"status": "submitted", "reason": "", "round": 1}


def test_a_submitted_application_cannot_be_saved_or_submitted_again():
    owner, application = submitted_application()
    name = application.legal_name

    with pytest.raises(ApplicationLocked):
        application_save_draft(application=application, actor=owner, data={"legal_name": "Changed"})
    with pytest.raises(ApplicationLocked):
        application_submit(application=application, actor=owner)

    application.refresh_from_db()
    assert application.legal_name == name
    assert application.review_round == 1
    assert MerchantEvent.objects.count() == 1


def test_a_request_for_information_unlocks_editing_and_resubmission_starts_a_new_round():
    owner, application, taker = application_under_review()
    application_request_information(
        application=application, reviewer=taker, message="Upload a clearer licence."
    )

    application_save_draft(
        application=application, actor=owner, data={"website": "https://shop.example.com"}
    )
    application_submit(application=application, actor=owner)

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.SUBMITTED
    assert application.review_round == 2
    assert application.website == "https://shop.example.com"
    assert application.information_request == ""
    assert AuditEvent.objects.filter(action="merchant.application.resubmit").count() == 1
    assert KycReview.objects.get(decision="information_request").round == 1


# --- pages ---


def owner_client(owner) -> Client:
    client = Client()
    verify_client(client, owner)
    return client


def test_an_empty_draft_opens_on_the_business_step():
    merchant = MerchantFactory()
    owner = UserFactory(roles=[Role.MERCHANT_OWNER])
    MerchantMembershipFactory(merchant=merchant, user=owner)
    client = owner_client(owner)

    response = client.get(reverse("merchant_onboarding"))

    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding_step", kwargs={"step": "business"})
    assert MerchantApplication.objects.filter(merchant=merchant).count() == 1


def test_saving_a_step_stores_it_and_continues_to_the_next():
    merchant = MerchantFactory()
    owner = UserFactory(roles=[Role.MERCHANT_OWNER])
    MerchantMembershipFactory(merchant=merchant, user=owner)
    client = owner_client(owner)

    response = client.post(
        reverse("onboarding_step", kwargs={"step": "business"}),
        {
            "legal_name": "Hangzhou Tea House Ltd.",
            "credit_code": "91350100M000100Y43",
            "mcc": "5814",
            "expected_monthly_volume_yuan": "250000",
            "continue": "1",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding_step", kwargs={"step": "representative"})
    application = MerchantApplication.objects.get(merchant=merchant)
    assert application.legal_name == "Hangzhou Tea House Ltd."
    assert application.expected_monthly_volume == 25_000_000


def test_a_bad_credit_code_is_shown_and_nothing_is_saved_or_lost():
    merchant = MerchantFactory()
    owner = UserFactory(roles=[Role.MERCHANT_OWNER])
    MerchantMembershipFactory(merchant=merchant, user=owner)
    client = owner_client(owner)

    response = client.post(
        reverse("onboarding_step", kwargs={"step": "business"}),
        {"legal_name": "Tea House", "credit_code": "91350100M000100Y44", "save": "1"},
    )

    assert response.status_code == 400
    content = response.content.decode()
    assert 'data-testid="credit_code-errors"' in content
    assert "check the last character" in content
    assert 'value="Tea House"' in content  # what was typed comes back
    assert MerchantApplication.objects.get(merchant=merchant).legal_name == ""


def test_submitting_an_incomplete_application_lists_the_unfinished_steps():
    owner, application = owner_with_draft(contact_email="")
    client = owner_client(owner)

    response = client.post(reverse("onboarding_review"), {"confirm": "on"})

    assert response.status_code == 400
    content = response.content.decode()
    assert 'data-testid="submit-errors"' in content
    assert "Representative &amp; contact, Documents" in content
    assert 'data-problem="contact_email"' in content
    assert 'data-problem="business_licence"' in content
    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.DRAFT


def test_submitting_needs_the_confirmation_box():
    owner, application = owner_with_draft()
    add_required_documents(application, owner)
    client = owner_client(owner)

    response = client.post(reverse("onboarding_review"), {})

    assert response.status_code == 400
    assert "Tick the box to confirm" in response.content.decode()
    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.DRAFT


def test_submitting_from_the_portal_locks_the_steps_and_shows_the_review_banner():
    owner, application = owner_with_draft()
    add_required_documents(application, owner)
    client = owner_client(owner)

    response = client.post(reverse("onboarding_review"), {"confirm": "on"})

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.SUBMITTED
    step = client.get(reverse("onboarding_step", kwargs={"step": "business"}))
    assert step.status_code == 302
    assert step["Location"] == reverse("merchant_onboarding")
    refused = client.post(
        reverse("onboarding_step", kwargs={"step": "business"}),
        {"legal_name": "Changed", "save": "1"},
    )
    assert refused.status_code == 302
    application.refresh_from_db()
    assert application.legal_name != "Changed"
    status_page = client.get(reverse("merchant_onboarding")).content.decode()
    assert 'data-status="submitted"' in status_page
    assert "reviewing your application" in status_page
    # The owner sees the account number masked to its last four digits.
    assert "6222020200112233445" not in status_page
    assert "•••• 3445" in status_page


def test_needs_information_shows_the_reviewers_request_on_the_submit_step():
    owner, application, taker = application_under_review()
    application_request_information(
        application=application, reviewer=taker, message="Please upload the ID's back side."
    )
    client = owner_client(owner)

    landing = client.get(reverse("merchant_onboarding"))
    page = client.get(reverse("onboarding_review"))

    assert landing["Location"] == reverse("onboarding_review")
    content = page.content.decode()
    assert 'data-status="needs_information"' in content
    assert "Please upload the ID&#x27;s back side." in content
    assert "Submit again" in content


@pytest.mark.parametrize(
    "role", [TeamRole.ADMIN, TeamRole.DEVELOPER, TeamRole.FINANCE, TeamRole.READ_ONLY]
)
def test_team_members_other_than_the_owner_cannot_edit_the_application(role):
    _owner, application = owner_with_draft()
    member = UserFactory(roles=[Role.MERCHANT_STAFF])
    MerchantMembershipFactory(merchant=application.merchant, user=member, role=role)
    client = owner_client(member)

    page = client.get(reverse("onboarding_step", kwargs={"step": "business"}))
    post = client.post(
        reverse("onboarding_step", kwargs={"step": "business"}),
        {"legal_name": "Hijacked", "save": "1"},
    )

    assert page.status_code == 403
    assert post.status_code == 403
    application.refresh_from_db()
    assert application.legal_name != "Hijacked"


def test_a_user_without_a_merchant_is_sent_to_the_dashboard():
    user = UserFactory(roles=[Role.KYC_REVIEWER])
    client = owner_client(user)

    response = client.get(reverse("merchant_onboarding"))

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_anonymous_visitors_are_sent_to_sign_in():
    response = Client().get(reverse("onboarding_step", kwargs={"step": "business"}))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_an_owner_without_two_factor_meets_the_wall():
    owner, _application = owner_with_draft()
    client = Client()
    client.force_login(owner)

    response = client.get(reverse("onboarding_step", kwargs={"step": "business"}))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("twofactor:setup"))


def test_get_or_create_makes_one_application_per_merchant():
    merchant = MerchantFactory()

    first = application_get_or_create(merchant=merchant)
    second = application_get_or_create(merchant=merchant)

    assert first.pk == second.pk
    assert first.merchant.status == MerchantStatus.DRAFT


def test_volume_must_be_positive_in_the_form():
    form = BusinessForm(data={"expected_monthly_volume_yuan": "0"}, instance=MerchantApplication())

    assert not form.is_valid()
    assert "expected_monthly_volume_yuan" in form.errors
    field = form.fields["expected_monthly_volume_yuan"]
    assert isinstance(field, forms.DecimalField)
    assert Decimal("1") == field.min_value


def test_factory_codes_are_valid():
    validate_credit_code(valid_credit_code(7))
