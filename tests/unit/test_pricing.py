"""Model prices by family and version, for the ids of every provider: a run's cost (and the
per-run and per-thread cost limits) depends on them."""

from __future__ import annotations

import pytest

from agents.pricing import cost_usd, price_for


@pytest.mark.parametrize("model", [
    "claude-opus-4-7", "claude-opus-4-8", "claude-opus-5", "claude-opus-4-6",
    "claude-opus-4-5-20251101", "anthropic.claude-opus-4-7", "anthropic.claude-opus-4-6-v1",
    "claude-opus-4-5@20251101",
])  # fmt: skip
def test_opus_4_5_and_later_cost_five_dollars_in_and_25_out(model: str) -> None:
    # priced as the first Opus models, a run on them cost three times what it did and hit
    # OPSBOT_MAX_RUN_COST_USD at a third of the budget
    price = price_for(model)
    assert (price.input, price.output, price.cache_write, price.cache_read) == (
        5.0, 25.0, 6.25, 0.50)  # fmt: skip
    assert cost_usd(model, 1_000_000, 0, 0, 1_000_000) == 5.5


@pytest.mark.parametrize("model", [
    "claude-opus-4-1", "claude-opus-4-20250514", "claude-opus-4-1@20250805",
    "claude-3-opus-20240229", "anthropic.claude-opus-4-1-20250805-v1:0",
])  # fmt: skip
def test_the_first_opus_models_keep_their_price(model: str) -> None:
    assert (price_for(model).input, price_for(model).output) == (15.0, 75.0)


@pytest.mark.parametrize(("model", "dollars_in"), [
    ("claude-3-5-haiku-20241022", 0.80),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", 0.80),
    ("claude-3-5-haiku@20241022", 0.80),
    ("claude-3-haiku-20240307", 0.25),
    ("claude-haiku-4-5", 1.0),
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", 1.0),
    ("claude-haiku-4-5@20251001", 1.0),
])  # fmt: skip
def test_haiku_ids_in_either_order_get_their_version_price(model: str, dollars_in: float) -> None:
    # the Claude 3.x ids put the version before the family (claude-3-5-haiku)
    assert price_for(model).input == dollars_in


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-3-7-sonnet-20250219",
                                   "qwen3-coder", "us.anthropic.claude-sonnet-4-6"])  # fmt: skip
def test_sonnet_and_unknown_models_cost_three_dollars_in(model: str) -> None:
    assert (price_for(model).input, price_for(model).output) == (3.0, 15.0)
