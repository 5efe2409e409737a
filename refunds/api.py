"""REST API of refunds (/api/v1/refunds).

Every view is scoped to the merchant and mode of the request's API key: another
merchant's refund or payment (or one of the other mode) is "not found". Every POST
honours an Idempotency-Key (payments.idempotency, the same machinery as payments).

An API key acts for the merchant system, not for a person (docs/refunds.md): it may
request, list, cancel its own requests and reject; it may approve only in test mode,
because maker-checker needs an owner or finance user, in the portal, for live money.
"""

from typing import Any, Protocol

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.pagination import CursorPagination
from config.errors import ValidationFailed
from merchants.api import ERRORS, ErrorSerializer
from merchants.authentication import api_key_of
from payments.api import IDEMPOTENCY_PARAMETER
from payments.idempotency import idempotent_response
from payments.selectors import payment_get_for_merchant
from payments.serializers import CARD_NUMBER_REFUSED, errors_have_code
from payments.services import CardNumberNotAllowed
from refunds.filters import RefundFilter
from refunds.models import Refund
from refunds.selectors import refund_get_for_merchant, refund_list_for_merchant
from refunds.serializers import (
    RefundApproveInputSerializer,
    RefundCancelInputSerializer,
    RefundCreateInputSerializer,
    RefundOutputSerializer,
    RefundRejectInputSerializer,
    refund_data,
)
from refunds.services import (
    RefundActor,
    refund_approve,
    refund_cancel,
    refund_create,
    refund_reject,
)

POST_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(
        ErrorSerializer,
        description=_(
            "Not refundable, over the refundable amount or the balance, or a key in flight"
        ),
    ),
    422: OpenApiResponse(ErrorSerializer, description=_("Key reused, or card data refused")),
}


def _validated(serializer: serializers.Serializer) -> dict[str, Any]:
    if serializer.is_valid():
        return dict(serializer.validated_data)
    if errors_have_code(serializer.errors, CARD_NUMBER_REFUSED):
        raise CardNumberNotAllowed(details=serializer.errors)
    raise ValidationError(serializer.errors)


def _body(request: Request) -> Any:
    # An optional body: an empty one needs no Content-Type.
    return request.data if request.body else {}


class _RefundDecision(Protocol):
    def __call__(
        self, *, refund: Refund, actor: RefundActor, reason: str, request: Request
    ) -> Refund: ...


def _decision_response(
    request: Request,
    refund_id: str,
    serializer_class: type[serializers.Serializer],
    decide: _RefundDecision,
    *,
    body_is_optional: bool,
) -> Any:
    """Apply `decide` with the body's reason to one of the key's refunds, idempotently."""
    api_key = api_key_of(request)

    def work() -> tuple[int, Any]:
        refund = refund_get_for_merchant(api_key.merchant, refund_id, mode=api_key.mode)
        body = _body(request) if body_is_optional else request.data
        data = _validated(serializer_class(data=body))
        refund = decide(
            refund=refund,
            actor=RefundActor.for_api_key(api_key),
            reason=data["reason"],
            request=request,
        )
        return 200, refund_data(refund)

    return idempotent_response(request, merchant=api_key.merchant, mode=api_key.mode, work=work)


class RefundListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="refunds_list",
        summary=_("List refunds"),
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, description=field.label)
            for name, field in RefundFilter.base_filters.items()
        ],
        responses={200: RefundOutputSerializer(many=True), **ERRORS},
        tags=["refunds"],
    )
    def get(self, request: Request) -> Response:
        api_key = api_key_of(request)
        refunds = refund_list_for_merchant(
            api_key.merchant, request.query_params, mode=api_key.mode
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(refunds, request, view=self)
        return paginator.get_paginated_response(RefundOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="refunds_create",
        summary=_("Refund a payment"),
        description=_(
            "Refunds a succeeded payment in full (omit `amount`) or in part. A refund above "
            "the merchant's approval threshold waits in `requested` for an owner or finance "
            "user to approve it in the portal; otherwise it is sent to the acquirer at once "
            "(`processing`)."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=RefundCreateInputSerializer,
        responses={201: RefundOutputSerializer, **POST_ERRORS},
        tags=["refunds"],
    )
    def post(self, request: Request) -> Any:
        api_key = api_key_of(request)

        def work() -> tuple[int, Any]:
            data = _validated(RefundCreateInputSerializer(data=request.data))
            payment = payment_get_for_merchant(api_key.merchant, data["payment"], mode=api_key.mode)
            if data.get("currency") not in (None, payment.currency):
                raise ValidationFailed(
                    details={"currency": [_("A refund is in the payment's currency.")]}
                )
            refund = refund_create(
                payment=payment,
                amount=data.get("amount"),
                reason=data["reason"],
                reason_text=data["reason_text"],
                actor=RefundActor.for_api_key(api_key),
                request=request,
            )
            return 201, refund_data(refund)

        return idempotent_response(request, merchant=api_key.merchant, mode=api_key.mode, work=work)


class RefundDetailApi(APIView):
    @extend_schema(
        operation_id="refunds_retrieve",
        summary=_("Get a refund"),
        responses={200: RefundOutputSerializer, **ERRORS},
        tags=["refunds"],
    )
    def get(self, request: Request, refund_id: str) -> Response:
        api_key = api_key_of(request)
        refund = refund_get_for_merchant(api_key.merchant, refund_id, mode=api_key.mode)
        return Response(refund_data(refund))


class RefundApproveApi(APIView):
    @extend_schema(
        operation_id="refunds_approve",
        summary=_("Approve a refund (test mode)"),
        description=_(
            "Test mode only, so that an integration can run the whole approval flow. In live "
            "mode an API key is not a person: an owner or finance user approves in the "
            "portal, and this answers 403 `approval_requires_person`."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=RefundApproveInputSerializer,
        responses={200: RefundOutputSerializer, **POST_ERRORS},
        tags=["refunds"],
    )
    def post(self, request: Request, refund_id: str) -> Any:
        return _decision_response(
            request, refund_id, RefundApproveInputSerializer, refund_approve, body_is_optional=True
        )


class RefundRejectApi(APIView):
    @extend_schema(
        operation_id="refunds_reject",
        summary=_("Reject a refund awaiting approval"),
        description=_("Declining moves no money, so the merchant system may do it."),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=RefundRejectInputSerializer,
        responses={200: RefundOutputSerializer, **POST_ERRORS},
        tags=["refunds"],
    )
    def post(self, request: Request, refund_id: str) -> Any:
        return _decision_response(
            request, refund_id, RefundRejectInputSerializer, refund_reject, body_is_optional=False
        )


class RefundCancelApi(APIView):
    @extend_schema(
        operation_id="refunds_cancel",
        summary=_("Cancel a refund requested over the API"),
        description=_("Only a refund that still awaits approval and was requested over the API."),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=RefundCancelInputSerializer,
        responses={200: RefundOutputSerializer, **POST_ERRORS},
        tags=["refunds"],
    )
    def post(self, request: Request, refund_id: str) -> Any:
        return _decision_response(
            request, refund_id, RefundCancelInputSerializer, refund_cancel, body_is_optional=True
        )
