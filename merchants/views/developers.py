"""The Developers page: API keys and webhook endpoints (owners, admins, developers).

A new key or signing secret is rendered once, in the response to the POST that made it,
with `Cache-Control: no-store`; it is never stored in clear, so it cannot be shown again.
"""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from config.errors import ApplicationError, NotFound
from merchants.models import MerchantStatus, WebhookEndpoint, WebhookEventType
from merchants.platform_forms import (
    ApiKeyCreateForm,
    WebhookEndpointCreateForm,
    WebhookEndpointEditForm,
    WebhookRotateForm,
    form_add_application_error,
)
from merchants.selectors.api_keys import api_key_get_for_merchant, api_key_list_for_merchant
from merchants.selectors.webhooks import (
    webhook_endpoint_get_for_merchant,
    webhook_endpoint_list_for_merchant,
    webhook_secrets_valid,
)
from merchants.services.api_keys import api_key_create, api_key_revoke
from merchants.services.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_secret_rotate,
)
from merchants.views.access import MemberRequest, merchant_member_required


def _developers_page(
    request: MemberRequest,
    *,
    key_form: ApiKeyCreateForm | None = None,
    endpoint_form: WebhookEndpointCreateForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    merchant = request.merchant
    context = {
        "api_keys": api_key_list_for_merchant(merchant),
        "endpoints": webhook_endpoint_list_for_merchant(merchant),
        "key_form": key_form or ApiKeyCreateForm(),
        "endpoint_form": endpoint_form or WebhookEndpointCreateForm(),
        "can_create_live_keys": merchant.status == MerchantStatus.APPROVED,
        "event_labels": dict(WebhookEventType.choices),
        "api_base_url": request.build_absolute_uri("/").rstrip("/"),
        **extra,
    }
    response = render(request, "merchants/developers/developers.html", context, status=status)
    if "new_key" in extra or "new_secret" in extra:
        # The page holds a secret: no browser or proxy may keep a copy.
        add_never_cache_headers(response)
    return response


def _endpoint_or_404(request: MemberRequest, public_id: str) -> WebhookEndpoint:
    try:
        return webhook_endpoint_get_for_merchant(request.merchant, public_id)
    except NotFound:
        raise Http404 from None


@merchant_member_required("manage_api_keys")
def developers(request: MemberRequest) -> HttpResponse:
    return _developers_page(request)


@require_POST
@merchant_member_required("manage_api_keys")
def api_key_create_view(request: MemberRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST)
    if form.is_valid():
        try:
            api_key, raw_key = api_key_create(
                merchant=request.merchant,
                name=form.cleaned_data["name"],
                mode=form.cleaned_data["mode"],
                actor=request.user,
                request=request,
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            return _developers_page(request, new_key=raw_key, new_key_object=api_key)
    return _developers_page(request, key_form=form, status=400)


@require_POST
@merchant_member_required("manage_api_keys")
def api_key_revoke_view(request: MemberRequest, public_id: str) -> HttpResponse:
    try:
        api_key = api_key_get_for_merchant(request.merchant, public_id)
        api_key_revoke(api_key=api_key, actor=request.user, request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The key “%(name)s” is revoked: it no longer works.") % {"name": api_key.name},
        )
    return redirect("developers")


@require_POST
@merchant_member_required("manage_webhooks")
def webhook_endpoint_create_view(request: MemberRequest) -> HttpResponse:
    form = WebhookEndpointCreateForm(request.POST)
    if form.is_valid():
        try:
            endpoint, secret = webhook_endpoint_create(
                merchant=request.merchant,
                mode=form.cleaned_data["mode"],
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                actor=request.user,
                request=request,
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            return _developers_page(request, new_secret=secret, new_secret_endpoint=endpoint)
    return _developers_page(request, endpoint_form=form, status=400)


@require_http_methods(["GET", "POST"])
@merchant_member_required("manage_webhooks")
def webhook_endpoint_edit(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint_or_404(request, public_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "is_enabled": endpoint.is_enabled,
    }
    form = WebhookEndpointEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhook_endpoint_update(
                endpoint=endpoint,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                is_enabled=form.cleaned_data["is_enabled"],
                actor=request.user,
                request=request,
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            messages.success(request, _("The endpoint is saved."))
            return redirect("developers")
    return render(
        request,
        "merchants/developers/webhook_edit.html",
        {
            "endpoint": endpoint,
            "form": form,
            "rotate_form": WebhookRotateForm(),
            "secrets": webhook_secrets_valid(endpoint),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@merchant_member_required("manage_webhooks")
def webhook_endpoint_rotate(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint_or_404(request, public_id)
    form = WebhookRotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a whole number of hours from 0 to 168."))
        return redirect("webhook_endpoint_edit", public_id=endpoint.public_id)
    rotated = webhook_secret_rotate(
        endpoint=endpoint,
        overlap_hours=form.cleaned_data["overlap_hours"],
        actor=request.user,
        request=request,
    )
    return _developers_page(
        request,
        new_secret=rotated.secret,
        new_secret_endpoint=endpoint,
        previous_secrets_expire_at=rotated.previous_secrets_expire_at,
    )


@require_POST
@merchant_member_required("manage_webhooks")
def webhook_endpoint_delete_view(request: MemberRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint_or_404(request, public_id)
    webhook_endpoint_delete(endpoint=endpoint, actor=request.user, request=request)
    messages.success(request, _("The endpoint %(url)s is deleted.") % {"url": endpoint.url})
    return redirect("developers")
