"""Portal pages of refunds: merchant pages (portal, decisions, request, export) and staff."""
