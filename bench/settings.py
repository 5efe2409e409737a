"""Settings of the benchmark's gunicorn: production's, plus the TPC-B reference endpoint.

`bench/payments_create.py` sets the environment production needs (SECRET_KEY,
ALLOWED_HOSTS, DATABASE_URL pointing at the throwaway `paydesk_bench` database) and runs
gunicorn with this module. Only what a loopback benchmark must change differs from
production, and each change says why.
"""

from config.logging import build_logging
from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Plain HTTP on 127.0.0.1: in production TLS ends at the proxy, which sets X-Forwarded-Proto.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0

# JSON log lines, WARNING and above: what a production node would write per request (none).
LOG_LEVEL = "WARNING"
LOGGING = build_logging("json", LOG_LEVEL)

# The per-key rate limits stay on (their cache round trips are part of every request), but
# high enough never to refuse: the benchmark measures throughput, not the limit. The
# sustained window is one second long for the same reason: DRF keeps one timestamp per
# request of the window in the cache entry, and a minute at benchmark rates would make
# the one-merchant case pay for re-pickling tens of thousands of them on every request.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        "api_key_burst": env("BENCH_RATE_LIMIT_BURST", default="100000/s"),  # noqa: F405
        "api_key_sustained": env("BENCH_RATE_LIMIT_SUSTAINED", default="100000/s"),  # noqa: F405
    },
}
