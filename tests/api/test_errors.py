"""The API foundation: one error shape for every failure, the schema and the docs page."""

import re

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import Client

from config.api.errors import api_exception_handler
from config.errors import ApplicationError, InvalidTransition
from tests.merchants.platform import api_client, merchant, new_key

pytestmark = pytest.mark.django_db


def error_of(response):
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.fixture
def client():
    _key, raw_key = new_key(merchant())
    return api_client(raw_key)


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/nothing", "/api/v1/merchant/"])
def test_an_unknown_api_url_is_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "Not found.", "details": {}}


def test_a_wrong_method_is_a_json_405_with_allow(client):
    response = client.delete("/api/v1/merchant")
    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert error["message"] == 'Method "DELETE" not allowed.'
    assert "GET" in response["Allow"]


def test_an_unexpected_exception_is_a_json_500_with_the_request_id(monkeypatch):
    _key, raw_key = new_key(merchant())

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("merchants.api.webhook_endpoint_list_for_merchant", explode)
    client = Client(
        headers={"Authorization": f"Bearer {raw_key}", "X-Request-ID": "req-123"},
        raise_request_exception=False,
    )
    response = client.get("/api/v1/webhook-endpoints")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert error["details"] == {"request_id": "req-123"}
    assert "boom" not in response.content.decode()


def test_malformed_json_is_a_400_parse_error(client):
    response = client.post(
        "/api/v1/webhook-endpoints", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_a_form_encoded_body_is_a_415(client):
    response = client.post("/api/v1/webhook-endpoints", {"url": "https://a.example.com/"})
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (ApplicationError("Nope.", code="custom", details={"x": 1}, status=422), 422, "custom"),
        (InvalidTransition(), 409, "invalid_transition"),
        (Http404(), 404, "not_found"),
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (DjangoValidationError({"amount": ["Too big."]}), 400, "validation_error"),
    ],
)
def test_the_handler_maps_every_known_exception_to_the_shape(exc, status, code):
    response = api_exception_handler(exc, {})
    assert response is not None
    assert response.status_code == status
    assert response.data["error"]["code"] == code
    assert set(response.data["error"]) == {"code", "message", "details"}


def test_the_handler_leaves_unknown_exceptions_to_the_500_path():
    assert api_exception_handler(RuntimeError("boom"), {}) is None


def test_validation_details_map_fields_to_messages():
    response = api_exception_handler(DjangoValidationError({"amount": ["Too big."]}), {})
    assert response is not None
    assert response.data["error"]["details"] == {"amount": ["Too big."]}
    assert response.data["error"]["message"] == "Some of the data is not valid."


def test_portal_pages_keep_their_html_errors():
    response = Client().get("/merchants/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_openapi_schema_lists_the_api():
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/webhook-endpoints" in schema["paths"]
    assert "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret" in schema["paths"]
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_the_docs_page_has_no_inline_script_or_style_and_uses_local_assets():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    # every <script> has a src on this site, and there is no <style> element
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts
    assert all("src=" in attrs for attrs in scripts)
    assert "<style" not in html
    assert "cdn.jsdelivr" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    # the start-up script comes from its own URL, as JavaScript
    found = re.search(r'<script src="([^"]*script[^"]*)"', html)
    assert found is not None
    script_url = found.group(1).replace("&amp;", "&")
    start = Client().get(script_url)
    assert start.status_code == 200
    assert start["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in start.content.decode()
