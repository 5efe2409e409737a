"""Merchant portal URLs (mounted at /merchants/). Each area keeps its own block."""

from django.urls import path

urlpatterns: list = []

# --- onboarding and KYC review ---
from merchants.views import merchant_status, onboarding, review  # noqa: E402

urlpatterns += [
    path("application/", onboarding.onboarding_overview, name="merchant_onboarding"),
    path("application/step/<slug:step>/", onboarding.onboarding_step, name="onboarding_step"),
    path("application/documents/", onboarding.onboarding_documents, name="onboarding_documents"),
    path(
        "application/documents/<int:pk>/delete/",
        onboarding.onboarding_document_delete,
        name="onboarding_document_delete",
    ),
    path("application/submit/", onboarding.onboarding_review, name="onboarding_review"),
    path("documents/<int:pk>/", onboarding.application_document, name="application_document"),
    path("kyc/", review.kyc_queue, name="kyc_queue"),
    path("kyc/<int:pk>/", review.kyc_application, name="kyc_application"),
    path("kyc/<int:pk>/start/", review.kyc_start_review, name="kyc_start_review"),
    path("kyc/<int:pk>/approve/", review.kyc_approve, name="kyc_approve"),
    path("kyc/<int:pk>/reject/", review.kyc_reject, name="kyc_reject"),
    path(
        "kyc/<int:pk>/request-information/",
        review.kyc_request_information,
        name="kyc_request_information",
    ),
    path("staff/", merchant_status.merchant_list, name="merchant_list"),
    path(
        "staff/<uuid:public_id>/",
        merchant_status.merchant_staff_detail,
        name="merchant_staff_detail",
    ),
    path(
        "staff/<uuid:public_id>/suspend/",
        merchant_status.merchant_suspend_view,
        name="merchant_suspend",
    ),
    path(
        "staff/<uuid:public_id>/reinstate/",
        merchant_status.merchant_reinstate_view,
        name="merchant_reinstate",
    ),
]

# --- team, API keys, webhooks, settlement terms ---
from merchants.views import developers, settlement, team  # noqa: E402

urlpatterns += [
    path("team/", team.team, name="team"),
    path("team/invite/", team.team_invite, name="team_invite"),
    path("team/members/<int:membership_id>/role/", team.team_member_role, name="team_member_role"),
    path(
        "team/members/<int:membership_id>/remove/",
        team.team_member_remove_view,
        name="team_member_remove",
    ),
    path(
        "team/invitations/<uuid:public_id>/revoke/",
        team.team_invitation_revoke_view,
        name="team_invitation_revoke",
    ),
    path("invitations/<str:token>/", team.team_invitation, name="team_invitation"),
    path("developers/", developers.developers, name="developers"),
    path("developers/keys/", developers.api_key_create_view, name="api_key_create"),
    path(
        "developers/keys/<uuid:public_id>/revoke/",
        developers.api_key_revoke_view,
        name="api_key_revoke",
    ),
    path(
        "developers/webhooks/",
        developers.webhook_endpoint_create_view,
        name="webhook_endpoint_create",
    ),
    path(
        "developers/webhooks/<uuid:public_id>/",
        developers.webhook_endpoint_edit,
        name="webhook_endpoint_edit",
    ),
    path(
        "developers/webhooks/<uuid:public_id>/rotate/",
        developers.webhook_endpoint_rotate,
        name="webhook_endpoint_rotate",
    ),
    path(
        "developers/webhooks/<uuid:public_id>/delete/",
        developers.webhook_endpoint_delete_view,
        name="webhook_endpoint_delete",
    ),
    path("settlement/", settlement.settlement_terms, name="settlement_terms"),
    path(
        "settlement/minimum-payout/",
        settlement.settlement_minimum_payout,
        name="settlement_minimum_payout",
    ),
    path("settlement/t0-request/", settlement.settlement_t0_request, name="settlement_t0_request"),
    path(
        "settlement/t0-request/withdraw/",
        settlement.settlement_t0_withdraw,
        name="settlement_t0_withdraw",
    ),
    path("settlement/t1/", settlement.settlement_t1, name="settlement_t1"),
    path(
        "staff/settlement-requests/",
        settlement.settlement_term_requests,
        name="settlement_term_requests",
    ),
    path(
        "staff/settlement-requests/<int:pk>/approve/",
        settlement.settlement_term_request_approve,
        name="settlement_term_request_approve",
    ),
    path(
        "staff/settlement-requests/<int:pk>/reject/",
        settlement.settlement_term_request_reject,
        name="settlement_term_request_reject",
    ),
    path(
        "staff/<uuid:public_id>/settlement-terms/",
        settlement.settlement_terms_fees,
        name="settlement_terms_fees",
    ),
]
