"""Probes: one module per kind, a common protocol (`base`), the runner and thresholds."""
