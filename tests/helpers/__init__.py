"""Helpers shared by tests of every app (not fixtures: those live in tests/conftest.py)."""
