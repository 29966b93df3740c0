"""A bundled incident tried again on the page starts from its original files, unless a run of
it has not finished (then its files stay and the page says so), against a real `opsbot dev`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.model.scenario import SCENARIOS_DIR
from tests.e2e.dev_process import CHANNEL, Dev, running_dev
from tests.e2e.test_make_dev import approve, card

pytestmark = pytest.mark.e2e


async def start(dev: Dev, name: str) -> str:
    """Post the scenario's prompt as the page's picker does; the thread's root ts."""
    state = await dev.get("/_sandbox/state")
    prompt = next(s["prompt"] for s in state["scenarios"] if s["name"] == name)
    posted = await dev.post("/_sandbox/post", {"user": "U0ONCALL", "channel": CHANNEL,
                                               "text": f"<@U0BOT> {prompt}"})  # fmt: skip
    return str(posted["ts"])


async def finished(dev: Dev, root: str) -> list[dict[str, Any]]:
    async def done() -> list[dict[str, Any]] | None:
        runs = (await dev.get("/_sandbox/runs", thread=f"T0SANDBOX:{CHANNEL}:{root}"))["runs"]
        return runs if runs and all(r["finished_at"] for r in runs) else None

    return list(await dev.until(done, 90))


def original(name: str, relative: str) -> bytes:
    return (SCENARIOS_DIR / name / "workspace" / relative).read_bytes()


async def test_an_incident_tried_again_starts_from_its_original_files(tmp_path: Path) -> None:
    workspace = tmp_path / "dev" / "workspace"
    async with running_dev(tmp_path / "dev") as dev:
        # the reviewer's input: a bundled incident fixed, then run again
        first = await start(dev, "payments-timeout")
        await approve(dev, first, "write_file")
        await approve(dev, first, "shell_execute")
        await finished(dev, first)
        config = workspace / "payments/config.json"
        assert config.read_bytes() != original("payments-timeout", "payments/config.json")
        again = await dev.post("/_sandbox/fresh_incident", {"name": "payments-timeout"})
        assert again["ok"]
        assert again["fresh"]
        assert again["restored"] == ["payments/config.json"]
        assert "starts from its original files" in again["note"]
        assert config.read_bytes() == original("payments-timeout", "payments/config.json")
        second = await start(dev, "payments-timeout")
        await approve(dev, second, "write_file")
        await approve(dev, second, "shell_execute")
        await finished(dev, second)

        async def answered() -> str | None:
            said = " ".join(m["text"] for m in await dev.thread(second))
            return said if "Fixed." in said else None

        said = await dev.until(answered)  # the answer starts "Fixed." again, a real fix
        assert "already holds" not in said

        # a file a run deleted comes back (disk-full deletes rotated logs)
        rotated = workspace / "ingest/spool/ingest.debug.log.1"
        rotated.unlink()
        picked = await dev.post("/_sandbox/fresh_incident", {"name": "disk-full"})
        assert picked["fresh"]
        assert "ingest/spool/ingest.debug.log.1" in picked["restored"]
        assert rotated.read_bytes() == original("disk-full", "ingest/spool/ingest.debug.log.1")

        # a run of the scenario still waits for approval: its files stay, and the note says so
        waiting = await start(dev, "checkout-500")

        async def carded() -> dict[str, Any] | None:
            return card(await dev.thread(waiting), "write_file")

        await dev.until(carded)
        pricing = workspace / "checkout/pricing.py"
        pricing.write_text(pricing.read_text() + "\n# changed while the run waits\n")
        kept = await dev.post("/_sandbox/fresh_incident", {"name": "checkout-500"})
        assert kept["ok"]
        assert not kept["fresh"]
        assert "still running in an earlier thread" in kept["note"]
        assert "changed while the run waits" in pricing.read_text()
        other = await dev.post("/_sandbox/fresh_incident", {"name": "payments-timeout"})
        assert other["fresh"], "another scenario's waiting run does not hold this one"

        unknown = await dev.post("/_sandbox/fresh_incident", {"name": "../../etc"})
        assert unknown == {"ok": False, "error": "unknown_scenario"}
