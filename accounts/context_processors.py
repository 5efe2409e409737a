"""Template context shared by every portal page."""

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Return the navigation entries the signed-in user may see (filled by the portal shell)."""
    return {"nav_items": []}
