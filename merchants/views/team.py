"""Team pages: members and invitations (owners and admins), and accepting an invitation."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from config.errors import ApplicationError
from merchants.models import InvitationStatus, TeamRole
from merchants.platform_forms import (
    InvitationSignupForm,
    TeamInviteForm,
    TeamRoleForm,
    form_add_application_error,
)
from merchants.selectors.team import (
    team_invitation_from_token,
    team_invitation_get,
    team_invitation_list_open,
    team_member_get,
    team_member_list,
)
from merchants.services.team import (
    team_invitation_accept,
    team_invitation_create,
    team_invitation_revoke,
    team_invitation_signup,
    team_member_remove,
    team_member_role_change,
)
from merchants.views.access import MemberRequest, merchant_member_required


def _team_page(
    request: MemberRequest, invite_form: TeamInviteForm, status: int = 200
) -> HttpResponse:
    membership = request.membership
    is_owner = membership.role == TeamRole.OWNER
    members = list(team_member_list(request.merchant))
    owner_count = sum(1 for member in members if member.role == TeamRole.OWNER)
    rows: list[dict[str, Any]] = [
        {
            "membership": member,
            "is_self": member.pk == membership.pk,
            # Admins cannot touch owners; nobody can demote or remove the last owner.
            "can_manage": (is_owner or member.role != TeamRole.OWNER)
            and not (member.role == TeamRole.OWNER and owner_count == 1),
            "role_form": TeamRoleForm(initial={"role": member.role}, prefix=f"m{member.pk}"),
        }
        for member in members
    ]
    for row in rows:
        if not is_owner:
            row["role_form"].fields["role"].choices = [
                choice for choice in TeamRole.choices if choice[0] != TeamRole.OWNER
            ]
    return render(
        request,
        "merchants/team/team.html",
        {
            "rows": rows,
            "invitations": team_invitation_list_open(request.merchant),
            "invite_form": invite_form,
            "is_owner": is_owner,
            "team_roles": TeamRole,
        },
        status=status,
    )


@merchant_member_required("manage_team")
def team(request: MemberRequest) -> HttpResponse:
    is_owner = request.membership.role == TeamRole.OWNER
    return _team_page(request, TeamInviteForm(can_grant_owner=is_owner))


@require_POST
@merchant_member_required("manage_team")
def team_invite(request: MemberRequest) -> HttpResponse:
    membership = request.membership
    form = TeamInviteForm(request.POST, can_grant_owner=membership.role == TeamRole.OWNER)
    if form.is_valid():
        try:
            invitation = team_invitation_create(
                actor=membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                request=request,
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s. The link is valid for 7 days.")
                % {"email": invitation.email},
            )
            return redirect("team")
    return _team_page(request, form, status=400)


@require_POST
@merchant_member_required("manage_team")
def team_member_role(request: MemberRequest, membership_id: int) -> HttpResponse:
    actor = request.membership
    try:
        member = team_member_get(request.merchant, membership_id)
        form = TeamRoleForm(request.POST, prefix=f"m{member.pk}")
        if not form.is_valid():
            messages.error(request, _("Choose a team role."))
            return redirect("team")
        team_member_role_change(
            actor=actor, membership=member, role=form.cleaned_data["role"], request=request
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(email)s is now %(role)s.")
            % {"email": member.user.email, "role": TeamRole(member.role).label},
        )
    return redirect("team")


@require_POST
@merchant_member_required("manage_team")
def team_member_remove_view(request: MemberRequest, membership_id: int) -> HttpResponse:
    actor = request.membership
    try:
        member = team_member_get(request.merchant, membership_id)
        team_member_remove(actor=actor, membership=member, request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("team")
    messages.success(
        request, _("%(email)s was removed from the team.") % {"email": member.user.email}
    )
    if member.pk == actor.pk:
        return redirect("dashboard")
    return redirect("team")


@require_POST
@merchant_member_required("manage_team")
def team_invitation_revoke_view(request: MemberRequest, public_id: str) -> HttpResponse:
    try:
        invitation = team_invitation_get(request.merchant, public_id)
        team_invitation_revoke(
            actor=request.membership,
            invitation=invitation,
            request=request,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email}
        )
    return redirect("team")


@require_http_methods(["GET", "POST"])
def team_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the invitation email: accept it, signed in or with a new account."""
    try:
        invitation = team_invitation_from_token(token)
    except ApplicationError as error:
        return render(
            request, "merchants/team/invitation.html", {"error": error.message}, status=error.status
        )
    context: dict = {"invitation": invitation, "token": token}
    if invitation.status != InvitationStatus.PENDING:
        closed: dict[str, str] = {
            InvitationStatus.ACCEPTED: _("This invitation has already been used."),
            InvitationStatus.REVOKED: _("This invitation has been withdrawn."),
            InvitationStatus.EXPIRED: _("This invitation has expired. Ask for a new one."),
        }
        context["error"] = closed[invitation.status]
        return render(request, "merchants/team/invitation.html", context, status=410)

    user = request.user
    if user.is_authenticated:
        if request.method == "POST":
            try:
                team_invitation_accept(invitation=invitation, user=user, request=request)
            except ApplicationError as error:
                context["error"] = error.message
                return render(
                    request, "merchants/team/invitation.html", context, status=error.status
                )
            messages.success(
                request, _("Welcome to the team of %(name)s.") % {"name": invitation.merchant.name}
            )
            return redirect("dashboard")
        context["email_matches"] = user.email.lower() == invitation.email.lower()
        return render(request, "merchants/team/invitation.html", context)

    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    context["has_account"] = has_account
    context["login_url"] = reverse("account_login") + "?" + urlencode({"next": request.path})
    if has_account:
        return render(request, "merchants/team/invitation.html", context)
    form = InvitationSignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            membership = team_invitation_signup(
                invitation=invitation,
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
                request=request,
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, _("Welcome to the team of %(name)s.") % {"name": invitation.merchant.name}
            )
            return redirect("dashboard")
    context["form"] = form
    return render(
        request,
        "merchants/team/invitation.html",
        context,
        status=400 if form.errors else 200,
    )
