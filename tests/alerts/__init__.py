"""Alertmanager notifications as Alertmanager sends them, for the alert tests and bench."""
