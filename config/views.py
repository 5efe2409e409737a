"""Project-wide views: health check and error pages (owned by the ops and shell work)."""

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config import health


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Report database, broker and cache health as JSON; 503 when any check fails.

    Public and unauthenticated, for load balancers and uptime monitors.
    """
    results = health.run_checks()
    healthy = all(result.ok for result in results.values())
    body = {
        "status": "ok" if healthy else "fail",
        "checks": {name: result.as_dict() for name, result in results.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context on purpose: the failure may be in a context processor, the
    # session or the database, and the error page must still render.
    template = loader.get_template("errors/500.html")
    return HttpResponseServerError(template.render())
