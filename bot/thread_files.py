"""Files a tool made (charts) shared into the run's thread; a failed upload leaves a note.

The upload goes through the rate-aware writer (bot/writer.py `SlackWriter.upload`: Slack's
external upload, files.getUploadURLExternal then files.completeUploadExternal, both Tier 4).
A file's title and alt text pass the run's redactor first; its bytes (an image) are sent as
the tool made them. Nothing here raises: a file that cannot be shared never fails the run.
"""

from __future__ import annotations

import base64
import binascii
import logging

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.writer import SlackWriter, UploadRefused
from core.redact import Redactor
from tools.base import ToolFile

log = logging.getLogger(__name__)
MAX_TITLE = 250
MAX_ALT_TEXT = 1_000  # Slack refuses a longer alt_txt (alt_txt_too_large)


def not_shared_note(title: str, why: str) -> str:
    """The line the thread gets instead of a file."""
    return f":warning: Could not attach the file _{title}_ to this thread ({why})."


def _why(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error') or error.response.status_code}"
    if isinstance(error, UploadRefused):
        return str(error)
    if isinstance(error, TimeoutError):
        return "Slack did not answer in time"
    return f"{type(error).__name__}: {error}"[:200]


async def share_files(
    writer: SlackWriter, channel: str, thread_ts: str, files: tuple[ToolFile, ...],
    redactor: Redactor,
) -> list[str]:  # fmt: skip
    """Share each file into the thread, in order; returns the notes for those that were not
    (the caller posts them). The notes are redacted too."""
    notes: list[str] = []
    for file in files:
        title = redactor.redact(file.title or file.name)[:MAX_TITLE]
        try:
            content = base64.b64decode(file.content_b64, validate=True)
            if not content:
                raise ValueError("the file is empty")
            await writer.upload(channel=channel, thread_ts=thread_ts, filename=file.name,
                                title=title, content=content,
                                alt_text=redactor.redact(file.alt_text)[:MAX_ALT_TEXT])  # fmt: skip
        except (binascii.Error, ValueError) as bad:
            log.warning("file %s of a tool is not shareable: %s", file.name, bad)
            notes.append(not_shared_note(title, f"the tool's file is not valid: {bad}"))
        except (SlackApiError, UploadRefused, aiohttp.ClientError, TimeoutError) as error:
            log.warning("could not share %s: %s", file.name, error)
            notes.append(not_shared_note(title, redactor.redact(_why(error))))
    return notes
