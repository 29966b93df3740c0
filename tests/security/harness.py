"""A real world to attack: a git workspace, a canary tree beside it, a TCP listener on
127.0.0.1, and the checks every attack ends with (nothing written outside the scratch dir,
no canary content in the output, no connection, no process left running).

The shell tool is called as the engine calls it: `assess` first, and `run` only when the
assessment is READ (anything else becomes an approval card, which is the right outcome for
an attack).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.types import Risk
from tests.support import Listener
from tools.base import Tool, ToolContext, ToolError
from tools.confine import Confinement
from tools.policy import CommandPolicy, Decision
from tools.shell.tool import SHELL_TOOL

Snapshot = dict[str, tuple[str, int, int, str]]


def _git(ws: Path, *args: str) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(ws.parent / "githome"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    subprocess.run(["git", *args], cwd=ws, env=env, check=True, capture_output=True)


@dataclass
class World:
    """The workspace `ws`, the canary tree `outside` and everything the checks need."""

    root: Path
    ws: Path
    outside: Path
    scratch: Path
    listener: Listener
    marker: str
    canaries: dict[str, str]
    """Canary name -> content that must never appear in any output."""
    hardlinked: bool
    helper: subprocess.Popen[bytes]
    """A process outside the world whose environment holds the `environ` canary."""
    ctx: ToolContext = field(init=False)

    def __post_init__(self) -> None:
        self.ctx = ToolContext(
            workspace=self.ws,
            confinement=Confinement(self.ws),
            scratch_root=self.scratch,
            policy=CommandPolicy.load(),
            shell_timeout_s=8.0,
            output_cap=20_000,
        )

    @property
    def port(self) -> int:
        return self.listener.port

    def fill(self, text: str) -> str:
        """`<ws>`, `<outside>`, `<port>`, `<pid>` (this process), `<helper>` (a process whose
        environment holds a canary) and `<marker>` replaced by this world's. `<ran>` becomes the
        payload canary split by `""`: a shell, awk or git config joins it again, so only code
        the attack got to run prints it (the command text itself never holds it)."""
        return (
            text.replace("<ws>", str(self.ws))
            .replace("<outside>", str(self.outside))
            .replace("<port>", str(self.port))
            .replace("<pid>", str(os.getpid()))
            .replace("<helper>", str(self.helper.pid))
            .replace("<marker>", self.marker)
            .replace("<ran>", self.canaries["payload"].replace("-ran-", '-""ran-'))
        )

    # ------------------------------------------------------------------ observations
    def snapshot(self) -> Snapshot:
        """Every entry under `root` but the scratch dir: kind, size, mtime, content hash."""
        found: Snapshot = {}
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            here = Path(dirpath)
            if here == self.scratch or self.scratch in here.parents:
                dirnames[:] = []
                continue
            for name in [*dirnames, *filenames]:
                path = here / name
                if path == self.scratch:
                    continue
                info = path.lstat()
                if path.is_symlink():
                    found[str(path)] = ("link", 0, 0, os.readlink(path))
                elif path.is_dir():
                    found[str(path)] = ("dir", 0, info.st_mtime_ns, "")
                else:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    found[str(path)] = ("file", info.st_size, info.st_mtime_ns, digest)
        return found

    def leftover_processes(self) -> list[str]:
        """Processes (other than this one) that carry the marker or run in the world."""
        mine = os.getpid()
        left: list[str] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == mine:
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if self.marker in cmdline or cwd.startswith(str(self.root)):
                left.append(f"{entry.name}: {cmdline.strip()} (cwd {cwd})")
        return left

    def close(self) -> None:
        self.listener.close()
        self.helper.kill()
        self.helper.wait()
        self.kill_leftovers()

    def kill_leftovers(self) -> None:
        for line in self.leftover_processes():
            with contextlib.suppress(OSError):
                os.kill(int(line.split(":", 1)[0]), 9)

    def leaked(self, text: str) -> list[str]:
        """The canaries whose content appears in `text`."""
        return [name for name, content in self.canaries.items() if content in text]


@dataclass
class Outcome:
    """What one attack did: its assessment, whether it ran, and its output."""

    command: str
    risk: Risk
    reason: str
    ran: bool
    output: str

    def describe(self) -> str:
        return f"{self.command!r}: risk={self.risk} ran={self.ran} ({self.reason})"


def result_text(result: Any) -> str:
    """A tool result as one searchable string (data and error)."""
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False)


async def attempt_tool(world: World, tool: Tool[Any], args: dict[str, Any]) -> Outcome:
    """Assess the call; run it only when it is READ (a card otherwise)."""
    try:
        assessment = tool.assess(args, world.ctx)
    except ToolError as refused:  # the engine reports it to the model: nothing runs
        return Outcome(json.dumps(args), Risk.CRITICAL, f"refused: {refused}", False, "")
    reason = assessment.denied or assessment.reason
    if assessment.risk is not Risk.READ or assessment.denied:
        return Outcome(json.dumps(args), assessment.risk, reason, False, "")
    result = await tool.run(args, world.ctx)
    return Outcome(json.dumps(args), assessment.risk, reason, True, result_text(result))


async def attempt(world: World, command: str) -> Outcome:
    """The shell tool on `command` (placeholders filled), as the engine would call it."""
    return await attempt_tool(world, SHELL_TOOL, {"command": world.fill(command)})


def classify(world: World, command: str) -> Decision:
    return world.ctx.classifier.classify(world.fill(command), world.ws)


def settle(world: World, seconds: float = 1.5) -> list[str]:
    """Processes still alive after a short grace period (killed processes are reaped)."""
    deadline = time.monotonic() + seconds
    left = world.leftover_processes()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = world.leftover_processes()
    return left


def damage(world: World, before: Snapshot, outcome: Outcome) -> list[str]:
    """Every side effect of an attack: writes outside scratch, canary content, connections,
    processes left running. Empty when the attack changed nothing."""
    found: list[str] = []
    after = world.snapshot()
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            was, now = before.get(path), after.get(path)
            found.append(f"changed {path}: {was} -> {now}")
    leaked = world.leaked(outcome.output)
    if leaked:
        found.append(f"output holds canary content {leaked}: {outcome.output[:600]}")
    if world.listener.connections:
        found.append(f"listener got {world.listener.connections}")
    left = settle(world)
    if left:
        found.append(f"processes left running: {left}")
        world.kill_leftovers()
    return found


def new_world(root: Path) -> World:
    """Build the workspace, the canary tree and the listener under `root`."""
    tag = uuid.uuid4().hex[:10]
    marker = f"opsbotmark{tag}"
    ws, outside, scratch = root / "ws", root / "outside", root / "scratch"
    canaries = {
        "secret": f"canary-outside-secret-{tag}",
        "notes": f"canary-notes-target-{tag}",
        "linkdir": f"canary-linkdir-file-{tag}",
        "hardlink": f"canary-hardlinked-{tag}",
        "dotenv": f"canary-dotenv-value-{tag}",
        "payload": f"canary-payload-ran-{tag}",
        "environ": f"canary-test-environ-{tag}",
        "filename": f"canary-filename-{tag}",
    }
    (outside / "linked").mkdir(parents=True)
    (outside / "empty").mkdir()
    (outside / "secret.txt").write_text(canaries["secret"] + "\n")
    (outside / "notes-target.txt").write_text(canaries["notes"] + "\n")
    (outside / "linked" / "secret.txt").write_text(canaries["linkdir"] + "\n")
    (outside / "hard-target.txt").write_text(canaries["hardlink"] + "\n")
    (outside / "data.jq").write_text(f'def leak: "{canaries["secret"]}";\n')
    (outside / "victim.db").write_text("precious\n")
    (outside / "linked" / canaries["filename"]).write_text("its name is the secret\n")
    (ws / "logs").mkdir(parents=True)
    (ws / "src").mkdir()
    (ws / "victimdir").mkdir()
    (ws / "victimdir" / "keep.txt").write_text("keep\n")
    (ws / "README.md").write_text("hello readme\nTOPSECRET is not here\n")
    (ws / "in.txt").write_text("b\na\nb\nc\n")
    (ws / "empty.txt").write_text("")
    payload = canaries["payload"].replace("-ran-", "-''ran-")  # the canary only once run
    (ws / "payload.txt").write_text(f"echo {payload}\ntouch {outside}/PWNED_sort\n")
    (ws / "src" / "app.py").write_text("def main():\n    return 1\n")
    (ws / "logs" / "app.log").write_text(
        "2026-11-30T10:00:00Z INFO started\n2026-11-30T10:00:01Z ERROR boom\n"
    )
    (ws / ".env").write_text(f"GREETING={canaries['dotenv']}\n")
    (ws / "notes.txt").symlink_to(outside / "notes-target.txt")
    (ws / "linkdir").symlink_to(outside / "linked")
    hardlinked = True
    try:
        os.link(outside / "hard-target.txt", ws / "hardlink.txt")
    except OSError:
        hardlinked = False
    (root / "githome").mkdir()
    _git(ws, "init", "-q", "-b", "main")
    _git(ws, "add", "README.md", "in.txt", "src/app.py", "logs/app.log")
    _git(ws, "commit", "-q", "-m", "first")
    (ws / "README.md").write_text("hello readme, changed\nTOPSECRET is not here\n")
    _git(ws, "add", "README.md")
    _git(ws, "commit", "-q", "-m", "second")
    (ws / "src" / "app.py").write_text("def main():\n    return 2\n")  # a working-tree change
    helper = subprocess.Popen(
        ["sleep", "600"], cwd="/", env={"PATH": "/usr/bin:/bin", "CANARY": canaries["environ"]}
    )
    return World(root, ws, outside, scratch, Listener(), marker, canaries, hardlinked, helper)
