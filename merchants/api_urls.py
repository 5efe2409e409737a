"""Merchant API URLs, mounted at /api/v1/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
