"""What the listeners need, built once at start."""

from __future__ import annotations

from dataclasses import dataclass

from bot.approvers import Approvers
from bot.session_status import SessionStatus
from bot.writer import SlackWriter
from core.redact import Redactor
from core.settings import Settings


@dataclass(frozen=True)
class BotDeps:
    """The bot's identity in the workspace and its collaborators."""

    settings: Settings
    writer: SlackWriter
    approvers: Approvers
    bot_user: str
    team: str
    domain: str | None
    redactor: Redactor
    sessions: SessionStatus | None = None
    """Thread agent-session statuses (bot/session_status.py); None where nothing sets them."""
