"""`opsbot mcp list` as a person reads it: a server of many tools gets the advice to narrow
it, a token written literally into args stays off the terminal, and an investigator that gets
no MCP tool is told why."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.serve_process import serve_env
from tests.e2e.test_mcp_connect import _mcp_list
from tests.mcp_servers.running import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
SLACK = "xoxb-1234567890-1234567890-abcdefghijklmnopqrstuvwx"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def hostile(
    tmp_path: Path, tools: list[dict[str, Any]], *extra: str, **fields: Any
) -> dict[str, Any]:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"tools": tools}))
    args = ["-m", "tests.mcp_servers.hostile_server", "--spec", str(spec),
            "--calls", str(tmp_path / "calls"), *extra]  # fmt: skip
    return {"command": sys.executable, "args": args, "cwd": str(ROOT), **fields}


def write(tmp_path: Path, servers: dict[str, Any]) -> str:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    return str(path)


@pytest.mark.parametrize("count", [60, 120])
async def test_many_tools_get_the_advice_to_narrow_them(tmp_path: Path, count: int) -> None:
    tools = [{"name": f"tool_{n}", "description": "Reads one kind of resource. " * 8}
             for n in range(count)]  # fmt: skip
    config = write(tmp_path, {"big": hostile(tmp_path, tools, allow=["*"])})
    code, out, err = await _mcp_list(tmp_path, config)
    assert code == 0, (out, err)
    assert "narrow the servers with agents or deny" in out, out[-800:]


async def test_a_few_tools_get_no_advice(tmp_path: Path) -> None:
    config = write(tmp_path, {"small": hostile(tmp_path, [{"name": "get_a"}], allow=["*"])})
    code, out, _ = await _mcp_list(tmp_path, config)
    assert code == 0
    assert "narrow the servers" not in out
    assert "log_analyzer only looks" not in out, "it got the allowed tool"


@pytest.mark.parametrize("secret", [SLACK, GITHUB])
async def test_a_literal_token_in_args_is_not_printed(tmp_path: Path, secret: str) -> None:
    inner = hostile(tmp_path, [{"name": "get_a"}])
    script = " ".join([sys.executable, *inner["args"]])
    server = {"command": "sh", "args": ["-c", f"exec {script}", "sh", secret], "cwd": str(ROOT)}
    code, out, err = await _mcp_list(tmp_path, write(tmp_path, {"s": server}))
    assert code == 0, (out, err)
    assert secret not in out + err
    assert "s  (stdio: sh -c " in out


async def test_an_investigator_without_mcp_tools_is_told_why(tmp_path: Path) -> None:
    config = write(tmp_path, {"s": hostile(tmp_path, [{"name": "get_a"}])})  # no allow: asks
    code, out, _ = await _mcp_list(tmp_path, config)
    assert code == 0
    assert "log_analyzer only looks: it gets the tools that run at once" in out


@pytest.mark.parametrize("after_s", [0.2, 1.5])
async def test_ctrl_c_while_it_connects_ends_it_quietly(tmp_path: Path, after_s: float) -> None:
    """A server that takes a minute to answer; Ctrl-C while `mcp list` waits for it: exit
    130, one word, no traceback, no talk of paused runs (it starts none), the server's process
    gone. (A Ctrl-C before that, while Python imports, ends it by SIGINT's default action.)"""
    marker = f"opsbot-mcp-list-{tmp_path.name}"
    slow = {"command": sys.executable, "args": ["-c", "import time; time.sleep(60)", marker]}
    env = serve_env(None, tmp_path, OPSBOT_MCP_CONFIG=write(tmp_path, {"slow": slow}))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "mcp", "list", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    first = await asyncio.wait_for(process.stderr.readline(), 60)
    assert first.startswith(b"connecting to 1 MCP server(s)"), first
    await asyncio.sleep(after_s)
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 20)
    said = err.decode()
    assert process.returncode == 130, said
    assert said.rstrip().endswith("interrupted"), said
    assert "Traceback" not in said
    assert "paused runs" not in said
    await asyncio.sleep(0.5)
    pgrep = await asyncio.create_subprocess_exec("pgrep", "-f", marker,
                                                 stdout=asyncio.subprocess.PIPE)  # fmt: skip
    left, _ = await pgrep.communicate()
    assert left == b"", f"the server outlived mcp list: {left!r}"
