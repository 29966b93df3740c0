"""Local stand-ins for Slack and the Anthropic API. Speaks only their wire protocols."""
