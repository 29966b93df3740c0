"""Model prices (USD per million tokens) and the cost of one call."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


_FAMILIES: tuple[tuple[str, Price], ...] = (
    ("opus-4-5", Price(5.0, 25.0, 6.25, 0.50)),
    ("opus-4-6", Price(5.0, 25.0, 6.25, 0.50)),
    ("opus", Price(15.0, 75.0, 18.75, 1.50)),
    ("sonnet", Price(3.0, 15.0, 3.75, 0.30)),
    ("haiku-4", Price(1.0, 5.0, 1.25, 0.10)),
    ("haiku-3-5", Price(0.80, 4.0, 1.0, 0.08)),
    ("haiku", Price(0.25, 1.25, 0.30, 0.03)),
)
UNKNOWN_MODEL_PRICE = Price(3.0, 15.0, 3.75, 0.30)


def price_for(model: str) -> Price:
    """The price of a model, by family; unknown models are priced like a Sonnet."""
    name = model.lower()
    for family, price in _FAMILIES:
        if family in name:
            return price
    return UNKNOWN_MODEL_PRICE


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
