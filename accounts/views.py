"""Portal pages of the accounts app: dashboard, audit log, users and roles."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.dashboard import dashboard_sections_render
from accounts.filters import AuditEventFilter
from accounts.forms import TwoFactorResetForm, UserRolesForm, UserSearchForm
from accounts.http import AuthenticatedRequest
from accounts.models import AuditEvent, User
from accounts.selectors import (
    audit_event_diff,
    audit_event_list,
    audit_event_list_for_object,
)
from accounts.selectors import (
    user_list as user_list_select,
)
from accounts.services.users import user_deactivate, user_reactivate, user_roles_set
from accounts.twofactor.selectors import recovery_codes_remaining, totp_device_list_for_user
from accounts.twofactor.services import two_factor_reset
from config.errors import ApplicationError

PAGE_SIZE = 50


@login_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    sections = dashboard_sections_render(request)
    stylesheets = list(dict.fromkeys(path for s in sections for path in s.stylesheets))
    return render(
        request,
        "accounts/dashboard.html",
        {"dashboard_sections": sections, "dashboard_stylesheets": stylesheets},
    )


def _is_partial_request(request: HttpRequest, target: str) -> bool:
    """Whether htmx asked for just the results region (a boosted page load wants it all)."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted and htmx.target == target


# Viewing the audit log is deliberately not audited: it would drown the log in noise.
@require_GET
@login_required
@permission_required("accounts.view_audit_log", raise_exception=True)
def audit_log(request: AuthenticatedRequest) -> HttpResponse:
    filterset = AuditEventFilter(data=request.GET)
    if filterset.is_valid():
        events = audit_event_list(filters=request.GET)
    else:
        events = AuditEvent.objects.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter": filterset, "form": filterset.form, "page": page}
    if _is_partial_request(request, "audit-results"):
        response = render(request, "accounts/audit/_results.html", context)
    else:
        response = render(request, "accounts/audit/list.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
@permission_required("accounts.view_audit_log", raise_exception=True)
def audit_event(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(AuditEvent.objects.select_related("actor"), pk=pk)
    return render(
        request,
        "accounts/audit/detail.html",
        {"event": event, "changes": audit_event_diff(event)},
    )


@require_GET
@login_required
@permission_required("accounts.manage_roles", raise_exception=True)
def user_list(request: AuthenticatedRequest) -> HttpResponse:
    form = UserSearchForm(data=request.GET)
    if form.is_valid():
        is_active = {"1": True, "0": False}.get(form.cleaned_data["is_active"])
        users = user_list_select(
            search=form.cleaned_data["q"].strip(),
            role=form.cleaned_data["role"],
            is_active=is_active,
        )
    else:
        users = User.objects.none()
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page}
    if _is_partial_request(request, "user-results"):
        response = render(request, "accounts/users/_results.html", context)
    else:
        response = render(request, "accounts/users/list.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _user_detail_context(
    request: HttpRequest,
    account: User,
    *,
    form: UserRolesForm | None = None,
    reset_form: TwoFactorResetForm | None = None,
) -> dict[str, Any]:
    return {
        "account": account,
        "form": form or UserRolesForm(initial={"roles": [role.value for role in account.roles]}),
        "reset_form": reset_form or TwoFactorResetForm(),
        "is_self": account.pk == request.user.pk,
        "totp_devices": list(totp_device_list_for_user(account)),
        "recovery_codes_left": recovery_codes_remaining(account),
        "events": (
            audit_event_list_for_object(target=account)
            if request.user.has_perm("accounts.view_audit_log")
            else None
        ),
    }


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("accounts.manage_roles", raise_exception=True)
def user_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User.objects.prefetch_related("groups"), pk=pk)
    form = None
    if request.method == "POST":
        form = UserRolesForm(data=request.POST)
        if form.is_valid():
            try:
                user_roles_set(
                    actor=request.user,
                    user=account,
                    roles=form.cleaned_data["roles"],
                    request=request,
                )
            except ApplicationError as error:
                form.add_error(None, ValidationError(error.message, code=error.code))
            else:
                messages.success(
                    request, _("The roles of %(email)s are saved.") % {"email": account.email}
                )
                return redirect("user_detail", pk=account.pk)
    return render(
        request, "accounts/users/detail.html", _user_detail_context(request, account, form=form)
    )


@require_POST
@login_required
@permission_required("accounts.manage_roles", raise_exception=True)
def user_two_factor_reset_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Remove the user's authenticator apps and recovery codes, with a mandatory reason."""
    account = get_object_or_404(User.objects.prefetch_related("groups"), pk=pk)
    reset_form = TwoFactorResetForm(data=request.POST)
    if reset_form.is_valid():
        try:
            two_factor_reset(
                actor=request.user,
                user=account,
                reason=reset_form.cleaned_data["reason"],
                request=request,
            )
        except ApplicationError as error:
            reset_form.add_error(None, ValidationError(error.message, code=error.code))
        else:
            if account.requires_two_factor:
                done = _(
                    "Two-factor authentication of %(email)s is reset. They must set up a new "
                    "authenticator app at their next sign-in."
                )
            else:
                done = _(
                    "Two-factor authentication of %(email)s is reset. Their role does not "
                    "require it: they may set it up again from their account."
                )
            messages.success(request, done % {"email": account.email})
            return redirect("user_detail", pk=account.pk)
    # The typed reason stays in the form, with the error next to it.
    return render(
        request,
        "accounts/users/detail.html",
        _user_detail_context(request, account, reset_form=reset_form),
        status=400,
    )


def _user_active_change(request: AuthenticatedRequest, pk: int, *, activate: bool) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    service = user_reactivate if activate else user_deactivate
    try:
        service(actor=request.user, user=account, request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if activate:
            message = _("%(email)s can sign in again.")
        else:
            message = _("%(email)s is deactivated and can no longer sign in.")
        messages.success(request, message % {"email": account.email})
    return redirect("user_detail", pk=account.pk)


@require_POST
@login_required
@permission_required("accounts.manage_roles", raise_exception=True)
def user_deactivate_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _user_active_change(request, pk, activate=False)


@require_POST
@login_required
@permission_required("accounts.manage_roles", raise_exception=True)
def user_reactivate_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _user_active_change(request, pk, activate=True)
