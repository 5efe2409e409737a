"""Rate limits per API key (DRF throttling), configured in REST_FRAMEWORK's THROTTLE_RATES.

The counters live in the default cache: give production a shared cache (CACHE_URL=redis://…)
so that every web node counts the same requests.
"""

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from merchants.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Count requests per API key; requests without a key are not counted here."""

    scope = "api_key"

    def get_rate(self) -> str | None:
        # Read the settings on every request (not once at import), so tests and
        # override_settings can change the rates.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class ApiKeyBurstThrottle(ApiKeyRateThrottle):
    """Short bursts, e.g. 100 requests a second."""

    scope = "api_key_burst"


class ApiKeySustainedThrottle(ApiKeyRateThrottle):
    """The longer-run average, e.g. 3,000 requests a minute."""

    scope = "api_key_sustained"
