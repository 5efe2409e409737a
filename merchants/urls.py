"""Merchant portal URLs (mounted at /merchants/). Each area keeps its own block."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

# --- onboarding and KYC review ---

# --- team, API keys, webhooks, settlement terms ---
