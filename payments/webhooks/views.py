"""Portal pages of webhook events: recent events, their deliveries and attempts, redelivery.

The "Redeliver" button posts with htmx and gets back the event's card re-rendered; without
JavaScript it is a plain form that redirects back to the list with a message.
"""

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.errors import ApplicationError, NotFound
from merchants.models import ApiMode, WebhookEventType
from merchants.selectors.webhooks import webhook_endpoint_get_for_merchant
from merchants.views.access import MemberRequest, merchant_member_required
from payments.webhooks.models import DeliveryStatus, WebhookEvent
from payments.webhooks.selectors import (
    webhook_event_get_for_merchant,
    webhook_event_list_for_merchant,
)
from payments.webhooks.services import webhook_event_redeliver

PAGE_SIZE = 25


def _choice(value: str | None, allowed: list[str]) -> str | None:
    # An unknown filter value is ignored rather than an error: these come from links.
    return value if value in allowed else None


@require_GET
@merchant_member_required("manage_webhooks")
def webhook_events(request: MemberRequest) -> HttpResponse:
    merchant = request.merchant
    filters = {
        "mode": _choice(request.GET.get("mode"), ApiMode.values),
        "event_type": _choice(request.GET.get("type"), WebhookEventType.values),
        "delivery_status": _choice(request.GET.get("status"), DeliveryStatus.values),
    }
    events = webhook_event_list_for_merchant(merchant, **filters)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "mode_choices": ApiMode.choices,
        "type_choices": WebhookEventType.choices,
        "status_choices": DeliveryStatus.choices,
    }
    template = (
        "payments/webhooks/_results.html"
        if request.htmx and request.htmx.target == "webhook-events"
        else "payments/webhooks/events.html"
    )
    return render(request, template, context)


def _event_or_404(request: MemberRequest, event_id: str) -> WebhookEvent:
    try:
        return webhook_event_get_for_merchant(request.merchant, event_id)
    except NotFound:
        raise Http404 from None


@require_POST
@merchant_member_required("manage_webhooks")
def webhook_event_redeliver_view(request: MemberRequest, event_id: str) -> HttpResponse:
    merchant = request.merchant
    event = _event_or_404(request, event_id)
    endpoint = None
    raw_endpoint = request.POST.get("endpoint", "")
    if raw_endpoint:
        try:
            endpoint = webhook_endpoint_get_for_merchant(
                merchant, str(uuid.UUID(raw_endpoint)), mode=event.mode
            )
        except (ValueError, NotFound):
            raise Http404 from None
    error: str | None = None
    notice: str | None = None
    try:
        webhook_event_redeliver(
            event=event,
            endpoint=endpoint,
            actor=request.user,
            request=request,
        )
    except ApplicationError as refused:
        error = refused.message
    else:
        notice = _("Redelivery queued: the attempt appears below within a few seconds.")
    if request.htmx:
        return render(
            request,
            "payments/webhooks/_event.html",
            # 200 even when refused: htmx swaps only successful responses, and the card
            # shows the refusal in place.
            {"event": _event_or_404(request, event_id), "error": error, "notice": notice},
        )
    if error:
        messages.error(request, error)
    elif notice:
        messages.success(request, notice)
    return redirect("webhook_events")
