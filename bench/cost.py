"""Cost: the bundled investigations with and without prompt caching, measured in one run.

Each bundled incident's eval case (evals/cases/<incident>.yaml: a whole thread through the
local Slack workspace, `opsbot serve` in process, the scripted model) runs twice: with prompt
caching (the default) and with OPSBOT_MODEL_FEATURES leaving it out (no cache markers). From
each run's recorded model calls: billed input-token equivalents (uncached input + 1.25 x
cache writes + 0.1 x cache reads: the documented 5-minute prices,
platform.claude.com/docs/en/build-with-claude/prompt-caching) and dollars (agents/pricing.py).
Tokens are the scripted model's count (4 characters a token) under the documented cache
rules (sandbox/model/prompt_cache.py), so the ratio, not the absolute dollars, is the result.
Target: caching costs at least 50 % less.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from bench.harness import ROOT, table
from core.db import sqlalchemy_url
from core.models import LlmCallRow
from evals.cases import load_case
from evals.runner import ModelAccess, run_case

INCIDENTS = ("checkout-500", "payments-timeout", "bad-deploy", "disk-full", "latency-spike")
SMOKE = ("checkout-500",)
WRITE, READ = 1.25, 0.10
"""Cache writes and reads as multiples of the input price (5-minute cache)."""
TARGET = 0.5


@contextlib.contextmanager
def _features(value: str | None) -> Iterator[None]:
    """OPSBOT_MODEL_FEATURES for the bot the case starts (read from the environment)."""
    before = os.environ.get("OPSBOT_MODEL_FEATURES")
    if value is None:
        os.environ.pop("OPSBOT_MODEL_FEATURES", None)
    else:
        os.environ["OPSBOT_MODEL_FEATURES"] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OPSBOT_MODEL_FEATURES", None)
        else:
            os.environ["OPSBOT_MODEL_FEATURES"] = before


def _billed(database: Path) -> dict[str, Any]:
    engine = create_engine(sqlalchemy_url(f"sqlite:///{database}"))
    try:
        with engine.connect() as connection:
            calls = connection.execute(select(
                LlmCallRow.input_tokens, LlmCallRow.cache_write_tokens,
                LlmCallRow.cache_read_tokens, LlmCallRow.output_tokens, LlmCallRow.cost_usd,
            )).all()  # fmt: skip
    finally:
        engine.dispose()
    uncached = sum(c[0] for c in calls)
    written, read = sum(c[1] for c in calls), sum(c[2] for c in calls)
    return {
        "calls": len(calls), "prompt_tokens": uncached + written + read,
        "cache_read_tokens": read, "cache_write_tokens": written,
        "billed_input_tokens": round(uncached + WRITE * written + READ * read),
        "output_tokens": sum(c[3] for c in calls),
        "usd": round(sum(c[4] for c in calls), 6),
    }  # fmt: skip


async def _measure(incident: str, caching: bool, work: Path) -> dict[str, Any] | str:
    """One incident's case, cached or not; its billed usage, or why it did not run."""
    case = load_case(ROOT / "evals" / "cases" / f"{incident}.yaml")
    with _features(None if caching else "token-counting"):
        seen = await run_case(case, ModelAccess(mode="scripted"), work)
    if seen.error is not None:
        return seen.error
    return _billed(work / "opsbot.sqlite")


def run(smoke: bool) -> list[dict[str, Any]]:
    """Each incident with and without caching; one row per incident."""
    rows = []
    for incident in SMOKE if smoke else INCIDENTS:
        row: dict[str, Any] = {"incident": incident}
        for caching in (False, True):
            work = Path(tempfile.mkdtemp(prefix=f"opsbot-cost-{incident}-"))
            try:
                measured = asyncio.run(_measure(incident, caching, work))
            finally:
                shutil.rmtree(work, ignore_errors=True)
            label = "cached" if caching else "uncached"
            if isinstance(measured, str):
                row["skipped"] = f"{label}: {measured}"
                break
            row[label] = measured
        if "cached" in row:
            row["billed_ratio"] = round(
                row["cached"]["billed_input_tokens"]
                / max(row["uncached"]["billed_input_tokens"], 1),
                3,
            )
            row["usd_ratio"] = round(row["cached"]["usd"] / max(row["uncached"]["usd"], 1e-9), 3)
        rows.append(row)
    if not any("cached" in r for r in rows):
        raise RuntimeError(f"no incident could be measured: {rows}")
    return rows


def report(rows: list[dict[str, Any]]) -> str:
    """The table: per incident, billed input tokens and dollars each way, and the ratios."""
    lines = []
    done = [r for r in rows if "cached" in r]
    for row in done:
        off, on = row["uncached"], row["cached"]
        lines.append([row["incident"], on["calls"], off["billed_input_tokens"],
                      on["billed_input_tokens"], row["billed_ratio"], f"${off['usd']:.4f}",
                      f"${on['usd']:.4f}", row["usd_ratio"],
                      f"{on['cache_read_tokens'] / max(on['prompt_tokens'], 1):.0%}"])  # fmt: skip
    billed = (sum(r["cached"]["billed_input_tokens"] for r in done)
              / max(sum(r["uncached"]["billed_input_tokens"] for r in done), 1))  # fmt: skip
    usd = sum(r["cached"]["usd"] for r in done) / max(sum(r["uncached"]["usd"] for r in done),
                                                     1e-9)  # fmt: skip
    lines.append(["all", "", "", "", round(billed, 3), "", "", round(usd, 3), ""])
    text = table(["incident", "calls", "billed in, uncached", "billed in, cached", "ratio",
                  "$ uncached", "$ cached", "$ ratio", "read share"], lines)  # fmt: skip

    def verdict(ratio: float) -> str:
        return "met" if ratio <= 1 - TARGET else "missed"

    skipped = "".join(f"\nskipped {r['incident']}: {r['skipped']}" for r in rows
                      if "skipped" in r)  # fmt: skip
    return (
        f"{text}\ncaching: {1 - billed:.0%} less in billed input tokens (target >= "
        f"{TARGET:.0%} less: {verdict(billed)}); {1 - usd:.0%} less in dollars, output "
        f"included (output is never cached: {verdict(usd)}){skipped}"
    )
