"""Notifications: routing and grouping of alerts (Alertmanager semantics), receivers and
their channels, templates, and the durable outbox that delivers at least once."""
