"""The Redactor: finds secrets with every rule, replaces them with stable placeholders and
remembers them (bounded, per run) so a secret quoted later in prose is hidden too."""

from __future__ import annotations

import copy
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.redaction.blocks import jwt_hits, kubernetes_hits, pem_hits
from core.redaction.hits import Hit, choose
from core.redaction.judge import identifier_like, placeholder
from core.redaction.keyed import keyed_hits
from core.redaction.vendors import vendor_hits

_MIN_REMEMBERED = 8  # shorter values are too likely to be ordinary words elsewhere


@dataclass
class Redactor:
    """Replaces secrets with stable placeholders such as `[REDACTED:aws_key:1]`.

    `extra_patterns` are (kind, regex) pairs; a regex with a `secret` group hides only that
    group. `own_secrets` are literal values (the bot's own tokens) hidden wherever they appear.
    `memory_size` bounds how many redacted values are remembered (least recently used go first).
    """

    extra_patterns: Iterable[tuple[str, str]] = ()
    own_secrets: Iterable[str] = ()
    memory_size: int = 512
    _extra: tuple[tuple[str, re.Pattern[str]], ...] = field(init=False, repr=False)
    _own: re.Pattern[str] | None = field(init=False, default=None, repr=False)
    _seen: OrderedDict[str, str] = field(init=False, default_factory=OrderedDict, repr=False)
    _counts: dict[str, int] = field(init=False, default_factory=dict, repr=False)
    _seen_pattern: re.Pattern[str] | None = field(init=False, default=None, repr=False)
    _seen_dirty: bool = field(init=False, default=False, repr=False)

    def __post_init__(self) -> None:
        self.extra_patterns = tuple(self.extra_patterns)
        self.own_secrets = tuple(self.own_secrets)
        self._extra = tuple((kind, re.compile(rx)) for kind, rx in self.extra_patterns)
        own = sorted({s for s in self.own_secrets if s and len(s) >= 8}, key=len, reverse=True)
        self._own = re.compile("|".join(map(re.escape, own))) if own else None

    def for_run(self) -> Redactor:
        """A child for one run: the same compiled patterns, its own empty memory and numbering."""
        child = copy.copy(self)
        child._seen, child._counts = OrderedDict(), {}
        child._seen_pattern, child._seen_dirty = None, False
        return child

    def redact(self, text: str) -> str:
        """Return `text` with every secret replaced by its placeholder."""
        return self.redact_after("", text)

    def redact_after(self, context: str, text: str) -> str:
        """Redact `text` as it reads after `context` (already shown): a key at the end of the
        context marks a value at the start of `text`. Returns the redacted `text` only."""
        whole = context + text
        hits = self._hits(whole)
        if self._seen:
            hits = choose(hits + self._seen_hits(whole))
        out, at = [], len(context)
        for hit in hits:
            if hit.end <= at:
                continue
            start = max(hit.start, at)
            out.append(whole[at:start])
            out.append(self._placeholder(hit.kind, whole[hit.start : hit.end]))
            at = hit.end
        out.append(whole[at:])
        return "".join(out)

    def mask_preview(self, text: str) -> str:
        """Mask single-line secret values in an approval-card preview, never code or content.

        Only values of a known vendor shape, values after a credential key that hold no
        character a shell or config would act on, and whole valid private key blocks are
        masked (as `[MASKED:kind]`). No memory of earlier secrets is used or changed.
        """
        hits: list[Hit] = [*vendor_hits(text, single_line_only=True), *jwt_hits(text, True),
                           *keyed_hits(text, preview=True), *pem_hits(text, preview=True),
                           *self._literal_hits(text, single_line_only=True)]  # fmt: skip
        out, at = [], 0
        for hit in choose(hits):
            out.append(text[at : hit.start] + f"[MASKED:{hit.kind}]")
            at = hit.end
        return "".join(out) + text[at:]

    def _literal_hits(self, text: str, single_line_only: bool = False) -> list[Hit]:
        hits = [Hit(*m.span(), "own_secret") for m in self._own.finditer(text)] if self._own else []
        for kind, pattern in self._extra:
            for match in pattern.finditer(text):
                group = "secret" if "secret" in pattern.groupindex else 0
                if not (single_line_only and "\n" in match.group(group)):
                    hits.append(Hit(*match.span(group), kind))
        return hits

    def _hits(self, text: str) -> list[Hit]:
        found = [*self._literal_hits(text), *vendor_hits(text), *pem_hits(text), *jwt_hits(text),
                 *kubernetes_hits(text), *keyed_hits(text)]  # fmt: skip
        return choose([hit for hit in found if not placeholder(text[hit.start : hit.end])])

    def _seen_hits(self, text: str) -> list[Hit]:
        if self._seen_dirty or self._seen_pattern is None:
            literals = sorted(self._seen, key=len, reverse=True)
            self._seen_pattern = re.compile("|".join(map(re.escape, literals)))
            self._seen_dirty = False
        return [Hit(*match.span(), "seen") for match in self._seen_pattern.finditer(text)]

    def _placeholder(self, kind: str, secret: str) -> str:
        known = self._seen.get(secret)
        if known is not None:
            self._seen.move_to_end(secret)
            return known
        self._counts[kind] = self._counts.get(kind, 0) + 1
        label = f"[REDACTED:{kind}:{self._counts[kind]}]"
        if len(secret) >= _MIN_REMEMBERED and not identifier_like(secret):
            self._seen[secret] = label
            self._seen_dirty = True
            while len(self._seen) > self.memory_size:
                self._seen.popitem(last=False)
        return label


def redact(text: str) -> str:
    """Redact `text` with the shipped rules and a fresh memory."""
    return Redactor().redact(text)
