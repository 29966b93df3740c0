"""What the `opsbot` subcommands do: `ask` runs one turn in the terminal (the same engine
Slack uses); `serve`, `dev`, and the read commands (`audit`, `runs show|list`, `workers`).
Arguments: `bot.cli_parser`; the entry point: `bot.cli`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from agents import service
from agents.approvals import DecisionOutcome
from agents.events import ApprovalRequested
from agents.model_provider import provider_problems
from agents.outcomes import ANSWERED
from bot.cli_parser import parser
from bot.read_database import read_settings
from bot.terminal import TerminalPublisher
from core.errors import ConfigError
from core.settings import Settings, load_settings
from core.types import IncomingMessage, ThreadRef

NO_KEY = (
    "error: ANTHROPIC_API_KEY is not set, so opsbot has no model to talk to. "
    "Set it, or try `opsbot ask --demo` to run the bundled incident against the scripted model."
)


async def _decide(request: ApprovalRequested, auto_yes: bool) -> tuple[bool, str | None]:
    if auto_yes:
        print("   approved automatically (--yes)")
        return True, None
    try:
        answer = await asyncio.to_thread(input, "Approve? [y/N] ")
    except EOFError:
        return False, "no answer (input closed)"
    approved = answer.strip().lower() in ("y", "yes")
    reason = None
    if not approved:
        try:
            reason = (await asyncio.to_thread(input, "Reason (optional): ")).strip() or None
        except EOFError:
            reason = None
    return approved, reason


async def _answer_approvals(publisher: TerminalPublisher, auto_yes: bool, user: str) -> None:
    while True:
        request = await publisher.approvals.get()
        approved, reason = await _decide(request, auto_yes)
        result = await service.submit_decision(request.approval_id, approved, user, reason)
        print(f"   {result.message}")
        if result.outcome is DecisionOutcome.PARTIAL:  # one terminal user is one approver
            why = "two approvers are needed; the terminal has only one"
            result = await service.submit_decision(request.approval_id, False, user, why)
            print(f"   {result.message}")


async def run_ask(settings: Settings, text: str, auto_yes: bool, user: str = "terminal") -> int:
    """Run one turn with live output; returns the process exit code."""
    ts = f"{time.time():.6f}"
    thread = ThreadRef(team="local", channel="terminal", thread_ts=ts)
    message = IncomingMessage(ts=ts, text=text, user=user)
    publisher = TerminalPublisher(message.run_id(thread))
    engine = await service.launch(settings, publisher)
    print(f"commands: {engine.sandbox}", flush=True)
    for line in engine.mcp.start_lines() if engine.mcp is not None else ():
        print(line, flush=True)
    try:
        handle = await service.start_turn(thread, message)
        answering = asyncio.create_task(_answer_approvals(publisher, auto_yes, user))
        try:
            outcome = await handle.get_result()
        finally:
            answering.cancel()
    finally:
        await service.stop()
    return 0 if outcome in ANSWERED else 1


def _prepare_demo(scenario_name: str, root: Path) -> Path:
    """A fresh copy of the scenario's workspace and logs under `root` (kept for inspection)."""
    from sandbox.model.scenario import SCENARIOS_DIR

    root.mkdir(parents=True, exist_ok=True)
    source = SCENARIOS_DIR / scenario_name
    workspace = root / "workspace"
    if workspace.exists():
        shutil.rmtree(workspace)
    shutil.copytree(source / "workspace", workspace)
    shutil.copytree(source / "logs", workspace / "logs")
    return workspace


async def run_demo(args: argparse.Namespace) -> int:
    """`opsbot ask --demo`: the bundled scenario against the in-process scripted model."""
    from sandbox.mcp.config import own_config_note, write_mcp_config
    from sandbox.model.scenario import load_scenario  # the sandbox serves the demo only
    from sandbox.model.server import start_model_server

    scenario = load_scenario(args.scenario)
    if not args.yes:  # pace the stream like a real model when a person watches
        scenario = dataclasses.replace(
            scenario, latency_ms=scenario.latency_ms or 300,
            tokens_per_second=scenario.tokens_per_second or 60,
        )  # fmt: skip
    root = Path(args.demo_dir)
    workspace = await asyncio.to_thread(_prepare_demo, scenario.name, root)
    extra: dict[str, Path] = {}
    if os.environ.get("OPSBOT_MCP_CONFIG"):  # the operator's own servers win
        if note := own_config_note([scenario.name]):
            print(f"opsbot ask --demo: {note}", file=sys.stderr, flush=True)
    else:
        # the scenario's MCP servers (bad-deploy: deploys), their state fresh in the demo dir
        written = await asyncio.to_thread(write_mcp_config, root, [scenario.name], True)
        if written is not None:
            extra["mcp_config"] = written
    server = await start_model_server(scenario)
    try:
        settings = load_settings(
            anthropic_api_key="scripted-model",
            anthropic_base_url=server.url,
            workspace=workspace,
            log_sources=["logs/*.log"],
            database_url=f"sqlite:///{root / 'opsbot.sqlite'}",
            poll_interval_s=0.2,
            **extra,
        )
        print(f"demo: scenario {scenario.name!r}, workspace {workspace}")
        if "mcp_config" in extra:
            print(f"demo: MCP servers from {extra['mcp_config']}")
        return await run_ask(settings, args.text or scenario.prompt, args.yes)
    finally:
        await server.stop()


def print_audit(settings: Settings, run: str | None, limit: int) -> int:
    """`opsbot audit`: the newest decisions and attempts first."""
    from agents import audit
    from core import migrate
    from core.db import Database, make_engine

    database = Database(make_engine(settings.database_url))
    migrate.upgrade(database.engine)
    rows = database.transact(lambda s: audit.entries(s, run, limit))
    database.dispose()
    print(audit.table(rows) if rows else "the audit log is empty")
    return 0


def _never_ran(error: DBAPIError) -> bool:
    """Whether `error` says DBOS's tables are missing: nothing has run on this database."""
    return "workflow_status" in str(error.orig) or "workflow_status" in str(error.statement)


def show_run(settings: Settings, run_id: str) -> int:
    """`opsbot runs show RUN`: trace id, outcome and the steps as a text waterfall."""
    from dbos import DBOSClient

    from agents.queries import step_lines, trace_id_hex, waterfall
    from core.db import plain_url

    client = DBOSClient(system_database_url=plain_url(settings.database_url))
    try:
        found = client.list_workflows(workflow_ids=[run_id], load_input=False, load_output=False)
        steps = client.list_workflow_steps(run_id, load_output=False) if found else []
    except DBAPIError as error:
        if not _never_ran(error):
            raise
        found, steps = [], []
    finally:
        client.destroy()
    if not found:
        print(f"error: no run {run_id}", file=sys.stderr)
        return 1
    print(f"run {run_id}: {found[0].status}")
    print(f"trace {trace_id_hex(run_id)}")
    print(f"feedback {_feedback_of(settings, run_id)}")
    print(waterfall(step_lines(steps)))
    return 0


def _feedback_of(settings: Settings, run_id: str) -> str:
    """The 👍/👎 counts of one run, as text."""
    from agents import feedback
    from core import migrate
    from core.db import Database, make_engine

    database = Database(make_engine(settings.database_url))
    migrate.upgrade(database.engine)
    found = database.transact(lambda s: feedback.counts(s, [run_id]))
    database.dispose()
    return feedback.counts_text(found.get(run_id))


def list_runs(settings: Settings, limit: int) -> int:
    """`opsbot runs list`: the newest runs with status, outcome and 👍/👎 counts."""
    from agents import feedback
    from core import migrate
    from core.db import Database, make_engine

    database = Database(make_engine(settings.database_url))
    migrate.upgrade(database.engine)
    print(database.transact(lambda s: feedback.runs_table(s, limit)))
    database.dispose()
    return 0


def print_workers(settings: Settings) -> int:
    """`opsbot workers`: unfinished runs by the executor that holds them."""
    from dbos import DBOSClient

    from core.db import plain_url

    client = DBOSClient(system_database_url=plain_url(settings.database_url))
    try:
        runs = client.list_workflows(
            status=["PENDING", "ENQUEUED", "DELAYED"], name="run_thread_turn", load_input=False,
            load_output=False,
        )  # fmt: skip
    except DBAPIError as error:
        if not _never_ran(error):
            raise
        runs = []
    finally:
        client.destroy()
    if not runs:
        print("no runs in flight")
        return 0
    by_executor: dict[str, list[str]] = {}
    for run in runs:
        holder = run.executor_id if run.status == "PENDING" else "(queued)"
        by_executor.setdefault(holder or "(queued)", []).append(run.workflow_id)
    for executor, ids in sorted(by_executor.items()):
        print(f"{executor}: {len(ids)} run(s)")
        for run_id in sorted(ids):
            print(f"  {run_id}")
    return 0


def missing_database(settings: Settings) -> str | None:
    """The line to print when `settings` name a SQLite file that does not exist (a read command
    must not create an empty database that later reads would pick); None otherwise."""
    url = make_url(settings.database_url)
    if not url.get_backend_name().startswith("sqlite"):
        return None
    name = url.database or ""
    if name.startswith("file:"):  # a SQLite URI filename: file:path?mode=...
        name = name[len("file:") :].split("?", 1)[0]
    if not name or name == ":memory:" or Path(name).is_file():
        return None
    return (f"error: no database at {Path(name).absolute()}: nothing has run with it (opsbot dev "
            f"keeps its own in .dev/opsbot.sqlite; OPSBOT_DATABASE_URL picks another)")  # fmt: skip


def read_database_settings() -> Settings:
    """The settings a read command (`audit`, `runs show`, `workers`) reads with.

    Raises `ConfigError` as `load_settings` does, and `MissingDatabase` when the SQLite
    database they name does not exist."""
    settings = read_settings()
    if problem := missing_database(settings):
        raise MissingDatabase(problem)
    return settings


class MissingDatabase(Exception):
    """A read command's database does not exist; the message is the line to print."""


def run(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the subcommand; returns the exit code."""
    args = parser().parse_args(argv)
    if args.command not in ("serve", "dev"):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if args.command == "migrate":
            from core import migrate
            from core.db import make_engine

            migrate.upgrade(make_engine(load_settings().database_url))
            print("database is at the newest schema")
            return 0
        if args.command == "runs" and args.runs_command == "list":
            return list_runs(read_database_settings(), args.limit)
        if args.command == "runs":
            return show_run(read_database_settings(), args.run_id)
        if args.command == "mcp":
            from bot.mcp_command import list_servers

            return asyncio.run(list_servers(load_settings()))
        if args.command == "workers":
            return print_workers(read_database_settings())
        if args.command == "eval":
            from evals.cli import main as run_eval

            return run_eval(args)
        if args.command == "audit":
            return print_audit(read_database_settings(), args.run, args.limit)
        if args.command == "dev":
            from bot.dev import DevPorts, dev

            ports = DevPorts(args.slack_port, args.model_port, args.bot_port)
            return asyncio.run(dev(Path(args.dir).absolute(), ports))
        if args.command == "serve":
            from bot.serve import configure_logging, serve

            configure_logging()
            return asyncio.run(serve(load_settings()))
        if args.demo:
            args.demo_dir = str(Path(args.demo_dir).absolute())
            return asyncio.run(run_demo(args))
        settings = load_settings()
        if settings.model_provider == "anthropic" and not settings.anthropic_api_key:
            print(NO_KEY, file=sys.stderr)
            return 2
        if problems := provider_problems(settings):
            raise ConfigError.of_all(problems)
        if not args.text:
            print("error: say what is wrong, e.g. opsbot ask 'checkout is returning 500s'",
                  file=sys.stderr)  # fmt: skip
            return 2
        return asyncio.run(run_ask(settings, args.text, args.yes))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except MissingDatabase as exc:
        print(exc, file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        runs = args.command == "ask"  # only a turn leaves runs that resume
        print("\ninterrupted" + (": paused runs resume on the next start" if runs else ""),
              file=sys.stderr)  # fmt: skip
        return 130
