"""Others who post into the workspace: other apps (an alerting tool's attachments or blocks).

Alertmanager's and Datadog's Slack integrations post with an empty `text` and the alert in
`attachments` (an incoming webhook: `subtype: bot_message`, a `username`, no user); apps
built on the Web API post with a bot user, `bot_id`, `app_id` and `bot_profile`. Either way
the installed app receives a `message` event carrying `bot_id`, as Slack sends it.
"""

from __future__ import annotations

from typing import Any

from sandbox.slack.blocks import validate_blocks
from sandbox.slack.model import Message, OtherApp
from sandbox.slack.server import SlackSandbox
from sandbox.slack.webapi import ApiError

ALERTMANAGER = OtherApp(bot_id="B0ALERTS", app_id="A0ALERTS", name="Alertmanager")
DATADOG = OtherApp(bot_id="B0DATADOG", app_id="A0DATADOG", name="Datadog", user="U0DATADOG")


async def post_as_app(
    sandbox: SlackSandbox, app: OtherApp, channel: str, *, text: str = "",
    attachments: list[dict[str, Any]] | None = None, blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> Message:  # fmt: skip
    """Post as another app (installed on first use): the bot gets a `message` event."""
    found = sandbox.api.channel({"channel": channel})
    if thread_ts and thread_ts not in found.messages:
        raise ApiError("thread_not_found")
    if not text and not attachments and not blocks:
        raise ApiError("no_text")
    if blocks is not None and (errors := validate_blocks(blocks)):
        raise ApiError("invalid_blocks", errors=errors)
    space = sandbox.workspace
    space.apps.setdefault(app.bot_id, app)
    webhook = app.user is None
    message = Message(
        ts=space.new_ts(), channel=found.id, user=app.user or "", text=text, blocks=blocks,
        thread_ts=thread_ts, bot_id=app.bot_id, attachments=attachments,
        subtype="bot_message" if webhook else None, username=app.name if webhook else None,
        app_id=app.app_id, bot_profile=app.profile(space.team_id),
        team=app.team_id or space.team_id,
    )  # fmt: skip
    await sandbox.api._post(found, message)
    await sandbox.notify()
    return message
