"""Model prices (USD per million tokens) and the cost of one call."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


LEGACY_OPUS = Price(15.0, 75.0, 18.75, 1.50)
"""Claude 3 Opus, Opus 4 and 4.1."""
OPUS = Price(5.0, 25.0, 6.25, 0.50)
"""Opus 4.5 and later (4.6, 4.7, 4.8, 5)."""
SONNET = Price(3.0, 15.0, 3.75, 0.30)
HAIKU_4 = Price(1.0, 5.0, 1.25, 0.10)
HAIKU_3_5 = Price(0.80, 4.0, 1.0, 0.08)
HAIKU_3 = Price(0.25, 1.25, 0.30, 0.03)
UNKNOWN_MODEL_PRICE = SONNET

_VERSION = r"(?P<major>[0-9]{1,2})(?![0-9])(?:[-.](?P<minor>[0-9])(?![0-9]))?"
"""A model version in an id: 4, 4-5, 4.1 (a date after it, -20250514, is not a minor)."""


def family_version(model: str) -> tuple[str, tuple[int, int] | None] | None:
    """The family (`opus`, `sonnet`, `haiku`) of a model id of any provider, with its version
    when the id names one, in the new order (`claude-opus-4-5`, `us.anthropic.claude-haiku-4-5
    -20251001-v1:0`, `claude-opus-4-1@20250805`) or the old (`claude-3-5-haiku-20241022`);
    None for another model."""
    name = model.lower()
    for family in ("opus", "sonnet", "haiku"):
        if family not in name:
            continue
        found = re.search(rf"{family}-{_VERSION}", name) or re.search(
            rf"claude-{_VERSION}-{family}", name)  # fmt: skip
        if found is None:
            return family, None
        return family, (int(found["major"]), int(found["minor"] or 0))
    return None


def price_for(model: str) -> Price:
    """The price of a model, by family and version; unknown models are priced like a Sonnet.
    Opus 4.5 and later cost a third of the earlier Opus models."""
    found = family_version(model)
    if found is None:
        return UNKNOWN_MODEL_PRICE
    family, version = found
    if family == "opus":
        return OPUS if version is not None and version >= (4, 5) else LEGACY_OPUS
    if family == "haiku":
        if version is None or version < (3, 5):
            return HAIKU_3
        return HAIKU_3_5 if version < (4, 0) else HAIKU_4
    return SONNET


def cost_usd(
    model: str, input_tokens: int, output_tokens: int, cache_write: int = 0, cache_read: int = 0
) -> float:
    """The cost of one call in USD."""
    price = price_for(model)
    total = (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_write * price.cache_write
        + cache_read * price.cache_read
    )
    return round(total / 1_000_000, 6)


def cached_share(cache_read_tokens: int, prompt_tokens: int) -> str:
    """How much of a prompt the cache served, as a footer says it: " (81% cached)"; "" when
    nothing was read from the cache."""
    if cache_read_tokens <= 0 or prompt_tokens <= 0:
        return ""
    return f" ({min(cache_read_tokens / prompt_tokens, 1.0):.0%} cached)"
