"""Incidents: the human-facing record of an outage, its timeline, updates and postmortem."""
