"""/healthz: database, broker and cache, JSON, 503 when one is down, never cached."""

import socket
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

OK = {"ok": True, "ms": mock.ANY}


def dead_port() -> int:
    """Return a local TCP port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def failed(error: str) -> dict[str, Any]:
    return {"ok": False, "ms": mock.ANY, "error": error}


@pytest.mark.django_db
def test_healthz_reports_every_dependency_ok_without_login(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": OK, "broker": OK, "cache": OK},
    }
    assert all(isinstance(check["ms"], float) for check in response.json()["checks"].values())
    assert "no-cache" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client: Client) -> None:
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{dead_port()}/0"):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "fail",
        "checks": {"database": OK, "broker": failed("OperationalError"), "cache": OK},
    }


@pytest.mark.django_db
def test_healthz_is_503_when_the_cache_is_down(client: Client) -> None:
    broken_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{dead_port()}/0",
        }
    }
    with override_settings(CACHES=broken_cache):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "fail",
        "checks": {"database": OK, "broker": OK, "cache": failed("ConnectionError")},
    }


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(client: Client) -> None:
    # The one fake: PostgreSQL refusing the query, which a test cannot arrange for real.
    with mock.patch(
        "config.health.connection.cursor", side_effect=OperationalError("server closed")
    ):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "fail",
        "checks": {"database": failed("OperationalError"), "broker": OK, "cache": OK},
    }


@pytest.mark.django_db
def test_healthz_is_503_when_the_filesystem_broker_folder_is_missing(
    client: Client, tmp_path: Any
) -> None:
    missing = str(tmp_path / "missing")
    with override_settings(
        CELERY_BROKER_URL="filesystem://localhost//",
        CELERY_BROKER_TRANSPORT_OPTIONS={"data_folder_in": missing, "data_folder_out": missing},
    ):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == failed("FileNotFoundError")


@pytest.mark.django_db
def test_healthz_accepts_head_and_refuses_post(client: Client) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
