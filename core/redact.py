"""Secret redaction: applied to tool output before the model and to model output before people."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

_PATTERNS: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    ("aws_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("slack_token", r"\bxox[abposr]-[0-9A-Za-z-]{10,}"),
    ("slack_app_token", r"\bxapp-[0-9A-Za-z-]{10,}"),
    ("github_token", r"\b(?:gh[pousr]_[0-9A-Za-z]{30,}|github_pat_[0-9A-Za-z_]{40,})"),
    ("anthropic_key", r"\bsk-ant-[0-9A-Za-z_-]{20,}"),
    ("openai_key", r"\bsk-(?:proj-)?[0-9A-Za-z_-]{32,}"),
    ("jwt", r"\beyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}"),
    ("bearer", r"(?i)\bbearer\s+(?P<secret>[0-9A-Za-z._~+/=-]{16,})"),
    ("url_password", r"://[^\s:/@]+:(?P<secret>[^\s@/]+)@"),
    (
        "secret_value",
        r"(?i)\b(?:password|passwd|secret|token|api_key|apikey)\s*[=:]\s*(?P<secret>[^\s&,;\"']{4,})",
    ),
    (  # a pair named like a credential inside a longer name: AWS_SECRET_ACCESS_KEY=, db.password:
        "secret_value",
        r"(?i)(?<!REDACTED:)\b[\w.-]*(?:secret|passw(?:or)?d|private_?key|access_?key|credential|auth_?token"
        r"|access_?token|refresh_?token)[\w.-]*\s*[=:]\s*(?!\[REDACTED)(?P<secret>[^\s&,;\"']{4,})",
    ),
)


@dataclass
class Redactor:
    """Replaces secrets with stable placeholders such as `[REDACTED:aws_key:1]`."""

    extra_patterns: Iterable[tuple[str, str]] = ()
    own_secrets: Iterable[str] = ()
    _compiled: list[tuple[str, re.Pattern[str]]] = field(init=False)
    _seen: dict[str, str] = field(init=False, default_factory=dict)
    _counts: dict[str, int] = field(init=False, default_factory=dict)
    _seen_pattern: re.Pattern[str] | None = field(init=False, default=None)
    _seen_size: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        own = sorted({s for s in self.own_secrets if s and len(s) >= 8}, key=len, reverse=True)
        literal = [("own_secret", "|".join(map(re.escape, own)))] if own else []
        patterns = (*literal, *_PATTERNS, *self.extra_patterns)
        self._compiled = [(kind, re.compile(rx)) for kind, rx in patterns]

    def _placeholder(self, kind: str, secret: str) -> str:
        if secret not in self._seen:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            self._seen[secret] = f"[REDACTED:{kind}:{self._counts[kind]}]"
        return self._seen[secret]

    def redact(self, text: str) -> str:
        """Return `text` with every known secret replaced by its placeholder."""
        for kind, pattern in self._compiled:
            text = pattern.sub(functools.partial(self._replace, kind), text)
        return self._redact_seen(redact_env_values(text, self._placeholder))

    def _redact_seen(self, text: str) -> str:
        """Any secret redacted before, wherever it appears again (a model quoting it in prose,
        without the `NAME=` that gave it away), gets its placeholder."""
        if len(self._seen) != self._seen_size:
            literals = sorted((s for s in self._seen if len(s) >= 8), key=len, reverse=True)
            alternatives = "|".join(map(re.escape, literals))
            self._seen_pattern = re.compile(alternatives) if literals else None
            self._seen_size = len(self._seen)
        if self._seen_pattern is None:
            return text
        return self._seen_pattern.sub(lambda match: self._seen[match.group(0)], text)

    def _replace(self, kind: str, match: re.Match[str]) -> str:
        if "secret" not in match.re.groupindex:
            return self._placeholder(kind, match.group(0))
        start, end = match.span("secret")
        whole = match.group(0)
        offset = match.start()
        secret = whole[start - offset : end - offset]
        return whole[: start - offset] + self._placeholder(kind, secret) + whole[end - offset :]


def _entropy(value: str) -> float:
    counts = {char: value.count(char) for char in set(value)}
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


_ENV_LINE = re.compile(
    r"(?m)^(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]*[=:][ \t]*"
    r"(?P<secret>[A-Za-z0-9+/=_.\-]{20,})[ \t]*$"
)
_SECRET_NAME = re.compile(r"(?i)key|secret|token|pass|credential|auth|private|signature|cookie")


def redact_env_values(text: str, placeholder: Callable[[str, str], str]) -> str:
    """Values of `NAME=value` lines that are named like secrets or look random (high entropy)."""

    def replace(match: re.Match[str]) -> str:
        value = match.group("secret")
        if _SECRET_NAME.search(match.group("name")) or _entropy(value) >= 4.0:
            start, end = match.span("secret")
            line_start = match.start()
            whole = match.group(0)
            return (whole[: start - line_start] + placeholder("env_secret", value)
                    + whole[end - line_start :])  # fmt: skip
        return match.group(0)

    return _ENV_LINE.sub(replace, text)


def redact(text: str) -> str:
    """Redact `text` with the shipped patterns."""
    return Redactor().redact(text)


class StreamRedactor:
    """Redacts text that arrives in pieces: holds back the unfinished last word until it ends."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._pending = ""

    def feed(self, piece: str) -> str:
        """Add a piece; return the redacted text that is safe to show now (may be empty)."""
        self._pending += piece
        cut = max(self._pending.rfind(" "), self._pending.rfind("\n"))
        if cut < 0 or "-----BEGIN" in self._pending:
            return ""
        ready, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
        return self._redactor.redact(ready)

    def flush(self) -> str:
        """Return whatever is still held back, redacted."""
        rest, self._pending = self._pending, ""
        return self._redactor.redact(rest)
