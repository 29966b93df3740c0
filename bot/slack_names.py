"""Names for the ids in Slack messages, looked up once per run and never fatal.

People: `users.info` (`profile.display_name`, else `real_name`, else `name`; `team_id` tells
a partner organisation's user in a Slack Connect channel). Channels: `conversations.info`
(`channel.name`). User groups: `usergroups.list` (`handle`), one call for all of them.
Source: the Web API method pages on docs.slack.dev/reference/methods. A failed look-up (a
missing scope, a deleted user, a rate limit that outlasts the run's budget) leaves the id.

Names are a nicety, the thread is not: an alert that names a whole rota (150 people) must not
spend the time the thread has to be read in. `users.info` is Tier 4 (about 100 calls a minute,
docs.slack.dev/reference/methods/users.info), so one run asks at most `MAX_LOOKUPS` times,
`CONCURRENCY` at once, within `BUDGET_S` of its first ask; past any of them an id stays an id.
The ids that matter most are asked first (the caller's `first`: the message's authors and the
person asking). `users.list` would name everyone in pages but costs a Tier 2 call per 200
people in a large workspace, so it is not used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.frame_text import one_line
from bot.slack_markup import Names, References

log = logging.getLogger(__name__)

Call = Callable[..., Awaitable[dict[str, Any]]]

MAX_LOOKUPS = 40  # Web API calls for names per run
CONCURRENCY = 4  # of them at once
BUDGET_S = 1.0  # from the run's first look-up; within a reply's read (REPLY_INPUT_BUDGET_S)


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
    return Person(name=one_line(str(name)), team=user.get("team_id"),
                  is_bot=bool(user.get("is_bot")))  # fmt: skip


@dataclass
class NameLookup:
    """One run's look-ups: each id is asked once, within the run's bounds (MAX_LOOKUPS,
    CONCURRENCY, BUDGET_S); what cannot be found in them stays an id."""

    call: Call
    people: dict[str, Person | None] = field(default_factory=dict)
    channels: dict[str, str | None] = field(default_factory=dict)
    usergroups: dict[str, str] | None = None
    max_lookups: int = MAX_LOOKUPS
    budget_s: float = BUDGET_S
    asked: int = 0
    deadline: float | None = None
    _slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))
    _told: bool = False

    def _left_s(self) -> float:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.budget_s
        return self.deadline - time.monotonic()

    def _spent(self, method: str) -> bool:
        """Whether the run's bounds are reached (said once in the log)."""
        if self.asked < self.max_lookups and self._left_s() > 0:
            return False
        if not self._told:
            self._told = True
            log.info("names: %d look-ups in %.1fs reached the bound; %s and the rest keep "
                     "their ids", self.asked, self.budget_s, method)  # fmt: skip
        return True

    async def _ask(self, method: str, **arguments: Any) -> dict[str, Any] | None:
        if self._spent(method):
            return None
        self.asked += 1
        async with self._slots:
            left = self._left_s()
            if left <= 0:
                return None
            try:
                return await asyncio.wait_for(self.call(method, **arguments), left)
            except Exception as error:  # a name is a nicety: any failure leaves the id readable
                log.info("%s failed (%s); the id stays as it is", method, error or "no answer")
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
            self.channels[channel] = one_line(str(found["name"])) if found.get("name") else None
        return self.channels[channel]

    async def usergroup(self, group: str) -> str | None:
        """The user group's handle, or None."""
        if self.usergroups is None:
            answer = await self._ask("usergroups.list")
            self.usergroups = {
                str(g["id"]): one_line(str(g["handle"]))
                for g in (answer or {}).get("usergroups") or []
                if isinstance(g, dict) and g.get("id") and g.get("handle")
            }
        return self.usergroups.get(group)

    async def names(self, wanted: References, first: Sequence[str] = ()) -> Names:
        """Names for the ids in `wanted` that Slack could name within the run's bounds; the
        people in `first` (in its order) are asked before the others."""
        users = [*dict.fromkeys(u for u in first if u in wanted.users)]
        users += sorted(wanted.users - set(users))
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
