"""Slack's rate limits: per-method tiers per workspace, and chat.postMessage per channel."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "apps.connections.open": 1,
    "chat.startStream": 2,
    "chat.stopStream": 2,
    "usergroups.users.list": 2,
    "chat.update": 3,
    "chat.delete": 3,
    "conversations.replies": 3,
    "conversations.history": 3,
    "conversations.info": 3,
    "reactions.add": 3,
    "assistant.threads.setStatus": 3,
    "chat.appendStream": 4,
    "chat.postEphemeral": 4,
    "users.info": 4,
    "views.publish": 4,
    "views.open": 4,
    "auth.test": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
POST_MESSAGE = "chat.postMessage"


@dataclass
class RateLimiter:
    """Sliding windows per (method) and a token bucket per channel for chat.postMessage.

    `window_s` is Slack's minute; tests shrink it to keep runs short. Every refusal is recorded.
    """

    enabled: bool = True
    window_s: float = 60.0
    post_message_per_s: float = 1.0
    post_message_burst: int = 5
    tiers: dict[str, int] = field(default_factory=lambda: dict(METHOD_TIERS))
    limited: list[dict[str, Any]] = field(default_factory=list)
    _calls: dict[str, deque[float]] = field(default_factory=dict)
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _refusals: dict[str, list[float]] = field(default_factory=dict)

    def refuse_next(self, method: str, retry_after: float, times: int = 1) -> None:
        """The next `times` calls of `method` get a 429 with this Retry-After, as a busy
        workspace answers (whether or not limits are otherwise enabled)."""
        self._refusals.setdefault(method, []).extend([retry_after] * times)

    def check(self, method: str, channel: str | None = None) -> float | None:
        """None if the call may proceed (and count it), else the Retry-After in seconds."""
        now = time.monotonic()
        if refusals := self._refusals.get(method):
            retry: float | None = refusals.pop(0)
        elif not self.enabled:
            return None
        else:
            retry = (
                self._post_message(channel or "-", now)
                if method == POST_MESSAGE
                else self._tier(method, now)
            )
        if retry is not None:
            self.limited.append({"method": method, "channel": channel, "retry_after": retry,
                                 "at": time.time()})  # fmt: skip
        return retry

    def _tier(self, method: str, now: float) -> float | None:
        tier = self.tiers.get(method)
        if tier is None:
            return None
        allowed = TIER_PER_MINUTE[tier]
        calls = self._calls.setdefault(method, deque())
        while calls and now - calls[0] >= self.window_s:
            calls.popleft()
        if len(calls) >= allowed:
            return max(1.0, math.ceil(self.window_s - (now - calls[0])))
        calls.append(now)
        return None

    def _post_message(self, channel: str, now: float) -> float | None:
        tokens, last = self._buckets.get(channel, (float(self.post_message_burst), now))
        tokens = min(self.post_message_burst, tokens + (now - last) * self.post_message_per_s)
        if tokens < 1:
            self._buckets[channel] = (tokens, now)
            return float(max(1, math.ceil((1 - tokens) / self.post_message_per_s)))
        self._buckets[channel] = (tokens - 1, now)
        return None
