"""Playbooks: the runbooks' procedures as parameterised, dry-runnable, audited steps."""
