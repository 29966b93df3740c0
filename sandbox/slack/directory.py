"""Read methods about who is who: `usergroups.list` and `bots.info`, in Slack's shapes.

Shapes from the method pages (docs.slack.dev/reference/methods/usergroups.list and
/bots.info): a user group has `id`, `team_id`, `name`, `handle`, `is_usergroup` and, with
`include_users`, `users`; a bot has `id`, `app_id`, `name`, `deleted`, `user_id`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.slack.model import Workspace

Args = dict[str, Any]
Method = Callable[[Args], Awaitable[Args]]


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true")


def directory_methods(workspace: Workspace, error: Callable[[str], Exception]) -> dict[str, Method]:
    """`usergroups.list` and `bots.info` over `workspace`; `error(code)` builds the failure."""

    async def usergroups_list(args: Args) -> Args:
        groups = []
        for group_id, (handle, users) in workspace.usergroups.items():
            group: Args = {"id": group_id, "team_id": workspace.team_id, "is_usergroup": True,
                           "name": handle, "handle": handle, "description": "",
                           "user_count": len(users)}  # fmt: skip
            if _truthy(args.get("include_users")):
                group["users"] = list(users)
            groups.append(group)
        return {"usergroups": groups}

    async def bots_info(args: Args) -> Args:
        bot_id = str(args.get("bot") or "")
        bot = workspace.bot
        if bot_id == bot.bot_id:
            return {"bot": {"id": bot_id, "app_id": workspace.app_id, "name": bot.name,
                            "deleted": False, "user_id": bot.id}}  # fmt: skip
        app = workspace.apps.get(bot_id)
        if app is None:
            raise error("bot_not_found")
        found: Args = {"id": app.bot_id, "app_id": app.app_id, "name": app.name, "deleted": False}
        if app.user:
            found["user_id"] = app.user
        return {"bot": found}

    return {"usergroups.list": usergroups_list, "bots.info": bots_info}
