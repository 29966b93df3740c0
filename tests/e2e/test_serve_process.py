"""`opsbot serve` as a process: a start that cannot work is one line and exit 2; SIGTERM,
SIGINT and SIGHUP stop it within seconds in every state (`docker stop` gives 10 s)."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.model.scenario import load_scenario
from sandbox.model.server import start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig
from tests.e2e.serve_process import run_serve, serve_env, start_serve, stop_with, wait_ready
from tests.slackbot import CHANNEL, card_with, wait_for
from tests.support import copy_scenario, scripted

pytestmark = pytest.mark.e2e
STOPPED_WITHIN_S = 5.0


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    """The local workspace, in this test's loop."""
    running = await start_slack(SandboxConfig())
    yield running
    await running.stop()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Overrides = Callable[[RunningSlack], dict[str, str]]
REFUSED: list[tuple[str, Overrides, str]] = [
    ("wrong app token", lambda s: {"SLACK_APP_TOKEN": "xapp-1-A0OTHER-0000000000-wrong"},
     "configuration error: SLACK_APP_TOKEN: Slack refused it (invalid_auth)"),
    ("revoked bot token", lambda s: {"SLACK_BOT_TOKEN": "xoxb-0000000000-revoked"},
     "configuration error: SLACK_BOT_TOKEN: Slack refused it (invalid_auth)"),
    ("bot token as app token", lambda s: {"SLACK_APP_TOKEN": s.sandbox.workspace.bot_token},
     "configuration error: SLACK_APP_TOKEN: must be an app-level token (xapp-...), got one "
     "starting 'xoxb-'"),
    ("user token as bot token", lambda s: {"SLACK_BOT_TOKEN": "xoxp-1-2-3-abc"},
     "configuration error: SLACK_BOT_TOKEN: must be a bot token (xoxb-...), got one starting "
     "'xoxp-'"),
    ("quoted bot token", lambda s: {"SLACK_BOT_TOKEN": f'"{s.sandbox.workspace.bot_token}"'},
     "configuration error: SLACK_BOT_TOKEN: has spaces or quotes around it"),
    ("verification token as signing secret",
     lambda s: {"SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": "AbCdEf0123456789GhIjKlMn"},
     "configuration error: SLACK_SIGNING_SECRET: must be 32 hexadecimal characters"),
    ("everything missing",
     lambda s: {"SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": "", "ANTHROPIC_API_KEY": ""},
     "configuration error: SLACK_BOT_TOKEN: is required (the Bot User OAuth Token, xoxb-...); "
     "SLACK_SIGNING_SECRET: is required in HTTP mode (no SLACK_APP_TOKEN); "
     "ANTHROPIC_API_KEY: is required: the agents need a model"),
    ("the runs API without a status port", lambda s: {"OPSBOT_RUNS_API": "true"},
     "configuration error: OPSBOT_RUNS_API: needs OPSBOT_HEALTH_PORT"),
    ("the runs API on the public HTTP port",
     lambda s: {"SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": s.sandbox.workspace.signing_secret,
                "OPSBOT_RUNS_API": "true", "OPSBOT_HTTP_PORT": "3999",
                "OPSBOT_HEALTH_PORT": "3999"},
     "OPSBOT_RUNS_API: needs OPSBOT_HEALTH_PORT other than OPSBOT_HTTP_PORT"),
    ("nothing listens at the API URL",
     lambda s: {"OPSBOT_SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/"},
     "(OPSBOT_SLACK_API_URL) cannot be reached: Cannot connect to host 127.0.0.1"),
    ("an API host that does not resolve",
     lambda s: {"OPSBOT_SLACK_API_URL": "http://slack.invalid/api/"},
     "the Slack API at http://slack.invalid/api/ (OPSBOT_SLACK_API_URL) cannot be reached"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "expected"), [(o, e) for _, o, e in REFUSED],
                         ids=[name for name, _, _ in REFUSED])  # fmt: skip
async def test_a_start_that_cannot_work_is_one_line_and_exit_2(
    slack: RunningSlack, tmp_path: Path, overrides: Overrides, expected: str
) -> None:
    ended = await run_serve(serve_env(slack, tmp_path, **overrides(slack)))
    assert ended.code == 2, ended
    assert expected in ended.stderr, ended.stderr
    assert len(ended.stderr.strip().splitlines()) == 1, ended.stderr
    assert "Traceback" not in ended.stderr
    assert ended.stdout == ""
    assert ended.seconds < 30


async def test_slack_unreachable_at_its_default_url_does_not_blame_the_url_variable(
    tmp_path: Path,
) -> None:
    """No OPSBOT_SLACK_API_URL set: whatever slack.com answers (here: nothing), the line does
    not tell the operator to fix a variable they never set."""
    ended = await run_serve(serve_env(None, tmp_path, SLACK_BOT_TOKEN="xoxb-1-not-real",
                                      SLACK_APP_TOKEN="xapp-1-not-real"))  # fmt: skip
    assert ended.code == 2, ended
    assert len(ended.stderr.strip().splitlines()) == 1, ended.stderr
    assert "OPSBOT_SLACK_API_URL" not in ended.stderr
    assert ("the Slack API at https://slack.com/api/ cannot be reached" in ended.stderr
            or "SLACK_BOT_TOKEN: Slack refused it" in ended.stderr)  # fmt: skip


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
async def test_a_signal_stops_a_running_serve(
    slack: RunningSlack, tmp_path: Path, sig: signal.Signals
) -> None:
    process = await start_serve(serve_env(slack, tmp_path))
    await wait_ready(process)
    ended = await stop_with(process, sig)
    assert ended.code == 0, ended
    assert ended.seconds < STOPPED_WITHIN_S
    assert "Traceback" not in ended.stderr


@pytest.mark.parametrize("after_s", [0.5, 1.5, 3.0])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_serve_while_it_starts(
    slack: RunningSlack, tmp_path: Path, sig: signal.Signals, after_s: float
) -> None:
    """Importing, migrating, launching DBOS or connecting: a signal in any of them ends the
    process quietly (a `KeyboardInterrupt` raised inside an import once left it hanging)."""
    process = await start_serve(serve_env(slack, tmp_path))
    await asyncio.sleep(after_s)
    ended = await stop_with(process, sig)
    assert ended.seconds < STOPPED_WITHIN_S
    assert "opsbot is @" not in ended.stdout or ended.code == 0
    assert "Traceback" not in ended.stderr
    assert ended.code in (0, -sig), ended


async def test_sigterm_stops_serve_while_slack_does_not_answer(tmp_path: Path) -> None:
    """A Slack API that takes the request and never answers: `auth.test` waits (30 s)."""
    asked = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        if await reader.readline():
            asked.set()

    server = await asyncio.start_server(never_answers, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/api/"
    try:
        env = serve_env(None, tmp_path, SLACK_BOT_TOKEN="xoxb-1-x", SLACK_APP_TOKEN="xapp-1-x",
                        OPSBOT_SLACK_API_URL=url)  # fmt: skip
        process = await start_serve(env)
        await asyncio.wait_for(asked.wait(), 30)
        ended = await stop_with(process, signal.SIGTERM)
    finally:
        for writer in held:
            writer.close()
        server.close()
    assert ended.seconds < STOPPED_WITHIN_S
    assert "Traceback" not in ended.stderr


async def test_sigint_stops_serve_while_socket_mode_retries(
    slack: RunningSlack, tmp_path: Path
) -> None:
    """`apps.connections.open` hands out a URL where nothing listens: the SDK retries it."""
    dead = f"ws://127.0.0.1:{closed_port()}/socket/x"
    slack.sandbox._socket_url = lambda: dead  # type: ignore[method-assign]
    process = await start_serve(serve_env(slack, tmp_path))

    def url_handed_out() -> bool:
        return any(c["method"] == "apps.connections.open" and c["ok"] for c in slack.sandbox.calls)

    await wait_for(slack.sandbox, url_handed_out)
    await asyncio.sleep(1)
    ended = await stop_with(process, signal.SIGINT)
    assert ended.seconds < STOPPED_WITHIN_S
    assert ended.stdout == ""


async def test_sigterm_stops_serve_while_a_run_waits_for_approval(
    slack: RunningSlack, tmp_path: Path
) -> None:
    model = await start_model_server(load_scenario("checkout-500"))
    workspace = copy_scenario("checkout-500", tmp_path)
    try:
        env = serve_env(slack, tmp_path, model.url, OPSBOT_WORKSPACE=str(workspace),
                        OPSBOT_LOG_SOURCES="logs/*.log")  # fmt: skip
        process = await start_serve(env)
        await wait_ready(process)
        root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is 500ing")
        await wait_for(slack.sandbox, lambda: card_with(slack.sandbox, root.ts, "write_file"), 60)
        ended = await stop_with(process, signal.SIGTERM)
    finally:
        await model.stop()
    assert ended.code == 0, ended
    assert ended.seconds < STOPPED_WITHIN_S


SLOW_ANSWER = [{"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look"}],
                "log_analyzer": [{"text": "word " * 400}]}]  # fmt: skip


async def test_sigint_stops_serve_while_an_answer_streams(
    slack: RunningSlack, tmp_path: Path
) -> None:
    model = await start_model_server(scripted(SLOW_ANSWER, tokens_per_second=20))
    try:
        process = await start_serve(serve_env(slack, tmp_path, model.url))
        await wait_ready(process)
        root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> anything")

        def streaming() -> bool:
            return any(m["streaming"] and "word word" in m["text"]
                       for m in slack.sandbox.rendered_thread(CHANNEL, root.ts))  # fmt: skip

        await wait_for(slack.sandbox, streaming, 60)
        ended = await stop_with(process, signal.SIGINT)
    finally:
        await model.stop()
    assert ended.seconds < STOPPED_WITHIN_S
    assert ended.code == 0, ended


def listening_address(port: int) -> str:
    """The local address a TCP socket listens on at `port` (from /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            return socket.inet_ntoa(bytes.fromhex(address)[::-1])
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.parametrize(("runs_api", "address", "runs_status"),
                         [("true", "127.0.0.1", 400), ("false", "0.0.0.0", 404)])  # fmt: skip
async def test_the_unauthenticated_runs_api_listens_on_loopback_only(
    slack: RunningSlack, tmp_path: Path, unused_tcp_port: int, runs_api: str, address: str,
    runs_status: int,
) -> None:  # fmt: skip
    import aiohttp

    env = serve_env(slack, tmp_path, OPSBOT_HEALTH_PORT=str(unused_tcp_port),
                    OPSBOT_RUNS_API=runs_api)  # fmt: skip
    process = await start_serve(env)
    try:
        await wait_ready(process)
        listening = listening_address(unused_tcp_port)
        async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{unused_tcp_port}/runs"
        ) as answer:  # fmt: skip
            status = answer.status
    finally:
        await stop_with(process, signal.SIGTERM)
    assert listening == address, "/healthz alone may listen everywhere (orchestrator probes)"
    assert status == runs_status


async def test_over_http_the_public_port_never_serves_runs(
    tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    import aiohttp

    public, status_port = unused_tcp_port_factory(), unused_tcp_port_factory()
    slack = await start_slack(SandboxConfig(deliver=f"http://127.0.0.1:{public}/slack/events"))
    space = slack.sandbox.workspace
    env = serve_env(slack, tmp_path, SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET=space.signing_secret,
                    OPSBOT_HTTP_PORT=str(public), OPSBOT_HEALTH_PORT=str(status_port),
                    OPSBOT_RUNS_API="true")  # fmt: skip
    process = await start_serve(env)
    try:
        await wait_ready(process)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{public}/runs?thread=T:C:1") as answer:
                on_public = answer.status
            async with http.get(f"http://127.0.0.1:{status_port}/runs?thread=T:C:1") as answer:
                on_status = answer.status
        addresses = (listening_address(public), listening_address(status_port))
    finally:
        await stop_with(process, signal.SIGTERM)
        await slack.stop()
    assert on_public == 404
    assert on_status == 200
    assert addresses == ("0.0.0.0", "127.0.0.1")
