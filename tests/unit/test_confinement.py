"""The kernel sandbox itself: each rule of tools/confine tried by a real confined process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Listener
from tools.confine import Confinement, Limits, probe

ACTIVE = probe()
pytestmark = pytest.mark.skipif(not ACTIVE.active, reason=f"this kernel: {ACTIVE.detail}")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else None


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    workspace = tmp_path / "ws"
    outside = tmp_path / "outside"
    scratch = tmp_path / "scratch"
    for folder in (workspace, outside, scratch):
        folder.mkdir()
    (workspace / "notes.txt").write_text("inside")
    (workspace / "bot.sqlite").write_text("approvals and audit")
    (workspace / ".env").write_text("SLACK_BOT_TOKEN=xoxb-canary")
    (outside / "secret.txt").write_text("TOPSECRET-outside")
    (workspace / "link.txt").symlink_to(outside / "secret.txt")
    return {"ws": workspace, "outside": outside, "scratch": scratch}


def confined(
    tree: dict[str, Path], argv: list[str], **kwargs: object
) -> subprocess.CompletedProcess[str]:
    confinement = Confinement(tree["ws"], read_roots=(), hidden=(tree["ws"] / "bot.sqlite",),
                              **kwargs)  # type: ignore[arg-type]  # fmt: skip
    return subprocess.run(confinement.launcher_argv(argv, tree["scratch"]), cwd=tree["ws"],
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip


def test_reads_stay_inside_the_workspace(tree: dict[str, Path]) -> None:
    assert confined(tree, ["/bin/cat", "notes.txt"]).stdout == "inside"
    for path in ("link.txt", str(tree["outside"] / "secret.txt"), "bot.sqlite", ".env"):
        done = confined(tree, ["/bin/cat", path])
        assert done.returncode != 0, path
        assert "TOPSECRET" not in done.stdout + done.stderr
        assert "canary" not in done.stdout
    assert "bot.sqlite" in confined(tree, ["/bin/ls"]).stdout, "the directory can still be listed"


def test_writes_only_reach_the_scratch_directory(tree: dict[str, Path]) -> None:
    for target in (tree["ws"] / "new.txt", tree["outside"] / "new.txt", tree["ws"] / "notes.txt"):
        done = confined(tree, ["/bin/sh", "-c", f"echo x > {target}"])
        assert done.returncode != 0
    assert (tree["ws"] / "notes.txt").read_text() == "inside"
    assert not (tree["ws"] / "new.txt").exists()
    assert not (tree["outside"] / "new.txt").exists()
    assert confined(tree, ["/bin/sh", "-c", f"echo x > {tree['scratch']}/ok"]).returncode == 0
    assert confined(tree, ["/usr/bin/truncate", "-s", "0", "notes.txt"]).returncode != 0


def test_other_processes_proc_entries_are_unreadable(tree: dict[str, Path]) -> None:
    own = confined(tree, ["/bin/cat", "/proc/self/status"])
    assert own.returncode == 0
    assert "Name:" in own.stdout
    for path in (f"/proc/{os.getpid()}/environ", f"/proc/{os.getppid()}/environ", "/proc/1/environ",
                 f"/proc/{os.getpid()}/cmdline"):  # fmt: skip
        done = confined(tree, ["/bin/cat", path])
        assert done.returncode != 0, path


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.mark.skipif(PYTHON is None, reason="needs the system python3 to open sockets")
def test_no_network_unless_ports_are_listed(tree: dict[str, Path], listener: Listener) -> None:
    port, seen = listener.port, listener.connections
    script = textwrap.dedent(f"""
        import socket
        kinds = ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM),
                 (socket.AF_INET6, socket.SOCK_STREAM))
        for family, kind in kinds:
            try:
                s = socket.socket(family, kind)
                s.settimeout(2)
                s.connect(("127.0.0.1", {port})) if family == socket.AF_INET else None
                s.send(b"leak")
                print("OPEN", family, kind)
            except OSError as error:
                print("refused", error.errno)
    """)
    closed = confined(tree, [str(PYTHON), "-c", script])
    assert "OPEN" not in closed.stdout, closed.stdout + closed.stderr
    assert seen == []
    opened = confined(tree, [str(PYTHON), "-c", script], tcp_ports=(port,), network=True)
    assert "OPEN 2 1" in opened.stdout.replace("AddressFamily.AF_INET", "2").replace(
        "SocketKind.SOCK_STREAM", "1"
    ), opened.stdout + opened.stderr
    assert seen, "the listed port is reachable"
    elsewhere = script.replace(str(port), str(port + 1 if port < 65535 else port - 1))
    other = confined(tree, [str(PYTHON), "-c", elsewhere], tcp_ports=(port,), network=True)
    assert "refused 13" in other.stdout, "another port stays closed"


def test_limits_end_a_runaway(tree: dict[str, Path]) -> None:
    confinement = Confinement(tree["ws"], read_roots=(), limits=Limits(cpu_s=1))
    argv = confinement.launcher_argv(["/bin/sh", "-c", "while :; do :; done"], tree["scratch"])
    done = subprocess.run(argv, timeout=30, check=False)
    assert done.returncode != 0


def test_redirections_are_opened_inside_the_sandbox(tree: dict[str, Path]) -> None:
    confinement = Confinement(tree["ws"], read_roots=())
    redirects: list[list[object]] = [[0, "read", str(tree["outside"] / "secret.txt")]]
    argv = confinement.launcher_argv(["/bin/cat"], tree["scratch"], redirects)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 126
    assert "TOPSECRET" not in done.stdout


FAIL_CLOSED = """
import ctypes, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
ENOSYS = 0x00050000 | 38
prog = [(0x20, 0, 0, 0)]
for nr in (444, 445, 446):
    prog += [(0x15, 0, 1, nr), (0x06, 0, 0, ENOSYS)]
prog += [(0x06, 0, 0, 0x7FFF0000)]
code = b"".join(struct.pack("=HBBI", *i) for i in prog)
buf = ctypes.create_string_buffer(code)
class Prog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))
fprog = Prog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
assert libc.prctl(38, 1, 0, 0, 0) == 0
assert libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0
sys.path.insert(0, sys.argv[1])
from tools.confine import probe, Confinement
from pathlib import Path
import subprocess
status = probe()
print("ACTIVE" if status.active else "INACTIVE", status.detail)
canary = Path(sys.argv[2])
confinement = Confinement(canary.parent, read_roots=())
done = subprocess.run(confinement.launcher_argv(["/usr/bin/touch", str(canary)], canary.parent))
print("EXIT", done.returncode)
"""


def test_without_landlock_nothing_runs_unconfined(tmp_path: Path) -> None:
    """A kernel without Landlock (simulated: its system calls answer ENOSYS): the probe says
    so, and the launcher refuses to run the program rather than run it unconfined."""
    root = Path(__file__).resolve().parents[2]
    canary = tmp_path / "created-unconfined"
    done = subprocess.run([sys.executable, "-c", FAIL_CLOSED, str(root), str(canary)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert "INACTIVE no kernel sandbox: Landlock is not available" in done.stdout, done.stderr
    assert "EXIT 126" in done.stdout
    assert not canary.exists()
