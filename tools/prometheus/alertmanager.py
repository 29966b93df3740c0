"""Alertmanager: active alerts and silences (read), and a new silence (write, approved).

API v2: https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml
Matchers: https://prometheus.io/docs/alerting/latest/configuration/#matcher
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, model_validator

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError
from tools.prometheus.client import AlertmanagerApi
from tools.prometheus.times import (
    DURATION_HELP,
    TIME_HELP,
    duration_text,
    parse_duration,
    parse_time,
    rfc3339,
)

CREATED_BY = "opsbot"
LIST_LIMIT = 50
_MATCHER = re.compile(
    r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s]*))\s*'
)
_STATE_ORDER = {"active": 0, "pending": 1, "expired": 2}
MATCHER_HELP = 'name="value", name!="value", name=~"regex" or name!~"regex"'


@dataclass(frozen=True)
class Matcher:
    """One label matcher of Alertmanager (equality or regular expression, maybe negated)."""

    name: str
    value: str
    is_regex: bool
    is_equal: bool

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """`job="api"`, `severity=~"crit.*"`, `env!=prod`; `ToolError` for anything else."""
        found = _MATCHER.fullmatch(text)
        if found is None:
            raise ToolError(f"matcher {text!r} is not {MATCHER_HELP}")
        name, operator, quoted, bare = found.groups()
        value = bare if quoted is None else json.loads(f'"{quoted}"')
        if "~" in operator:
            try:
                re.compile(value)
            except re.error as error:
                raise ToolError(f"matcher {text!r}: bad regular expression: {error}") from None
        return cls(name, value, is_regex="~" in operator, is_equal=not operator.startswith("!"))

    def text(self) -> str:
        """The matcher as Alertmanager and PromQL write it: `job="api"`."""
        if self.is_regex:
            operator = "=~" if self.is_equal else "!~"
        else:
            operator = "=" if self.is_equal else "!="
        return f"{self.name}{operator}{json.dumps(self.value, ensure_ascii=False)}"

    def api(self) -> dict[str, Any]:
        """The matcher in API v2's shape."""
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex,
                "isEqual": self.is_equal}  # fmt: skip


def alertmanager_of(ctx: ToolContext) -> AlertmanagerApi:
    """The configured Alertmanager, or `ToolError` saying how to configure one."""
    if ctx.alertmanager is None:
        raise ToolError("no Alertmanager is configured (set OPSBOT_ALERTMANAGER_URL)")
    return ctx.alertmanager


def _filters(matchers: list[str]) -> list[tuple[str, str]]:
    return [("filter", Matcher.parse(text).text()) for text in matchers]


class AlertmanagerAlertsInput(BaseModel):
    """Active alerts in Alertmanager."""

    matchers: list[str] = Field(
        default_factory=list,
        description=f"Label matchers, all must match: {MATCHER_HELP}; e.g. ['alertname=\"Down\"']",
    )
    include_silenced: bool = Field(default=True, description="Also silenced alerts")
    include_inhibited: bool = Field(default=True, description="Also inhibited alerts")


async def alertmanager_alerts(args: AlertmanagerAlertsInput, ctx: ToolContext) -> dict[str, Any]:
    """Active alerts matching every matcher: labels, annotations, state, since when, the
    silences or alerts muting them and their receivers (at most 50, with a count)."""
    api = alertmanager_of(ctx)
    params = [*_filters(args.matchers), ("active", "true"),
              ("silenced", str(args.include_silenced).lower()),
              ("inhibited", str(args.include_inhibited).lower())]  # fmt: skip
    found = await api.call("GET", "/api/v2/alerts", params)
    alerts = found if isinstance(found, list) else []
    shown = [{
        "labels": a.get("labels", {}), "annotations": a.get("annotations", {}),
        "state": (a.get("status") or {}).get("state"), "starts_at": a.get("startsAt"),
        "silenced_by": (a.get("status") or {}).get("silencedBy") or [],
        "inhibited_by": (a.get("status") or {}).get("inhibitedBy") or [],
        "receivers": [r.get("name") for r in a.get("receivers") or []],
        "generator_url": a.get("generatorURL"), "fingerprint": a.get("fingerprint"),
    } for a in alerts[:LIST_LIMIT]]  # fmt: skip
    answer: dict[str, Any] = {"alert_count": len(alerts), "alerts": shown}
    if len(alerts) > LIST_LIMIT:
        answer["note"] = f"{len(alerts) - LIST_LIMIT} alerts left out; add matchers"
    return answer


class AlertmanagerSilencesInput(BaseModel):
    """Silences in Alertmanager."""

    matchers: list[str] = Field(default_factory=list, description="Only silences with these "
                                f"exact matchers among theirs: {MATCHER_HELP}")  # fmt: skip
    include_expired: bool = Field(default=False, description="Also expired silences")


def silence_view(silence: dict[str, Any]) -> dict[str, Any]:
    """A silence for the model: id, state, matchers as text, start, end, author, comment."""
    matchers = [Matcher(m.get("name", ""), m.get("value", ""), bool(m.get("isRegex")),
                        m.get("isEqual", True) is not False).text()
                for m in silence.get("matchers") or []]  # fmt: skip
    return {"id": silence.get("id"), "state": (silence.get("status") or {}).get("state"),
            "matchers": matchers, "starts_at": silence.get("startsAt"),
            "ends_at": silence.get("endsAt"), "created_by": silence.get("createdBy"),
            "comment": silence.get("comment")}  # fmt: skip


async def alertmanager_silences(
    args: AlertmanagerSilencesInput, ctx: ToolContext
) -> dict[str, Any]:
    """Silences, active first, then pending (and expired when asked); at most 50."""
    api = alertmanager_of(ctx)
    found = await api.call("GET", "/api/v2/silences", _filters(args.matchers))
    silences = [silence_view(s) for s in (found if isinstance(found, list) else [])]
    if not args.include_expired:
        silences = [s for s in silences if s["state"] != "expired"]
    silences.sort(key=lambda s: (_STATE_ORDER.get(str(s["state"]), 3), str(s["ends_at"])))
    answer: dict[str, Any] = {"silence_count": len(silences), "silences": silences[:LIST_LIMIT]}
    if len(silences) > LIST_LIMIT:
        answer["note"] = f"{len(silences) - LIST_LIMIT} silences left out; add matchers"
    return answer


class CreateSilenceInput(BaseModel):
    """A new silence: which alerts, until when, and why."""

    matchers: list[str] = Field(min_length=1, description=f"Label matchers, all must match: "
                                f'{MATCHER_HELP}; e.g. [\'alertname="HighErrorRate"\', '
                                '\'job="api"\']')  # fmt: skip
    duration: str | float | None = Field(
        default=None, description=f"How long from when it is approved: {DURATION_HELP}"
    )
    ends_at: str | float | None = Field(default=None, description=f"Or when it ends: {TIME_HELP}")
    comment: str = Field(min_length=1, description="Why (shown in Alertmanager), e.g. the incident")

    @model_validator(mode="after")
    def _one_end(self) -> CreateSilenceInput:
        if (self.duration is None) == (self.ends_at is None):
            raise ValueError("give exactly one of duration (e.g. 2h) and ends_at")
        return self


def _silence_end(args: CreateSilenceInput, now: float) -> float:
    if args.duration is not None:
        return now + parse_duration(args.duration, "duration")
    assert args.ends_at is not None
    end = parse_time(args.ends_at, now, "ends_at")
    if end <= now:
        raise ToolError(f"ends_at={args.ends_at!r} ({rfc3339(end)}) is not in the future")
    return end


def create_silence_preview(args: CreateSilenceInput, ctx: ToolContext) -> str:
    """What the approval card shows: the server, every matcher, and until when."""
    api = alertmanager_of(ctx)
    matchers = [Matcher.parse(text) for text in args.matchers]
    now = time.time()
    end = _silence_end(args, now)
    if args.duration is not None:
        until = (f"{duration_text(end - now)} after approval (about {rfc3339(round(end))} if "
                 "approved now)")  # fmt: skip
    else:
        until = rfc3339(end)
    lines = [f"Silence alerts in Alertmanager at {api.base_url}",
             "matching all of:", *(f"  {m.text()}" for m in matchers),
             "from: when approved", f"until: {until}",
             f"comment: {args.comment}", f"created by: {CREATED_BY}"]  # fmt: skip
    return "\n".join(lines)


async def alertmanager_create_silence(args: CreateSilenceInput, ctx: ToolContext) -> dict[str, Any]:
    """Create the silence now (it starts at once); its id, matchers, start and end."""
    api = alertmanager_of(ctx)
    matchers = [Matcher.parse(text) for text in args.matchers]
    now = time.time()
    end = _silence_end(args, now)
    body = {"matchers": [m.api() for m in matchers], "startsAt": rfc3339(now),
            "endsAt": rfc3339(end), "createdBy": CREATED_BY, "comment": args.comment}  # fmt: skip
    created = await api.call("POST", "/api/v2/silences", body=body)
    silence_id = created.get("silenceID") if isinstance(created, dict) else None
    if not silence_id:
        raise ToolError(f"Alertmanager answered without a silenceID: {json.dumps(created)[:300]}")
    return {"silence_id": silence_id, "matchers": [m.text() for m in matchers],
            "starts_at": rfc3339(now), "ends_at": rfc3339(end),
            "url": f"{api.base_url}/#/silences/{silence_id}"}  # fmt: skip


ALERTMANAGER_TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "alertmanager_alerts",
        "List the alerts active in Alertmanager now, filtered by label matchers (all must "
        "match): labels, summary and description annotations, since when, whether silenced or "
        "inhibited and by what. Use it to see what is firing and which instances are affected.",
        AlertmanagerAlertsInput, Risk.READ, alertmanager_alerts,
    ),
    Tool(
        "alertmanager_silences",
        "List Alertmanager's silences (active and pending; expired on request): matchers, "
        "until when, who and why. Use it to check whether an alert is already muted.",
        AlertmanagerSilencesInput, Risk.READ, alertmanager_silences,
    ),
    Tool(
        "alertmanager_create_silence",
        "Create a silence in Alertmanager that mutes alerts matching all the matchers, from now "
        "for `duration` (or until `ends_at`), with a comment saying why. Needs a person's "
        "approval; silence only what is understood and being handled, as narrowly as possible.",
        CreateSilenceInput, Risk.WRITE, alertmanager_create_silence,
        preview=create_silence_preview,
    ),
)  # fmt: skip
