"""One `opsbot dev` per data folder, every taken port named in one line, and read commands
that never create a database (issue 16, review of sections 5 and 6)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.dev_lock import FolderTaken, hold_folder
from tests.e2e.dev_process import ROOT, free_port, start_dev

pytestmark = pytest.mark.e2e
MODEL_KEYS = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPSBOT_MODEL", "OPSBOT_DATABASE_URL")


async def opsbot(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> tuple[
    int, str, str
]:  # fmt: skip
    """Run `opsbot ARGS` as a process; its exit code, stdout and stderr."""
    environment = {k: v for k, v in os.environ.items() if k not in MODEL_KEYS}
    environment |= {"PYTHONPATH": str(ROOT)} | (env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def dev_args(folder: Path | str, ports: list[int]) -> list[str]:
    return ["dev", "--dir", str(folder), "--slack-port", str(ports[0]),
            "--model-port", str(ports[1]), "--bot-port", str(ports[2])]  # fmt: skip


async def test_a_second_dev_on_the_same_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "dev"
    first = await start_dev(folder)
    try:
        state_before = (folder / "slack.json").stat().st_mtime_ns if (
            folder / "slack.json").exists() else None  # fmt: skip
        (tmp_path / "link").symlink_to(folder)
        tries = [
            (folder, [free_port() for _ in range(3)]),  # the reviewer's input: other ports
            (tmp_path / "link", [free_port() for _ in range(3)]),  # the folder by another name
            (folder, first.ports),  # its own ports too: the folder is named, not the ports
        ]
        for where, ports in tries:
            code, out, err = await opsbot(*dev_args(where, ports))
            lines = err.strip().splitlines()
            assert code == 2, (where, out, err)
            assert len(lines) == 1, lines
            assert f"opsbot dev already runs on {where}" in lines[0]
            assert f"(pid {first.process.pid})" in lines[0]
            assert "use another --dir" in lines[0]
            assert "opsbot is running" not in out
        after = (folder / "slack.json").stat().st_mtime_ns if (
            folder / "slack.json").exists() else None  # fmt: skip
        assert after == state_before, "the second instance touched the page's messages"
    finally:
        first.process.send_signal(signal.SIGKILL)  # a killed dev leaves no stale lock
        await first.process.wait()
        await first.reader
    for _ in range(100):  # its parts end (SIGTERM from the kernel); the lock is free at once
        try:
            hold_folder(folder).release()
            break
        except FolderTaken:  # retried until the holder is gone
            await asyncio.sleep(0.1)
    else:
        raise AssertionError("the lock of a killed opsbot dev is still held")
    await asyncio.sleep(8)  # the bot child stops within 8 s of its SIGTERM


@pytest.mark.parametrize(
    ("held", "live_key", "named"),
    [
        ((0, 1, 2), False, (0, 1, 2)),  # the reviewer's input: all three
        ((0, 2), False, (0, 2)),
        ((1, 2), False, (1, 2)),
        ((1, 2), True, (2,)),  # a live model: the scripted model's port is not needed
    ],
)
async def test_every_taken_port_is_named_in_one_line(
    tmp_path: Path, held: tuple[int, ...], live_key: bool, named: tuple[int, ...]
) -> None:
    ports = [free_port() for _ in range(3)]
    flags = ["--slack-port", "--model-port", "--bot-port"]
    with ExitStack() as holders:
        for index in held:
            holder = holders.enter_context(socket.socket())
            holder.bind(("127.0.0.1", ports[index]))
            holder.listen()
        env = {"ANTHROPIC_API_KEY": "sk-ant-test"} if live_key else {}
        code, out, err = await opsbot(*dev_args(tmp_path / "dev", ports), env=env)
    lines = err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1, lines
    for index in range(3):
        assert (f"{ports[index]} (" in lines[0]) == (index in named), lines[0]
        assert (flags[index] in lines[0]) == (index in named), lines[0]
    assert out == ""
    assert not (tmp_path / "dev").exists()


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["audit"], {}),  # the reviewer's input
        (["audit", "--run", "r1"], {}),
        (["runs", "show", "r1"], {}),
        (["workers"], {}),
        (["audit"], {"OPSBOT_DATABASE_URL": "sqlite:///elsewhere/none.sqlite"}),
    ],
)
async def test_read_commands_never_create_a_database(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    before = await asyncio.to_thread(lambda: sorted(tmp_path.rglob("*")))
    code, out, err = await opsbot(*args, cwd=tmp_path, env=env)
    assert code == 1, (out, err)
    assert "error: no database at" in err
    assert "Traceback" not in err
    after = await asyncio.to_thread(lambda: sorted(tmp_path.rglob("*")))
    assert after == before, "a read command created files"
