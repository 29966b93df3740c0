"""Alertmanager alerts in Slack: the webhook, the alert card, the desk that delivers them."""
