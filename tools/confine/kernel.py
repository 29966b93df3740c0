"""Confine this process with Landlock and seccomp and apply limits, then exec the program
(program mode) or run a plain script's pipelines (script mode, `runner.py`).

Started through the stub `launch.py`: `python -I -S launch.py SPEC -- PROGRAM ARG...`, or
`python -I -S launch.py --wait`, which waits for a script's SPEC on standard input (started
ahead of its command). Few standard modules (no json, re or typing), so the interpreter starts
in about 15 ms. SPEC is the text `wire.encode_spec` writes (rules with rights list, ro, rx,
rw, dev; ports; limits; redirections; the script's pipelines, directory and environment).
Exit status 126 with one line on standard error when confinement cannot be applied: a command
never runs unconfined by accident.

Sources: Landlock, https://docs.kernel.org/userspace-api/landlock.html (ABI 1 to 7);
seccomp, https://docs.kernel.org/userspace-api/seccomp_filter.html and linux/filter.h.
"""

from __future__ import annotations

import ctypes
import os
import resource
import struct
import sys

TYPE_CHECKING = False  # typing costs ~5 ms of the launcher's start: only for the checker
if TYPE_CHECKING:
    from typing import Any

if __package__:
    from tools.confine import runner, wire
else:  # imported by the launch.py stub, which put this folder on sys.path
    import runner  # type: ignore[no-redef,import-not-found]
    import wire  # type: ignore[no-redef,import-not-found]

SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH, LANDLOCK_RULE_NET_PORT = 1, 2
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
TRUNCATE = 1 << 14
SIGKILL = 9  # not imported from signal: that module costs ~5 ms of start-up (enum)
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 1, 38, 22, 2

# syscall numbers and audit arch per machine: socket, io_uring_setup, truncate, ptrace
ARCHES = {
    "x86_64": (0xC000003E, {"socket": 41, "io_uring_setup": 425, "truncate": 76, "ptrace": 101}),
    "aarch64": (0xC00000B7, {"socket": 198, "io_uring_setup": 425, "truncate": 45, "ptrace": 117}),
}
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
EPERM, EACCES, ENOSYS, EAFNOSUPPORT = 1, 13, 38, 97
RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000


class _RulesetAttr(ctypes.Structure):
    _fields_ = (("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64))


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _NetPort(ctypes.Structure):
    _fields_ = (("allowed", ctypes.c_uint64), ("port", ctypes.c_uint64))


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


class ConfineError(Exception):
    """Confinement could not be applied."""


_libc = ctypes.CDLL(None, use_errno=True)


def _call(name: str, result: int) -> int:
    if result < 0:
        raise ConfineError(f"{name}: {os.strerror(ctypes.get_errno())}")
    return result


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is off or unknown."""
    version = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    return max(int(version), 0)


def fs_rights(abi: int) -> int:
    """Every filesystem right this ABI knows (all of them are handled, so denied by default)."""
    bits = (1 << 13) - 1  # ABI 1: execute .. make_sym
    if abi >= 2:
        bits |= 1 << 13  # refer
    if abi >= 3:
        bits |= TRUNCATE
    if abi >= 5:
        bits |= 1 << 15  # ioctl_dev
    return bits


RIGHTS = {
    "list": READ_DIR,
    "ro": READ_FILE | READ_DIR,
    "rx": READ_FILE | READ_DIR | EXECUTE,
    "dev": READ_FILE | WRITE_FILE | TRUNCATE,
}


def _rights(name: str, is_dir: bool, handled: int) -> int:
    value = handled if name == "rw" else RIGHTS[name]
    if not is_dir:
        value &= EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | (1 << 15)
    return value & handled


def apply_landlock(spec: dict[str, Any], abi: int) -> None:
    """Allow only the spec's paths (and ports); everything else on the filesystem is denied."""
    handled = fs_rights(abi)
    net = 3 if abi >= 4 else 0  # bind_tcp | connect_tcp
    scoped = 3 if abi >= 6 else 0  # abstract unix sockets | signals
    attr = _RulesetAttr(handled, net, scoped)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    created = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    ruleset = _call("landlock_create_ruleset", created)
    rules = [tuple(r) for r in spec["rules"]]
    if spec.get("proc_self"):
        rules.append((f"/proc/{os.getpid()}", "ro"))
    for path, name in rules:
        try:
            fd = os.open(str(path), os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # a path missing on this machine grants nothing
        try:
            is_dir = os.path.isdir(f"/proc/self/fd/{fd}")
            allowed = _rights(str(name), is_dir, handled)
            if not allowed:
                continue
            rule = _PathBeneath(allowed, fd)
            added = _libc.syscall(
                SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0
            )
            _call(f"landlock_add_rule {path}", added)
        finally:
            os.close(fd)
    for port in spec["tcp_ports"] if net else []:
        rule_net = _NetPort(2, int(port))
        added = _libc.syscall(
            SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_NET_PORT, ctypes.byref(rule_net), 0
        )
        _call("landlock_add_rule port", added)
    _call("prctl no_new_privs", _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
    _call("landlock_restrict_self", _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0))
    os.close(ruleset)


def seccomp_program(machine: str, network: bool) -> bytes:
    """A BPF filter: sockets only of the Unix and netlink families (and IP when `network`),
    no io_uring (it would bypass the socket check), no truncate(2), no ptrace."""
    if machine not in ARCHES:
        raise ConfineError(f"no seccomp filter for {machine}")
    arch, nr = ARCHES[machine]
    inet = RET_ALLOW if network else RET_ERRNO | EACCES
    ld, jeq, jge, ja, ret = 0x20, 0x15, 0x35, 0x05, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, ...
    code: list[tuple[int, int, int, int]] = [
        (ld, 0, 0, 4),
        (jeq, 1, 0, arch),
        (ret, 0, 0, RET_KILL_PROCESS),  # another ABI: kill
        (ld, 0, 0, 0),  # the syscall number
    ]
    if machine == "x86_64":
        code += [(jge, 0, 1, 0x40000000), (ret, 0, 0, RET_ERRNO | EPERM)]  # x32 syscalls
    code += [
        (jeq, 0, 1, nr["socket"]), (ja, 0, 0, 7),  # to the family checks
        (jeq, 0, 1, nr["io_uring_setup"]), (ret, 0, 0, RET_ERRNO | ENOSYS),
        (jeq, 0, 1, nr["truncate"]), (ret, 0, 0, RET_ERRNO | EPERM),
        (jeq, 0, 1, nr["ptrace"]), (ret, 0, 0, RET_ERRNO | EPERM),
        (ret, 0, 0, RET_ALLOW),
        (ld, 0, 0, 16),  # socket(domain, ...): the low 32 bits of the first argument
        (jeq, 5, 0, AF_UNIX), (jeq, 4, 0, AF_NETLINK),
        (jeq, 2, 0, AF_INET), (jeq, 1, 0, AF_INET6),
        (ret, 0, 0, RET_ERRNO | EAFNOSUPPORT),
        (ret, 0, 0, inet),
        (ret, 0, 0, RET_ALLOW),
    ]  # fmt: skip
    return b"".join(struct.pack("=HBBI", *ins) for ins in code)


def apply_seccomp(program: bytes) -> None:
    """Install the filter (no_new_privs is already set)."""
    buffer = ctypes.create_string_buffer(program)
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _call("prctl no_new_privs", _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
    _call("seccomp", _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0))


def apply_limits(limits: dict[str, int]) -> None:
    """Resource limits: CPU seconds, address space, file size, open files, core dumps."""
    names = {"cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS, "fsize": resource.RLIMIT_FSIZE,
             "nofile": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}  # fmt: skip
    for key, value in limits.items():
        resource.setrlimit(names[key], (int(value), int(value)))


def main(argv: list[str]) -> int:
    """Confine, then exec the program (or run the script's pipelines); 126 and one line when
    confinement cannot be applied."""
    _libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    script = argv[1:] == ["--wait"]
    if not script and (len(argv) < 4 or argv[2] != "--"):
        print("usage: launch.py SPEC -- PROGRAM [ARG...] | launch.py --wait (a script's SPEC "
              "on standard input)", file=sys.stderr)  # fmt: skip
        return 2
    text = sys.stdin.buffer.read().decode("utf-8", "surrogateescape") if script else argv[1]
    if script and not text:
        return 0  # started ahead and never used: the bot went away or closed it
    spec = wire.parse_spec(text)
    try:
        if spec.get("cwd"):
            os.chdir(spec["cwd"])
        abi = landlock_abi()
        if abi < 1:
            raise ConfineError("Landlock is not available in this kernel")
        program = seccomp_program(os.uname().machine, bool(spec.get("network")))
        apply_limits(spec["rlimits"])
        apply_landlock(spec, abi)
        apply_seccomp(program)
        if not script:
            runner.apply_redirects(spec["redirects"])
    except (ConfineError, OSError) as error:
        print(f"opsbot-confine: {error}", file=sys.stderr)
        return 126
    if script:
        return runner.run_steps(spec["steps"], spec["env"] or dict(os.environ))
    try:
        os.execv(argv[3], argv[3:])
    except OSError as error:
        print(f"opsbot-confine: {argv[3]}: {error.strerror}", file=sys.stderr)
        return 127
    return 127  # unreachable: execv does not return
