"""Benchmarks: scripts that print figures (docs/benchmarks.md). Not tests, not shipped."""
