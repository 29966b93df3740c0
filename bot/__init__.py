"""The Slack bot, the terminal front end and the `opsbot` command."""
