"""The `opsbot` command line: every subcommand with a one-line help and a description."""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version

READS = (
    "Reads OPSBOT_DATABASE_URL; without it opsbot.sqlite here, or opsbot dev's .dev/opsbot.sqlite "
    "when there is none (the line on stderr says which)."
)
COMMANDS: dict[str, tuple[str, str]] = {
    "ask": ("run one turn in the terminal",
            "Run one turn of the agents in the terminal, with the engine Slack uses: approvals "
            "are y/N prompts. --demo runs a bundled incident against the scripted model."),
    "serve": ("run the Slack bot (Socket Mode or HTTP)",
              "Connect to Slack and answer mentions until SIGTERM, SIGINT or SIGHUP. Socket Mode "
              "when SLACK_APP_TOKEN is set, else HTTP on OPSBOT_HTTP_PORT. Exit 2 with one line "
              "when it cannot start (a setting missing, malformed or refused, or Slack "
              "unreachable)."),
    "dev": ("the local Slack page, scripted model and bot together",
            "Start a local Slack workspace (the page), the scripted model (unless "
            "ANTHROPIC_API_KEY is set) and the bot, all on 127.0.0.1; Ctrl-C, SIGTERM or "
            "closing the terminal stops all three. Exit 2 when a port is taken."),
    "audit": ("print the audit log of approvals",
              f"Print approval decisions and refused attempts, newest first. {READS}"),
    "workers": ("which runs each executor holds",
                f"List unfinished runs by the DBOS executor that holds them. {READS}"),
    "runs": ("list or inspect runs",
             f"List the newest runs with their 👍/👎 counts, or inspect one run. {READS}"),
    "migrate": ("apply database migrations and exit",
                "Bring OPSBOT_DATABASE_URL to the newest schema (every start does it too)."),
    "mcp": ("the MCP servers: state, tools, verdicts",
            "Connect every server of OPSBOT_MCP_CONFIG and list its state, its tools with the "
            "verdict of each (runs at once, asks for approval, denied) and the size of each "
            "agent's tool definitions. Exit 1 when a server does not connect."),
    "eval": ("score the agents on the evaluation cases",
             "Run the evaluation cases end to end and score them (see docs/operating.md)."),
}  # fmt: skip


def opsbot_version() -> str:
    """The installed package's version, or "unknown" when run from a bare checkout."""
    try:
        return version("opsbot")
    except PackageNotFoundError:
        return "unknown"


def parser() -> argparse.ArgumentParser:
    """The `opsbot` parser; `opsbot SUBCOMMAND --help` describes each subcommand."""
    top = argparse.ArgumentParser(prog="opsbot", description="An AI operations teammate.")
    top.add_argument("--version", action="version", version=f"opsbot {opsbot_version()}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str) -> argparse.ArgumentParser:
        summary, description = COMMANDS[name]
        return commands.add_parser(name, help=summary, description=description)

    ask = add("ask")
    ask.add_argument("text", nargs="?", help="what is wrong (e.g. 'checkout is returning 500s')")
    ask.add_argument("--demo", action="store_true", help="use the bundled scenario and model")
    ask.add_argument("--scenario", default="checkout-500", help="bundled scenario for --demo")
    ask.add_argument("--demo-dir", default="opsbot-demo", help="where --demo keeps its files")
    ask.add_argument("--yes", action="store_true", help="approve every request (demo, CI)")
    add("serve")
    dev = add("dev")
    dev.add_argument("--dir", default=".dev", help="where the database, workspace, page live")
    dev.add_argument("--slack-port", type=int, default=8765, help="the page and the Slack API")
    dev.add_argument("--model-port", type=int, default=8766, help="the scripted model")
    dev.add_argument("--bot-port", type=int, default=8767, help="the bot's /healthz and /runs")
    audit = add("audit")
    audit.add_argument("--run", help="only this run")
    audit.add_argument("--limit", type=int, default=100, help="at most this many rows")
    add("workers")
    runs = add("runs")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")
    show = runs_commands.add_parser(
        "show", help="one run: trace id and steps as a waterfall",
        description=f"Print one run's outcome, trace id and steps as a waterfall. {READS}",
    )  # fmt: skip
    show.add_argument("run_id", help="the run id (as /opsbot status shows it)")
    listing = runs_commands.add_parser(
        "list", help="the newest runs with their 👍/👎 feedback counts",
        description=f"Print the newest runs: status, outcome and 👍/👎 votes on each. {READS}",
    )  # fmt: skip
    listing.add_argument("--limit", type=int, default=20, help="at most this many runs")
    add("migrate")
    mcp = add("mcp")
    mcp_commands = mcp.add_subparsers(dest="mcp_command", required=True, metavar="COMMAND")
    mcp_commands.add_parser("list", help="servers, state, tools and the verdict of each",
                            description=COMMANDS["mcp"][1])  # fmt: skip
    from evals.cli import configure as configure_eval

    configure_eval(add("eval"))
    return top
