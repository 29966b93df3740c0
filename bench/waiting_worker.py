"""The worker process of the waiting benchmark, driven line by line on stdin:

`python -m bench.waiting_worker DB_URL MODEL_URL WORKDIR COUNT` launches the engine and says
`ready`; `start` enqueues COUNT runs that each pause on an approval (`paused <s>` when all
wait); `approve` decides them all (`drained <s>` when all finished); `stop` shuts down.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from agents import service
from agents.events import ApprovalRequested, RunEvent, RunFinished
from bench.harness import engine_settings, new_message

DECIDE_AT_ONCE = 200


class Counting:
    """Counts approvals requested and runs finished; keeps the approval ids."""

    def __init__(self) -> None:
        self.approvals: list[str] = []
        self._seen: set[str] = set()
        self.finished = 0
        self.changed = asyncio.Event()

    async def publish(self, event: RunEvent) -> None:
        """Count the two events the benchmark waits on."""
        if isinstance(event, ApprovalRequested):
            if event.approval_id not in self._seen:  # a retried step may announce it again
                self._seen.add(event.approval_id)
                self.approvals.append(event.approval_id)
            self.changed.set()
        elif isinstance(event, RunFinished):
            self.finished += 1
            self.changed.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until `condition()` holds."""
        while not condition():
            self.changed.clear()
            await self.changed.wait()


async def _line() -> str:
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


async def main(url: str, model_url: str, workdir: Path, count: int) -> None:
    """Follow the commands; print one line per phase."""
    workspace = workdir / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    counts = Counting()
    settings = engine_settings(url, workspace, model_url, poll_interval_s=1.0,
                               no_self_approval="none", approval_timeout_s=86400)  # fmt: skip
    await service.launch(settings, counts)
    print("ready", flush=True)
    handles = []
    while (command := await _line()) != "stop":
        started = time.perf_counter()
        if command == "start":
            for _ in range(count):
                thread, message = new_message("run the command")
                handles.append(await service.start_turn(thread, message))
            await counts.until(lambda: len(counts.approvals) + counts.finished >= count)
            print(f"paused {time.perf_counter() - started:.2f}", flush=True)
        elif command == "approve":
            pending = list(counts.approvals)
            for cut in range(0, len(pending), DECIDE_AT_ONCE):
                await asyncio.gather(*(service.submit_decision(a, True, "U_LEAD")
                                       for a in pending[cut : cut + DECIDE_AT_ONCE]))  # fmt: skip
            await counts.until(lambda: counts.finished >= count)
            drained = time.perf_counter() - started
            await asyncio.gather(*(handle.get_result() for handle in handles))
            print(f"drained {drained:.2f}", flush=True)
    await service.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])))
