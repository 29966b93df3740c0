"""Payloads in Slack's shapes: Events API envelopes, block_actions, slash commands."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from sandbox.slack.limits import ApiError
from sandbox.slack.model import Message, User, Workspace


def new_id(prefix: str) -> str:
    """An id in Slack's style (`Ev0...`, `1234.5678.abcd`)."""
    return prefix + secrets.token_hex(5).upper()


def new_trigger_id() -> str:
    """A trigger id in Slack's form (`<time>.<number>.<hex>`)."""
    return f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(8)}"


def _user(workspace: Workspace, user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": workspace.team_id}


def event_callback(workspace: Workspace, event: dict[str, Any]) -> dict[str, Any]:
    """An Events API `event_callback` envelope around one event, as Slack sends it.

    `authorizations[0]` names the installation the event is delivered to (always this
    workspace); `context_team_id` the organisation whose channel it happened in; `team_id`
    may be the poster's organisation in a Slack Connect channel, which is why apps key on
    the authorizations (Events API "callback fields", docs.slack.dev/apis/events-api).
    """
    channel = workspace.channels.get(str(event.get("channel") or ""))
    host = (channel.host_team if channel else None) or workspace.team_id
    poster = str(event.get("user_team") or event.get("team") or host)
    return {
        "token": "sandbox-verification-token",
        "team_id": poster,
        "context_team_id": host,
        "context_enterprise_id": None,
        "api_app_id": workspace.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": new_id("Ev0"),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": workspace.team_id,
                "user_id": workspace.bot.id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": bool(channel and channel.shared_with),
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


_REFERENCE = re.compile(r"<([^<>]*)>")


def _unescaped(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _rich_element(body: str) -> dict[str, Any]:
    """One `<...>` reference of mrkdwn as the rich text element Slack's composer makes."""
    target, _, label = body.partition("|")
    if target.startswith("@"):
        return {"type": "user", "user_id": target[1:]}
    if target.startswith("#"):
        return {"type": "channel", "channel_id": target[1:]}
    if target.startswith("!subteam^"):
        return {"type": "usergroup", "usergroup_id": target[len("!subteam^") :]}
    if target.startswith("!"):
        return {"type": "broadcast", "range": target[1:]}
    link: dict[str, Any] = {"type": "link", "url": _unescaped(target)}
    if label:
        link["text"] = _unescaped(label)
    return link


def _rich_text(text: str) -> list[dict[str, Any]]:
    """The `rich_text` block Slack's composer sends with a person's message: literal text
    elements (unescaped) and one element per mention or link."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in _REFERENCE.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": _unescaped(text[position : match.start()])})
        elements.append(_rich_element(match.group(1)))
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": _unescaped(text[position:])})
    return [{"type": "rich_text", "block_id": secrets.token_hex(3),
             "elements": [{"type": "rich_text_section", "elements": elements}]}]  # fmt: skip


def _poster(workspace: Workspace, message: Message) -> dict[str, Any]:
    """Who posted: a person (with their organisation) or an app (bot id, profile, username)."""
    if not message.bot_id:
        team = workspace.team_of(message.user)
        fields: dict[str, Any] = {"user": message.user, "team": team,
                                  "client_msg_id": secrets.token_hex(16),
                                  "blocks": message.blocks or _rich_text(message.text)}  # fmt: skip
        if team != workspace.team_id:
            fields.update(user_team=team, source_team=team)
        return fields
    fields = {"bot_id": message.bot_id, "team": message.team or workspace.team_id}
    if message.user:
        fields["user"] = message.user
    for name in ("subtype", "username", "app_id", "bot_profile", "blocks", "attachments"):
        if getattr(message, name):
            fields[name] = getattr(message, name)
    return fields


def message_events(workspace: Workspace, message: Message) -> list[dict[str, Any]]:
    """The events one post produces: `message`, plus `app_mention` when it mentions the bot."""
    base: dict[str, Any] = {
        "text": message.text, "ts": message.ts, "channel": message.channel,
        "event_ts": message.ts, **_poster(workspace, message),
    }  # fmt: skip
    if message.thread_ts:
        base["thread_ts"] = message.thread_ts
        root = workspace.find_message(message.channel, message.thread_ts)
        if root is not None and root.user:
            base["parent_user_id"] = root.user
    events = [{"type": "message", "channel_type": "channel", **base}]
    if not message.bot_id and re.search(rf"<@{workspace.bot.id}(\|[^<>]*)?>", message.text):
        events.append({"type": "app_mention", **base})
    return events


def block_actions(
    workspace: Workspace, user: User, message: Message, action: dict[str, Any], block_id: str,
    response_url: str, trigger_id: str,
) -> dict[str, Any]:  # fmt: skip
    """The interactivity payload of a button click on a message."""
    channel = workspace.channels[message.channel]
    container: dict[str, Any] = {"type": "message", "message_ts": message.ts,
                                 "channel_id": channel.id, "is_ephemeral": False}  # fmt: skip
    if message.thread_ts:
        container["thread_ts"] = message.thread_ts
    clicked = {
        "action_id": action.get("action_id", ""), "block_id": block_id,
        "text": action.get("text"), "type": action.get("type", "button"),
        "action_ts": f"{time.time():.6f}",
    }  # fmt: skip
    for key in ("value", "style"):
        if key in action:
            clicked[key] = action[key]
    return {
        "type": "block_actions",
        "user": _user(workspace, user),
        "api_app_id": workspace.app_id,
        "token": "sandbox-verification-token",
        "container": container,
        "trigger_id": trigger_id,
        "team": {"id": workspace.team_id, "domain": workspace.domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "message": message.as_api(),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [clicked],
    }


def feedback_choice(element: dict[str, Any], value: str | None) -> dict[str, Any]:
    """The action of clicking the button of a `feedback_buttons` element whose value is
    `value`: `type` feedback_buttons, the button's `text` and `value` (Slack's payload).
    Raises ApiError("action_not_found") when neither button has that value."""
    for side in ("positive_button", "negative_button"):
        button = element.get(side) or {}
        if value is not None and button.get("value") == value:
            return {"type": "feedback_buttons", "action_id": element.get("action_id", ""),
                    "text": button.get("text"), "value": value}  # fmt: skip
    raise ApiError("action_not_found")


def slash_command(
    workspace: Workspace, user: User, channel_id: str, command: str, text: str,
    response_url: str, trigger_id: str,
) -> dict[str, str]:  # fmt: skip
    """The form fields of a slash command invocation."""
    channel = workspace.channels[channel_id]
    return {
        "token": "sandbox-verification-token",
        "team_id": workspace.team_id,
        "team_domain": workspace.domain,
        "channel_id": channel.id,
        "channel_name": channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": workspace.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def view_submission(
    workspace: Workspace, user: User, view: dict[str, Any], values: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The payload of a submitted modal; `values` is {block_id: {action_id: value}}."""
    state = {
        block: {
            action: {"type": "plain_text_input", "value": value} for action, value in inputs.items()
        }
        for block, inputs in values.items()
    }
    return {
        "type": "view_submission",
        "team": {"id": workspace.team_id, "domain": workspace.domain},
        "user": _user(workspace, user),
        "api_app_id": workspace.app_id,
        "token": "sandbox-verification-token",
        "trigger_id": new_trigger_id(),
        "view": {
            **view,
            "state": {"values": state},
            "team_id": workspace.team_id,
            "app_id": workspace.app_id,
            "bot_id": workspace.bot.bot_id,
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }
