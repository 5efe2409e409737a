"""Production settings: deploy checks clean, secure cookies, HSTS, strict CSP, no default secret.

Each test starts a fresh interpreter, because settings are read once per process.
"""

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "paydesk.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/paydesk",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}
# Variables a developer's shell (or `make test`) may carry into the child.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {name: os.environ[name] for name in INHERITED if name in os.environ}
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_passes_the_deploy_checks_at_warning_level() -> None:
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_sets_secure_cookies_hsts_and_a_csp_without_inline_code() -> None:
    program = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'debug': s.DEBUG, 'session_secure': s.SESSION_COOKIE_SECURE, "
        "'csrf_secure': s.CSRF_COOKIE_SECURE, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'ssl_redirect': s.SECURE_SSL_REDIRECT, 'csp': s.CONTENT_SECURITY_POLICY['DIRECTIVES'], "
        "'hosts': s.ALLOWED_HOSTS, 'cache': s.CACHES['default']['BACKEND']}))"
    )
    result = run_python(["-c", program], PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["debug"] is False
    assert values["session_secure"] is True
    assert values["csrf_secure"] is True
    assert values["hsts"] == 31_536_000
    assert values["ssl_redirect"] is True
    assert values["hosts"] == ["paydesk.example.com"]
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["csp"]["script-src"] == ["'self'"]
    assert values["csp"]["style-src"] == ["'self'"]
    every_source = [source for sources in values["csp"].values() for source in sources]
    assert "'unsafe-inline'" not in every_source
    assert "'unsafe-eval'" not in every_source


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}

    result = run_python(["manage.py", "check"], env)

    assert result.returncode == 1
    assert "SECRET_KEY must be set in production" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts() -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "ALLOWED_HOSTS"}

    result = run_python(["manage.py", "check"], env)

    assert result.returncode == 1
    assert "Set the ALLOWED_HOSTS environment variable" in result.stderr


def test_make_test_database_check_stops_at_once_naming_the_url() -> None:
    url = "postgres://postgres@127.0.0.1:1/paydesk"

    started = time.monotonic()
    result = run_python(["-m", "tests.check_database"], {"DATABASE_URL": url})

    assert result.returncode == 1
    assert f"PostgreSQL is unreachable at {url}" in result.stderr
    assert time.monotonic() - started < 10
