"""A local Slack workspace: Web API subset, Socket Mode, signed HTTP delivery, person actions."""
