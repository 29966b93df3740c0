"""Names for the ids in Slack messages, looked up once per run and never fatal.

People: `users.info` (`profile.display_name`, else `real_name`, else `name`; `team_id` tells
a partner organisation's user in a Slack Connect channel). Channels: `conversations.info`
(`channel.name`). User groups: `usergroups.list` (`handle`), one call for all of them.
Source: the Web API method pages on docs.slack.dev/reference/methods. A failed look-up (a
missing scope, a deleted user, a rate limit that outlasts the run's budget) leaves the id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.slack_markup import Names, References

log = logging.getLogger(__name__)

Call = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Person:
    """Who a user id is: a readable name, their organisation, whether it is an app's user."""

    name: str
    team: str | None = None
    is_bot: bool = False


def person_from(user: dict[str, Any]) -> Person:
    """A `users.info` user object as a Person."""
    profile = user.get("profile") or {}
    name = (
        profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        or user.get("name") or user.get("id") or "unknown"
    )  # fmt: skip
    return Person(name=str(name), team=user.get("team_id"), is_bot=bool(user.get("is_bot")))


@dataclass
class NameLookup:
    """One run's look-ups: each id is asked once; what cannot be found stays an id."""

    call: Call
    people: dict[str, Person | None] = field(default_factory=dict)
    channels: dict[str, str | None] = field(default_factory=dict)
    usergroups: dict[str, str] | None = None

    async def _ask(self, method: str, **arguments: Any) -> dict[str, Any] | None:
        try:
            return await self.call(method, **arguments)
        except Exception as error:  # a name is a nicety: any failure leaves the id readable
            log.info("%s failed (%s); the id stays as it is", method, error)
            return None

    async def person(self, user: str) -> Person | None:
        """Who `user` is, or None when Slack does not say."""
        if user not in self.people:
            answer = await self._ask("users.info", user=user)
            found = (answer or {}).get("user")
            self.people[user] = person_from(found) if isinstance(found, dict) else None
        return self.people[user]

    async def channel(self, channel: str) -> str | None:
        """The channel's name, or None."""
        if channel not in self.channels:
            answer = await self._ask("conversations.info", channel=channel)
            found = (answer or {}).get("channel") or {}
            self.channels[channel] = str(found["name"]) if found.get("name") else None
        return self.channels[channel]

    async def usergroup(self, group: str) -> str | None:
        """The user group's handle, or None."""
        if self.usergroups is None:
            answer = await self._ask("usergroups.list")
            self.usergroups = {
                str(g["id"]): str(g["handle"])
                for g in (answer or {}).get("usergroups") or []
                if isinstance(g, dict) and g.get("id") and g.get("handle")
            }
        return self.usergroups.get(group)

    async def names(self, wanted: References) -> Names:
        """Names for every id in `wanted` that Slack could name."""
        users = sorted(wanted.users)
        channels = sorted(wanted.channels)
        groups = sorted(wanted.usergroups)
        people = await asyncio.gather(*(self.person(u) for u in users))
        channel_names = await asyncio.gather(*(self.channel(c) for c in channels))
        handles = [await self.usergroup(g) for g in groups]
        return Names(
            users={u: p.name for u, p in zip(users, people, strict=True) if p is not None},
            channels={c: n for c, n in zip(channels, channel_names, strict=True) if n},
            usergroups={g: h for g, h in zip(groups, handles, strict=True) if h},
        )
