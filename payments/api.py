"""REST API of payments (/api/v1/payments) and the acquirer's notify endpoint.

Every payments view is scoped to the merchant and mode of the request's API key: another
merchant's payment (or one of the other mode) is "not found", never "forbidden". Every
POST honours an Idempotency-Key (payments.idempotency).
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.pagination import CursorPagination
from config.errors import ApplicationError
from merchants.api import ERRORS, ErrorSerializer
from merchants.authentication import api_key_of
from payments.filters import PaymentFilter
from payments.gateways import GatewayError
from payments.idempotency import HEADER, idempotent_response
from payments.selectors import payment_get_for_merchant, payment_list_for_merchant
from payments.serializers import (
    CARD_NUMBER_REFUSED,
    PaymentCancelInputSerializer,
    PaymentCreateInputSerializer,
    PaymentOutputSerializer,
    errors_have_code,
    payment_data,
)
from payments.services import (
    Actor,
    CardNumberNotAllowed,
    payment_cancel,
    payment_create,
)
from payments.services.notifications import acquirer_notification_receive

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=_(
        "A unique key (1 to 255 visible ASCII characters) that makes the request safe to "
        "retry: the same key and body replay the first response for at least 24 hours."
    ),
)
POST_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(ErrorSerializer, description=_("Conflict, or the key is in flight")),
    422: OpenApiResponse(ErrorSerializer, description=_("Key reused, or card data refused")),
}


def _validated(serializer: serializers.Serializer) -> None:
    if serializer.is_valid():
        return
    if errors_have_code(serializer.errors, CARD_NUMBER_REFUSED):
        raise CardNumberNotAllowed(details=serializer.errors)
    raise ValidationError(serializer.errors)


class PaymentListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="payments_list",
        summary=_("List payments"),
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, description=field.label)
            for name, field in PaymentFilter.base_filters.items()
        ],
        responses={200: PaymentOutputSerializer(many=True), **ERRORS},
        tags=["payments"],
    )
    def get(self, request: Request) -> Response:
        api_key = api_key_of(request)
        payments = payment_list_for_merchant(
            api_key.merchant, request.query_params, mode=api_key.mode
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(payments, request, view=self)
        return paginator.get_paginated_response([payment_data(payment) for payment in page or ()])

    @extend_schema(
        operation_id="payments_create",
        summary=_("Create a payment"),
        description=_(
            "Creates a payment awaiting the payer's confirmation on the hosted checkout page "
            "(`checkout_url`). Amounts are integers in the currency's minor unit."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=PaymentCreateInputSerializer,
        responses={201: PaymentOutputSerializer, **POST_ERRORS},
        tags=["payments"],
    )
    def post(self, request: Request) -> Any:
        api_key = api_key_of(request)

        def work() -> tuple[int, Any]:
            serializer = PaymentCreateInputSerializer(data=request.data, mode=api_key.mode)
            _validated(serializer)
            payment = payment_create(
                merchant=api_key.merchant,
                mode=api_key.mode,
                data=serializer.payment_input(),
                actor=Actor.for_api_key(api_key),
            )
            return 201, payment_data(payment)

        return idempotent_response(request, merchant=api_key.merchant, mode=api_key.mode, work=work)


class PaymentDetailApi(APIView):
    @extend_schema(
        operation_id="payments_retrieve",
        summary=_("Get a payment"),
        responses={200: PaymentOutputSerializer, **ERRORS},
        tags=["payments"],
    )
    def get(self, request: Request, payment_id: str) -> Response:
        api_key = api_key_of(request)
        payment = payment_get_for_merchant(api_key.merchant, payment_id, mode=api_key.mode)
        return Response(payment_data(payment))


class PaymentCancelApi(APIView):
    @extend_schema(
        operation_id="payments_cancel",
        summary=_("Cancel a payment"),
        description=_("Only a payment that still requires the payer's confirmation."),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=PaymentCancelInputSerializer,
        responses={200: PaymentOutputSerializer, **POST_ERRORS},
        tags=["payments"],
    )
    def post(self, request: Request, payment_id: str) -> Any:
        api_key = api_key_of(request)

        def work() -> tuple[int, Any]:
            payment = payment_get_for_merchant(api_key.merchant, payment_id, mode=api_key.mode)
            # The body is optional: an empty one needs no Content-Type.
            serializer = PaymentCancelInputSerializer(data=request.data if request.body else {})
            _validated(serializer)
            payment = payment_cancel(
                payment=payment,
                actor=Actor.for_api_key(api_key),
                reason=serializer.validated_data["reason"],
                request=request,
            )
            return 200, payment_data(payment)

        return idempotent_response(request, merchant=api_key.merchant, mode=api_key.mode, work=work)


class AcquirerNotifyApi(APIView):
    """Where the acquirer posts its signed notifications; no API key, the signature instead."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(exclude=True)
    def post(self, request: Request, gateway: str) -> Response:
        try:
            notification = acquirer_notification_receive(
                gateway_name=gateway,
                method=request.method or "POST",
                path=request.get_full_path(),
                headers=request.headers,
                body=request.body,
            )
        except GatewayError as error:
            if type(error) is not GatewayError:
                raise
            # A signed but malformed body: the sender's fault, not a gateway outage.
            raise ApplicationError(
                _("The notification could not be read."),
                code="malformed_notification",
                details=error.details,
            ) from error
        return Response({"received": True, "notification_id": notification.notification_id})
