"""MCP servers that do not connect, `${VAR}` expansion and secrets, `opsbot mcp list` as a real
process (exit 0, 1, 2) and `opsbot serve` refusing a bad OPSBOT_MCP_CONFIG with one line."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig
from tests.e2e.serve_process import run_serve, serve_env
from tests.mcp_servers.running import (
    ROOT,
    free_port,
    not_found_server,
    read_calls,
    server_args,
    start_http_server,
    started_hub,
    stdio_config,
)
from tools.base import ToolContext
from tools.mcp.config import McpServerConfig, load_mcp_config
from tools.mcp.connection import McpCallError

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
SECRETS = {
    "OPS_TOKEN": "s3cret-ops-token-4417",
    "URL_TOKEN": "s3cret-url-token-9021",
    "URL_PASSWORD": "s3cret-url-password-5530",
    "HEADER_TOKEN": "s3cret-header-7782",
}


def _not_connected(lines: list[str], name: str) -> str:
    """The reason in `name`'s start line, which must say it is not connected."""
    line = next(line for line in lines if line.startswith(f"MCP {name}: "))
    assert line.startswith(f"MCP {name}: not connected ("), line
    reason = line.removeprefix(f"MCP {name}: not connected (").partition("); retrying")[0]
    assert reason not in ("", "connecting", "down"), f"no reason: {line}"
    return reason


async def test_servers_that_do_not_connect_are_reported_and_the_others_work(
    tmp_path: Path,
) -> None:
    calls = tmp_path / "calls.jsonl"
    not_executable = tmp_path / "server.sh"
    not_executable.write_text("#!/bin/sh\n")
    async with not_found_server() as port_404:
        bad = [
            McpServerConfig(name="missing", command="/nonexistent/bin/mcp-server"),
            McpServerConfig(name="notexec", command=str(not_executable)),
            McpServerConfig(name="exits", command="sh", args=("-c", "echo garbage; echo {")),
            McpServerConfig(
                name="echoes",
                command="cat",  # answers requests with requests
                connect_timeout_s=5.0,
            ),
            McpServerConfig(name="http404", url=f"http://127.0.0.1:{port_404}/mcp"),
            McpServerConfig(name="http404root", url=f"http://127.0.0.1:{port_404}/"),
            McpServerConfig(name="nothing", url=f"http://127.0.0.1:{free_port()}/mcp"),
        ]
        async with started_hub(stdio_config("ops", calls, allow=("get_*",)), *bad) as hub:
            lines = hub.start_lines()
            assert len(lines) == 1 + len(bad)
            assert lines[0].startswith("MCP ops: connected (2026-07-28)"), lines
            reasons = {config.name: _not_connected(lines, config.name) for config in bad}
            assert "No such file" in reasons["missing"]
            assert "Permission denied" in reasons["notexec"]
            assert "Not Found" in reasons["http404"]
            assert {e.server for e in hub.entries} == {"ops"}, "no tools of the others"
            ran = await hub.tools()[0].run({"service": "api"}, ToolContext(workspace=tmp_path))
            assert ran.error is None, ran
    assert [c["tool"] for c in read_calls(calls)] == ["get_status"]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("output", ["hello, I am not MCP", '{"jsonrpc": "2.0", "id": 99}'])
async def test_a_command_that_prints_garbage_and_stays_is_reported_with_a_reason(
    output: str,
) -> None:
    garbage = McpServerConfig(name="garbage", command="sh", connect_timeout_s=5.0,
                              args=("-c", f"echo '{output}'; exec sleep 60"))  # fmt: skip
    async with started_hub(garbage, wait_s=8.0) as hub:
        reason = _not_connected(hub.start_lines(), "garbage")
    assert "within 5 s (connect_timeout_s)" in reason, reason


def _secret_config(tmp_path: Path, calls: Path, port_404: int) -> Path:
    path = tmp_path / "mcp.json"
    servers: dict[str, Any] = {
        "ops": {"command": sys.executable, "args": server_args(calls), "cwd": str(ROOT),
                "env": {"OPS_TOKEN": "${OPS_TOKEN}", "REGION": "${REGION:-eu-west-1}"},
                "allow": ["show_*"]},
        "web": {"url": f"http://deploy:${{URL_PASSWORD}}@127.0.0.1:{port_404}/mcp?token="
                       "${URL_TOKEN}", "headers": {"Authorization": "Bearer ${HEADER_TOKEN}"}},
        "down": {"url": f"http://127.0.0.1:{free_port()}/mcp?key=${{URL_TOKEN}}",
                 "headers": {"X-Api-Key": "${HEADER_TOKEN}"}},
    }  # fmt: skip
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def _leaks(text: str) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret in text]


async def test_variables_reach_the_server_and_secrets_appear_nowhere(tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    async with not_found_server() as port_404:
        path = _secret_config(tmp_path, calls, port_404)
        configs = load_mcp_config(path, SECRETS)
        async with started_hub(*configs) as hub:
            show = next(t for t in hub.tools() if t.name == "mcp__ops__show_env")
            ctx = ToolContext(workspace=tmp_path)
            token = await show.run({"variable": "OPS_TOKEN"}, ctx)
            region = await show.run({"variable": "REGION"}, ctx)
            assert token.data == {"result": SECRETS["OPS_TOKEN"]}, "the variable reached it"
            assert region.data == {"result": "eu-west-1"}, "the default reached it"
            lines = hub.start_lines()
            errors = []
            for name in ("web", "down"):
                _not_connected(lines, name)
                with pytest.raises(McpCallError) as raised:
                    await hub.connections[name].call("anything", {}, timeout_s=1)
                errors.append(str(raised.value))
            targets = [c.target() for c in configs]
        listed = await _mcp_list(tmp_path, str(path), **SECRETS)
    assert _leaks("\n".join(lines)) == [], lines
    assert _leaks("\n".join(errors)) == [], errors
    assert _leaks("\n".join(targets)) == [], targets
    assert listed[0] == 1, listed
    assert _leaks(listed[1]) == [], listed[1]
    assert _leaks(listed[2]) == [], "the SDK's logs on stderr"


async def _mcp_list(tmp_path: Path, config: str, **extra: str) -> tuple[int, str, str]:
    """`python -m bot.cli mcp list` with OPSBOT_MCP_CONFIG=`config` ("" unsets it)."""
    env = serve_env(None, tmp_path, OPSBOT_MCP_CONFIG=config, **extra)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "mcp", "list", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _write(tmp_path: Path, servers: dict[str, Any]) -> str:
    path = tmp_path / "servers.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    return str(path)


def _ops(calls: Path, **fields: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": server_args(calls), "cwd": str(ROOT), **fields}


async def test_mcp_list_exits_0_when_every_server_connected_1_when_one_did_not(
    tmp_path: Path,
) -> None:
    calls = tmp_path / "calls.jsonl"
    gates = {"allow": ["get_*"], "deny": ["delete_*"]}
    async with start_http_server(calls) as url:
        both = _write(tmp_path, {"ops": _ops(calls, **gates), "remote": {"url": url, **gates,
                                 "agents": ["coding"], "timeout_s": 5}})  # fmt: skip
        code, out, err = await _mcp_list(tmp_path, both)
    assert code == 0, (out, err)
    assert f"ops  (stdio: {sys.executable} -m tests.mcp_servers.ops_server" in out
    assert f"remote  (http: {url})" in out
    assert out.count("connected, protocol 2026-07-28") == 2, out
    assert "for coding; calls time out after 5 s; annotations not trusted" in out
    assert (
        "mcp__ops__get_status: runs at once (allow 'get_*'); offered to log_analyzer, "
        "coding  [server says: read-only]"
    ) in out
    assert (
        "mcp__ops__delete_pod: denied (deny 'delete_*'); offered to no agent  [server "
        "says: destructive]"
    ) in out
    assert (
        "mcp__remote__list_pods: asks for approval (not in allow, approve or deny); "
        "offered to coding"
    ) in out
    assert (
        "mcp__ops__list_pods: asks for approval (not in allow, approve or deny); offered to coding"
    ) in out, "log_analyzer only looks"
    agents = {line.split(":")[0].strip(): line for line in out.splitlines()
              if line.startswith("  ") and "tokens, of which" in line}  # fmt: skip
    assert "of which 1 MCP tools" in agents["log_analyzer"], "ops' get_status, allowed"
    assert "of which 20 MCP tools" in agents["coding"], "both servers, delete_pod denied"
    assert read_calls(calls) == [], "listing calls no tool"
    one_down = _write(tmp_path, {"ops": _ops(calls),
                                 "gone": {"command": "/nonexistent/mcp-server"}})  # fmt: skip
    code, out, err = await _mcp_list(tmp_path, one_down)
    assert code == 1, (out, err)
    assert "gone  (stdio: /nonexistent/mcp-server)" in out
    assert "NOT CONNECTED: FileNotFoundError" in out
    assert "connected, protocol 2026-07-28" in out, "the other one still listed"


async def test_mcp_list_exits_2_without_servers_or_with_a_bad_file(tmp_path: Path) -> None:
    code, out, err = await _mcp_list(tmp_path, "")
    assert (code, err) == (2, ""), err
    assert out.startswith("no MCP servers: set OPSBOT_MCP_CONFIG"), out
    bad = _write(tmp_path, {"ops": {"command": "x", "timeout_s": 0}})
    code, out, err = await _mcp_list(tmp_path, bad)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "OPSBOT_MCP_CONFIG: server ops: timeout_s:" in err


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig())
    yield running
    await running.stop()


BAD_FILES: list[tuple[dict[str, Any], str]] = [
    ({"ops": {"command": "x", "alow": ["get_*"]}},
     "server ops: alow: unknown key (did you mean allow?)"),
    ({"ops": {"command": "x", "timeout_s": -1}}, "server ops: timeout_s: "),
    ({"ops": {"command": "x", "env": {"TOKEN": "${OPSBOT_TEST_UNSET_TOKEN}"}}},
     "server ops: env.TOKEN: variable OPSBOT_TEST_UNSET_TOKEN is not set"),
    ({"ok": {"command": "x"}, "web": {"url": "http://127.0.0.1:1/mcp", "command": "y"}},
     "server web: command, url: both are set"),
    ({"ops": {"url": "ftp://127.0.0.1/mcp"}}, "server ops: url: must be an http:// or https://"),
]  # fmt: skip


@pytest.mark.parametrize(("servers", "expected"), BAD_FILES)
async def test_serve_refuses_a_bad_mcp_file_naming_the_server_and_field_exit_2(
    slack: RunningSlack, tmp_path: Path, servers: dict[str, Any], expected: str
) -> None:
    ended = await run_serve(serve_env(slack, tmp_path, OPSBOT_MCP_CONFIG=_write(tmp_path, servers)))
    assert ended.code == 2, ended
    said = [line for line in ended.stderr.splitlines() if "configuration error" in line]
    assert len(said) == 1, ended.stderr
    assert said[0].startswith("configuration error: OPSBOT_MCP_CONFIG: "), ended.stderr
    assert expected in said[0], ended.stderr
    assert "Traceback" not in ended.stderr
    assert ended.stdout == ""


@pytest.mark.parametrize(("servers", "expected"), BAD_FILES[:2])
async def test_serve_says_only_one_line_for_a_bad_mcp_file(
    slack: RunningSlack, tmp_path: Path, servers: dict[str, Any], expected: str
) -> None:
    ended = await run_serve(serve_env(slack, tmp_path, OPSBOT_MCP_CONFIG=_write(tmp_path, servers)))
    assert ended.code == 2, ended
    assert ended.stderr.strip().splitlines() == [ended.stderr.strip()], ended.stderr
    assert expected in ended.stderr
