"""The merchant owner's onboarding pages: the application steps, documents, submit, status."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from accounts.services.audit import audit_event_record
from config.errors import ApplicationError
from merchants.forms.onboarding import STEP_FORMS, DocumentUploadForm, SubmitForm
from merchants.models import ApplicationDocument, DocumentKind, MerchantApplication, MerchantStatus
from merchants.models.application import REQUIRED_DOCUMENT_KINDS
from merchants.selectors.applications import document_get_for_user, user_can_read_documents
from merchants.services.onboarding import (
    APPLICATION_STEPS,
    REVIEW,
    ApplicationIncomplete,
    application_get_or_create,
    application_problems,
    application_save_draft,
    application_submit,
    document_delete,
    document_upload,
)
from merchants.views.access import MemberRequest, merchant_member_required


def _progress(application: MerchantApplication, current: str) -> list[dict[str, Any]]:
    """Return the .steps indicator: each step with whether it is complete and current."""
    problems = application_problems(application)
    return [
        {
            "slug": step.slug,
            "title": step.title,
            "fields": step.fields,
            "is_done": step is not REVIEW and not any(f in problems for f in step.fields),
            "is_current": step.slug == current,
            "url_name": _url_name_for(step.slug),
        }
        for step in APPLICATION_STEPS
    ]


def _url_name_for(slug: str) -> str:
    if slug == "documents":
        return "onboarding_documents"
    if slug == "review":
        return "onboarding_review"
    return "onboarding_step"


def _context(request: MemberRequest, application: MerchantApplication, current: str) -> dict:
    slugs = [step.slug for step in APPLICATION_STEPS]
    return {
        "merchant": request.merchant,
        "application": application,
        "steps": _progress(application, current),
        "current_step": current,
        "step_number": slugs.index(current) + 1 if current in slugs else None,
        "step_total": len(slugs),
    }


@merchant_member_required("edit_application")
def onboarding_overview(request: MemberRequest) -> HttpResponse:
    """Send an editable draft to its first unfinished step; otherwise show the status."""
    application = application_get_or_create(merchant=request.merchant)
    if application.merchant.status == MerchantStatus.DRAFT:
        problems = application_problems(application)
        for step in APPLICATION_STEPS:
            if any(name in problems for name in step.fields):
                if step.slug in STEP_FORMS:
                    return redirect("onboarding_step", step=step.slug)
                return redirect(_url_name_for(step.slug))
        return redirect("onboarding_review")
    if application.merchant.status == MerchantStatus.NEEDS_INFORMATION:
        return redirect("onboarding_review")
    context = _context(request, application, "")
    context["documents"] = list(application.documents.all())
    return render(request, "merchants/onboarding/status.html", context)


@merchant_member_required("edit_application")
def onboarding_step(request: MemberRequest, step: str) -> HttpResponse:
    """Show and save one form step of the draft ("Save and continue" goes to the next)."""
    form_class = STEP_FORMS.get(step)
    if form_class is None:
        raise Http404
    application = application_get_or_create(merchant=request.merchant)
    if not application.is_editable:
        messages.info(request, _("The application can no longer be changed."))
        return redirect("merchant_onboarding")
    # Progress is computed before the form binds: a bound ModelForm edits the instance.
    context = _context(request, application, step)
    if request.method == "POST":
        form = form_class(request.POST, instance=application)
        if form.is_valid():
            try:
                application_save_draft(
                    application=application,
                    actor=request.user,
                    data=form.draft_data(),
                    request=request,
                )
            except ApplicationError as error:
                messages.error(request, error.message)
                return redirect("merchant_onboarding")
            if "continue" in request.POST:
                messages.success(request, _("Saved."))
                slugs = [s.slug for s in APPLICATION_STEPS]
                following = slugs[slugs.index(step) + 1]
                if following in STEP_FORMS:
                    return redirect("onboarding_step", step=following)
                return redirect(_url_name_for(following))
            messages.success(request, _("Draft saved. You can come back to it at any time."))
            return redirect("onboarding_step", step=step)
        messages.error(request, _("Some answers need correcting; nothing was saved."))
    else:
        form = form_class(instance=application)
    context["form"] = form
    context["step"] = next(s for s in APPLICATION_STEPS if s.slug == step)
    status = 400 if request.method == "POST" else 200
    return render(request, "merchants/onboarding/step.html", context, status=status)


@merchant_member_required("edit_application")
def onboarding_documents(request: MemberRequest) -> HttpResponse:
    """List the application's documents and take uploads."""
    application = application_get_or_create(merchant=request.merchant)
    if not application.is_editable:
        return redirect("merchant_onboarding")
    status = 200
    if request.method == "POST":
        form = DocumentUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                document = document_upload(
                    application=application,
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    file=form.cleaned_data["file"],
                    request=request,
                )
            except ApplicationError as error:
                form.add_error("file", error.message)
            else:
                messages.success(
                    request,
                    _("%(name)s uploaded as %(kind)s.")
                    % {"name": document.original_name, "kind": document.get_kind_display()},
                )
                return redirect("onboarding_documents")
        status = 400
    else:
        missing = [
            k for k in REQUIRED_DOCUMENT_KINDS if not application.documents.filter(kind=k).exists()
        ]
        form = DocumentUploadForm(initial={"kind": missing[0] if missing else DocumentKind.OTHER})
    context = _context(request, application, "documents")
    documents = list(application.documents.all())
    present = {d.kind for d in documents}
    context.update(
        form=form,
        documents=documents,
        required_kinds=[
            {"value": k, "label": DocumentKind(k).label, "is_present": k in present}
            for k in REQUIRED_DOCUMENT_KINDS
        ],
    )
    return render(request, "merchants/onboarding/documents.html", context, status=status)


@require_POST
@merchant_member_required("edit_application")
def onboarding_document_delete(request: MemberRequest, pk: int) -> HttpResponse:
    """Delete one of this merchant's documents while the application is editable."""
    application = application_get_or_create(merchant=request.merchant)
    document = get_object_or_404(ApplicationDocument, pk=pk, application=application)
    try:
        document_delete(document=document, actor=request.user, request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("merchant_onboarding")
    messages.success(request, _("%(name)s deleted.") % {"name": document.original_name})
    return redirect("onboarding_documents")


@merchant_member_required("edit_application")
def onboarding_review(request: MemberRequest) -> HttpResponse:
    """Show everything entered, what is missing, and submit (which locks the application)."""
    application = application_get_or_create(merchant=request.merchant)
    if not application.is_editable:
        return redirect("merchant_onboarding")
    status = 200
    submit_error: ApplicationIncomplete | None = None
    if request.method == "POST":
        form = SubmitForm(request.POST)
        if form.is_valid():
            try:
                application_submit(
                    application=application,
                    actor=request.user,
                    request=request,
                )
            except ApplicationIncomplete as error:
                submit_error = error
            except ApplicationError as error:
                messages.error(request, error.message)
                return redirect("merchant_onboarding")
            else:
                messages.success(
                    request,
                    _("Application submitted. We will email you when a reviewer has decided."),
                )
                return redirect("merchant_onboarding")
        status = 400
    else:
        form = SubmitForm()
    context = _context(request, application, "review")
    problems = application_problems(application)
    context.update(
        form=form,
        submit_error=submit_error,
        problems=problems,
        incomplete_steps=[
            s for s in context["steps"] if s["slug"] != "review" and not s["is_done"]
        ],
        documents=list(application.documents.all()),
    )
    return render(request, "merchants/onboarding/review.html", context, status=status)


@login_required
def application_document(request: AuthenticatedRequest, pk: int) -> HttpResponseBase:
    """Serve a KYC document to the merchant's owner or KYC staff; 404 for anyone else.

    The file lives under MEDIA_ROOT, which no URL serves: this view is the only way in.
    """
    document = document_get_for_user(user=request.user, pk=pk)
    if document is None:
        raise Http404
    if user_can_read_documents(request.user):
        # Staff reading a merchant's identity documents is itself worth recording.
        audit_event_record(
            action="merchant.document.view",
            target=document.application,
            after={"document": document.pk, "kind": document.kind},
            request=request,
        )
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(
        handle,
        content_type=document.content_type,
        as_attachment=request.GET.get("download") == "1",
        filename=document.original_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
