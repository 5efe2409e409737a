"""What each team role may do inside its merchant: the one table pages and APIs check."""

from merchants.models import TeamRole

# Capabilities are checked with `merchants.selectors.membership_has_capability`.
TEAM_CAPABILITIES: dict[str, frozenset[str]] = {
    TeamRole.OWNER: frozenset(
        {
            "view",
            "manage_team",
            "manage_api_keys",
            "manage_webhooks",
            "manage_settings",
            "edit_application",
            "create_payments",
            "refund",
            "approve_refunds",
            "view_finance",
            "handle_complaints",
        }
    ),
    TeamRole.ADMIN: frozenset(
        {
            "view",
            "manage_team",
            "manage_api_keys",
            "manage_webhooks",
            "manage_settings",
            "create_payments",
            "refund",
            "view_finance",
            "handle_complaints",
        }
    ),
    TeamRole.DEVELOPER: frozenset(
        {"view", "manage_api_keys", "manage_webhooks", "create_payments"}
    ),
    TeamRole.FINANCE: frozenset({"view", "refund", "approve_refunds", "view_finance"}),
    TeamRole.SUPPORT: frozenset({"view", "refund", "handle_complaints"}),
    TeamRole.READ_ONLY: frozenset({"view"}),
}
