"""Kernel confinement for every command that runs without approval (Landlock and seccomp).

`Confinement` says what a confined command may touch: read the workspace (minus hidden files
such as the bot's database and `.env`), the log directories and the system directories
programs need; write only its own scratch directory; no network unless the operator listed
endpoints. `launcher_argv` wraps a program in `launch.py`, which applies it in the child and
then execs the program. `probe()` tells once per process whether the kernel offers it.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tools.confine import kernel, wire
from tools.confine.secrets_scan import hidden_in

LAUNCHER = Path(kernel.__file__).with_name("launch.py")
EXEC_ROOTS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
             "localtime", "timezone", "hosts", "host.conf", "resolv.conf", "gai.conf", "ssl",
             "ca-certificates", "os-release", "alternatives", "magic", "magic.mime",
             "mime.types", "terminfo", "locale.alias", "protocols", "services", "machine-id",
             "debian_version", "lsb-release", "systemd")  # fmt: skip
PROC_FILES = ("meminfo", "cpuinfo", "stat", "uptime", "loadavg", "version", "filesystems",
              "swaps", "diskstats", "vmstat", "partitions", "pressure", "mounts")  # fmt: skip
DEV_READ = ("/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")
DEFAULT_LOG_ROOTS = (Path("/var/log"), Path("/run/log/journal"))


@dataclass(frozen=True)
class Limits:
    """Resource limits of one confined process (seconds of CPU, bytes)."""

    cpu_s: int = 60
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 64 * 1024**2
    open_files: int = 1024

    def rlimits(self) -> dict[str, int]:
        """The launcher's `rlimits` field."""
        return {"cpu": self.cpu_s, "as": self.memory_bytes, "fsize": self.file_bytes,
                "nofile": self.open_files, "core": 0}  # fmt: skip


@dataclass(frozen=True)
class Confinement:
    """What a confined command may touch (paths are resolved when rules are built)."""

    workspace: Path
    read_roots: tuple[Path, ...] = DEFAULT_LOG_ROOTS
    hidden: tuple[Path, ...] = ()
    tcp_ports: tuple[int, ...] = ()
    network: bool = False
    kubeconfig: str | None = None
    """The operator's kubeconfig file(s) (`KUBECONFIG`, `:`-separated): readable, and what
    confined kubectl uses."""
    limits: Limits = field(default_factory=Limits)

    def hidden_paths(self) -> tuple[Path, ...]:
        """Files no confined command reads: the configured ones (the bot's database) plus the
        workspace's `.env*` files and hard-linked files (`secrets_scan`)."""
        configured = tuple(Path(os.path.realpath(p)) for p in self.hidden)
        return (*configured, *hidden_in(self.workspace))

    def readable_roots(self, home: Path) -> tuple[Path, ...]:
        """Every path a confined command may read below (for the policy's verdicts)."""
        system = [Path(p) for p in EXEC_ROOTS] + [Path("/etc") / f for f in ETC_FILES]
        system += [Path("/proc") / f for f in PROC_FILES] + [Path("/sys"), Path("/dev/null")]
        roots = (self.workspace, *self.read_roots, home, *system)
        return tuple(Path(os.path.realpath(r)) for r in roots)

    def rules(self, scratch: Path) -> list[tuple[str, str]]:
        """The launcher's Landlock rules: (path, rights) pairs."""
        rules = [(p, "rx") for p in EXEC_ROOTS]
        rules += [(f"/etc/{f}", "ro") for f in ETC_FILES]
        rules += [(f"/proc/{f}", "ro") for f in PROC_FILES]
        rules += [("/sys", "ro"), ("/dev/null", "dev")] + [(p, "ro") for p in DEV_READ]
        hidden = self.hidden_paths()
        for root in (self.workspace, *self.read_roots):
            rules += readable_except(Path(os.path.realpath(root)), hidden)
        rules += [(path, "ro") for path in (self.kubeconfig or "").split(":") if path]
        rules.append((str(scratch), "rw"))
        return rules

    def spec(self, scratch: Path, redirects: list[list[object]]) -> dict[str, object]:
        """The launcher's whole specification for one process."""
        return {
            "rules": self.rules(scratch),
            "proc_self": True,
            "tcp_ports": list(self.tcp_ports),
            "network": self.network,
            "rlimits": self.limits.rlimits(),
            "redirects": redirects,
        }

    def launcher_argv(
        self, argv: list[str], scratch: Path, redirects: list[list[object]] | None = None
    ) -> list[str]:
        """`argv` wrapped in the launcher, which confines it before it execs."""
        spec = wire.encode_spec(self.spec(scratch, redirects or []))
        return [sys.executable, "-I", "-S", str(LAUNCHER), spec, "--", *argv]

    def script_spec(
        self, steps: list[tuple[str, list[tuple[list[str], list[list[object]]]]]],
        scratch: Path, cwd: Path, env: dict[str, str],
    ) -> bytes:  # fmt: skip
        """A whole plain script, its directory and environment, for a launcher started with
        `WAITING_ARGV` (it reads this on standard input, confines itself and forks every
        program). `steps`: [(connector, [(argv, redirects), ...]), ...]."""
        spec = {**self.spec(scratch, []), "steps": steps, "cwd": str(cwd), "env": env}
        return wire.encode_spec(spec).encode("utf-8", "surrogateescape")


WAITING_ARGV = (sys.executable, "-I", "-S", str(LAUNCHER), "--wait")
"""A launcher started ahead of its command: it waits for the script on standard input."""


def readable_except(root: Path, hidden: tuple[Path, ...]) -> list[tuple[str, str]]:
    """Rules that let `root` be read but for the `hidden` paths below it: directories on the
    way to a hidden path may be listed, and each other entry beside it is allowed whole.
    A symlink among those entries gets no rule: a rule follows it to its target, which may
    lie anywhere (what it points to inside a readable root stays readable there)."""
    inside = [h for h in hidden if root in h.parents]
    if root in hidden or root.is_symlink():
        return []
    if not inside:
        return [(str(root), "ro")]
    rules = [(str(root), "list")]
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return rules
    for entry in entries:
        rules += readable_except(entry, tuple(inside))
    return rules


@dataclass(frozen=True)
class Status:
    """Whether confinement works here, and one line a person reads (startup, health)."""

    active: bool
    detail: str


@functools.cache
def probe() -> Status:
    """Run the launcher twice on this machine: a program must run, and a file outside its
    rules must be unreadable. Cached for the process."""
    abi = kernel.landlock_abi()
    if abi < 1:
        return Status(False, "no kernel sandbox: Landlock is not available in this kernel")
    if platform.machine() not in kernel.ARCHES:
        return Status(False, f"no kernel sandbox: no seccomp filter for {platform.machine()}")
    with tempfile.TemporaryDirectory(prefix="opsbot-probe-") as temp:
        base = Path(temp)
        (base / "ws").mkdir()
        secret = base / "outside.txt"
        secret.write_text("probe")
        confinement = Confinement(base / "ws", read_roots=())
        scratch = base / "scratch"
        scratch.mkdir()
        ran = _run(confinement.launcher_argv(["/bin/true"], scratch))
        leaked = _run(confinement.launcher_argv(["/bin/cat", str(secret)], scratch))
    if ran != 0:
        return Status(False, f"no kernel sandbox: a confined program did not start (exit {ran})")
    if leaked == 0:
        return Status(False, "no kernel sandbox: a confined program read a file outside its rules")
    net = "no network" if abi >= 4 else "no network (seccomp; Landlock ABI < 4)"
    return Status(True, f"kernel sandbox active: Landlock ABI {abi} + seccomp; {net}")


def _run(argv: list[str]) -> int:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return -1
    return done.returncode
