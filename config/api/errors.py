"""One error shape for every API response that is not a success.

    {"error": {"code": "invalid_api_key", "message": "The API key is not valid.", "details": {}}}

`api_exception_handler` (DRF's EXCEPTION_HANDLER) maps ApplicationError, DRF's exceptions
and Django's Http404 / PermissionDenied / ValidationError. `ApiErrorMiddleware` catches
what never reaches DRF - unknown URLs, and 500s from Django's own handler - so that
nothing under /api/ ever answers with an HTML page.
"""

import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from config.errors import ApplicationError
from config.logging import request_id_var

API_PATH_PREFIX = "/api/"

# DRF's codes, renamed where ours read better; the rest are used as they are.
_CODE_RENAMES = {"throttled": "rate_limited", "invalid": "validation_error"}

# Codes for error responses that never went through DRF (see ApiErrorMiddleware).
_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """Return the one API error shape."""
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def _status_message(status: int) -> str:
    messages = {
        400: _("The request is not valid."),
        401: _("Authentication credentials were not provided."),
        403: _("You do not have permission to do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        500: _("Something went wrong on our side. It has been logged; try again later."),
        503: _("The service is unavailable. Try again later."),
    }
    if status in messages:
        return messages[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _("The request failed.")


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    return _CODE_RENAMES.get(code, code)


def _as_drf_exception(exc: Exception) -> Exception:
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render `exc` in the API error shape; None (a real 500) for anything unexpected."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(exc.as_dict(), status=exc.status)
    exc = _as_drf_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        details = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = error_body("validation_error", _("Some of the data is not valid."), details)
    elif isinstance(exc, exceptions.Throttled):
        # DRF rounds the wait down, which can give "Retry-After: 0" for sub-second limits.
        wait = max(1, math.ceil(getattr(exc, "wait", None) or 1))
        response["Retry-After"] = str(wait)
        response.data = error_body(
            "rate_limited",
            _("Too many requests. Retry after %(seconds)d seconds.") % {"seconds": wait},
            {"retry_after": wait},
        )
    else:
        response.data = error_body(_code_of(exc), str(exc.detail))
    return response


class ApiErrorMiddleware:
    """Turn any non-JSON error response under /api/ into the API error shape.

    Django answers unknown URLs and unhandled exceptions with its HTML handlers; API
    clients must get JSON instead. Put it near the top of MIDDLEWARE so that it sees the
    responses of every middleware below it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith(API_PATH_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        # A server error names its request id, which support can find in the logs.
        details = {"request_id": request_id_var.get()} if status >= 500 else None
        replacement = JsonResponse(
            error_body(_STATUS_CODES.get(status, "error"), _status_message(status), details),
            status=status,
        )
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement
