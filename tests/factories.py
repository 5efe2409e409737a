"""Factories for the whole suite, in one place."""

from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.contrib.auth.models import Group
from django.db.models import Model

from accounts.models import User
from accounts.roles import Role

DEFAULT_PASSWORD = "correct-horse-battery-9"

ModelT = TypeVar("ModelT", bound=Model)


class ModelFactory(factory.django.DjangoModelFactory[ModelT]):
    """A DjangoModelFactory whose call mypy types as the model it creates.

    factory_boy's metaclass `__call__` returns the created model instance, but it is
    untyped and mypy ignores metaclass `__call__` anyway, so `UserFactory(...)` would be
    typed as a `UserFactory`. A check-time-only `__new__` tells mypy the truth.
    """

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # mypy insists that `__new__` returns an instance of its class; this one, by design,
        # describes the metaclass call that returns the model instead.
        def __new__(cls, *args: Any, **kwargs: Any) -> ModelT: ...  # type: ignore[misc]


def _add_roles(user: User, create: bool, extracted: list[Role] | None, **kwargs: object) -> None:
    """Put the created user in the groups of the `roles=[Role...]` passed to the factory."""
    if create and extracted:
        user.groups.add(*Group.objects.filter(name__in=[r.value for r in extracted]))


class UserFactory(ModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(DEFAULT_PASSWORD)
    roles = factory.PostGeneration(_add_roles)


# --- merchants: onboarding and KYC review ---
from merchants.catalogues import Bank, MerchantCategory  # noqa: E402
from merchants.models import (  # noqa: E402
    Merchant,
    MerchantApplication,
    MerchantMembership,
    MerchantStatus,
    TeamRole,
)
from merchants.validators import (  # noqa: E402
    RESIDENT_ID_CHECK,
    RESIDENT_ID_WEIGHTS,
    credit_code_check_character,
)


def valid_credit_code(n: int) -> str:
    """Return a distinct, valid unified social credit code for sequence number `n`."""
    first_17 = f"91330100{n:09d}"
    return first_17 + credit_code_check_character(first_17)


def valid_resident_id(n: int) -> str:
    """Return a distinct, valid resident identity card number for sequence number `n`."""
    first_17 = f"33010619850101{n % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(first_17, RESIDENT_ID_WEIGHTS, strict=True))
    return first_17 + RESIDENT_ID_CHECK[total % 11]


class MerchantFactory(ModelFactory[Merchant]):
    class Meta:
        model = Merchant

    name = factory.Sequence(lambda n: f"Merchant {n}")
    status = MerchantStatus.DRAFT


class MerchantMembershipFactory(ModelFactory[MerchantMembership]):
    class Meta:
        model = MerchantMembership

    merchant = factory.SubFactory(MerchantFactory)
    user = factory.SubFactory(UserFactory)
    role = TeamRole.OWNER


class MerchantApplicationFactory(ModelFactory[MerchantApplication]):
    """A complete application (documents not included: see tests/merchants/documents.py)."""

    class Meta:
        model = MerchantApplication

    merchant = factory.SubFactory(MerchantFactory)
    legal_name = factory.Sequence(lambda n: f"Hangzhou Example Trading Co., Ltd. {n}")
    credit_code = factory.Sequence(valid_credit_code)
    mcc = MerchantCategory.GROCERY
    expected_monthly_volume = 80_000_000  # ¥800,000
    representative_name = "Wang Fang"
    representative_id_number = factory.Sequence(valid_resident_id)
    contact_name = "Li Lei"
    contact_email = factory.Sequence(lambda n: f"contact{n}@example.com")
    contact_phone = "138 0013 8000"
    bank_account_name = factory.SelfAttribute("legal_name")
    bank_code = Bank.ICBC
    bank_account_number = "6222020200112233445"
