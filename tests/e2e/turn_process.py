"""A real opsbot engine process for crash tests: starts (or resumes) one run and waits for it.

With --approve it also approves every pending approval it finds in the database, as a person
clicking after a restart would.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlalchemy import select

from agents import service
from agents.approvals import PENDING
from agents.publisher import NullPublisher
from core.models import ApprovalRow
from core.settings import load_settings
from core.types import IncomingMessage, ThreadRef


async def approve_pending(stop: asyncio.Event) -> None:
    """Approve every pending approval until told to stop."""
    from agents.runtime import current_engine

    engine = current_engine()
    while not stop.is_set():
        pending = await engine.db.run(
            lambda s: s.scalars(select(ApprovalRow.id).where(ApprovalRow.status == PENDING)).all()
        )
        for approval_id in pending:
            await service.submit_decision(approval_id, True, "U_AFTER_RESTART")
        await asyncio.sleep(0.05)


async def main(args: argparse.Namespace) -> int:
    settings = load_settings(
        _env_file=None, database_url=args.db, anthropic_api_key="sk-test",
        anthropic_base_url=args.model_url, workspace=Path(args.workspace),
        log_sources=["logs/*.log"], poll_interval_s=0.05, model_retry_interval_s=0.01,
    )  # fmt: skip
    await service.launch(settings, NullPublisher())
    stop = asyncio.Event()
    approver = asyncio.create_task(approve_pending(stop)) if args.approve else None
    try:
        thread = ThreadRef(team="T_E2E", channel="C_E2E", thread_ts=args.ts)
        handle = await service.start_turn(thread, IncomingMessage(ts=args.ts, text="run it"))
        print("started", flush=True)
        outcome = await handle.get_result()
        print(f"outcome {outcome}", flush=True)
    finally:
        stop.set()
        if approver is not None:
            await approver
        service.shutdown()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--model-url", required=True)
    parser.add_argument("--ts", required=True)
    parser.add_argument("--approve", action="store_true")
    sys.exit(asyncio.run(main(parser.parse_args())))
