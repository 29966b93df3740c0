"""The command policy: every shell command is parsed once and classified allow | approve | deny.

One parse (tree-sitter-bash, `tools.shell.syntax`) serves both questions:
- **allow** only when the whole tree lies in the plain subset and every program, option and
  operand is on the per-program allow-lists (`tools/shell/programs.yaml`), with every path
  resolved inside what a confined command may read. Such a command runs from that tree, by
  opsbot's own executor, kernel-confined; `Decision.plan` is what runs.
- **deny** for what is never run, whatever a person says: every simple command anywhere in
  the tree (inside substitutions, subshells, `bash -c` strings, wrappers such as `env`,
  `timeout` or `xargs`) is checked against the deny rules of `policy_default.yaml`.
- **approve** for everything else; after approval exactly the reviewed text runs.
The strictest verdict wins. No I/O but reading the policy files and resolving paths.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import yaml

from tools.command_parts import Part, program_of, tree_parts, unwrap, written_paths
from tools.confine import Confinement
from tools.shell.expand import GlobTooBroad, confined_env, expand_words, resolve_program
from tools.shell.programs import ProgramSpec, check_arguments, load_programs, programs_from
from tools.shell.syntax import NotPlain, Script, SimpleCommand, parse_tree, plain_script

DEFAULT_POLICY = Path(__file__).with_name("policy_default.yaml")
WRAPPERS = {"env", "nice", "nohup", "time", "command", "exec", "stdbuf", "ionice", "xargs",
            "busybox", "watch", "timeout", "builtin", "setsid", "chroot", "unbuffer"}  # fmt: skip
SHELL_C = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
SYSTEM_PATHS = ("/", "/*", "~", "~/", "$HOME", "${HOME}", "/root", "/home", "/etc", "/usr",
                "/var", "/boot", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/srv", "/dev",
                "/proc", "/sys")  # fmt: skip


class Verdict(IntEnum):
    """Ordered so the strictest of several is `max()`."""

    ALLOW = 0
    APPROVE = 1
    DENY = 2


@dataclass(frozen=True)
class Decision:
    """The class of a whole command, why, and (when allowed) the plain script that runs."""

    verdict: Verdict
    reasons: tuple[tuple[Verdict, str], ...]
    plan: Script | None = None

    @property
    def needs_shell(self) -> bool:
        """True when only a shell can run it (so only after approval)."""
        return self.plan is None

    @property
    def summary(self) -> str:
        """The reasons that decided the class, in one line."""
        deciding = [reason for verdict, reason in self.reasons if verdict == self.verdict]
        return "; ".join(dict.fromkeys(deciding)) or self.verdict.name.lower()


@dataclass(frozen=True)
class CommandPolicy:
    """The policy's lists (from the shipped YAML, optionally overridden by the user's file)."""

    programs: dict[str, ProgramSpec]
    deny_programs: frozenset[str]
    privileged_programs: frozenset[str]
    allow_sudo: bool
    downloaders: frozenset[str]
    interpreters: frozenset[str]
    write_targets: dict[str, str | tuple[str, ...]]

    @classmethod
    def load(cls, override: Path | None = None) -> CommandPolicy:
        """The shipped policy, with the keys of `override` replacing the shipped ones."""
        data: dict[str, Any] = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
        if override is not None:
            extra = yaml.safe_load(override.read_text(encoding="utf-8")) or {}
            if not isinstance(extra, dict):
                raise ValueError(f"{override}: the policy must be a mapping")
            if "allow" in extra or "unsafe_arguments" in extra:
                raise ValueError(
                    f"{override}: allow and unsafe_arguments were replaced by programs "
                    "(per-program options; see tools/shell/programs.yaml)"
                )
            unknown = set(extra) - set(data) - {"programs"}
            if unknown:
                raise ValueError(f"{override}: unknown keys {', '.join(sorted(unknown))}")
            data.update(extra)
        return cls(
            programs={**load_programs(), **programs_from(data.get("programs") or {})},
            deny_programs=frozenset(data["deny_programs"]),
            privileged_programs=frozenset(data["privileged_programs"]),
            allow_sudo=bool(data["allow_sudo"]),
            downloaders=frozenset(data["downloaders"]),
            interpreters=frozenset(data["interpreters"]),
            write_targets=_write_targets(data["write_targets"]),
        )


def _write_targets(data: Any) -> dict[str, str | tuple[str, ...]]:
    targets: dict[str, str | tuple[str, ...]] = {}
    for program, spec in (data or {}).items():
        if spec in ("all", "after_first", "last", "in_place", "find"):
            targets[str(program)] = str(spec)
        elif isinstance(spec, list) and spec and all(isinstance(o, str) for o in spec):
            rules = [o for o in spec if not o.startswith("-") and not o.endswith("=")]
            if any(r not in ("all", "after_first", "last") for r in rules) or len(rules) > 1:
                raise ValueError(f"write_targets.{program}: one of all, after_first, last and "
                                 "options (starting with -)")  # fmt: skip
            targets[str(program)] = tuple(spec)
        else:
            raise ValueError(
                f"write_targets.{program}: expected all, after_first, last, in_place or options"
            )
    return targets


@dataclass
class _Verdicts:
    verdict: Verdict = Verdict.ALLOW
    reasons: list[tuple[Verdict, str]] = field(default_factory=list)

    def add(self, verdict: Verdict, reason: str | None = None) -> None:
        if verdict > self.verdict:
            self.verdict = verdict
        if reason and verdict >= Verdict.APPROVE:
            self.reasons.append((verdict, reason))


HOME_WORDS = ("~", "$HOME", "${HOME}")


def _outside(path: str, workspace: Path) -> bool:
    """Whether `path` (as written) lands outside the workspace, symlinks resolved; a word whose
    value is only known when it runs (`$f`) is not judged here (it needs approval anyway)."""
    if path.startswith(HOME_WORDS):
        return True
    if path.startswith("$") or "$(" in path or "`" in path:
        return False
    candidate = Path(path)
    target = candidate if candidate.is_absolute() else workspace / candidate
    resolved = Path(os.path.realpath(target))
    root = Path(os.path.realpath(workspace))
    return resolved != root and root not in resolved.parents


# The program's own /proc entries that hold facts about it, never links that lead elsewhere
# (root, cwd, exe, fd/N, map_files: /proc/self/root/<outside> is any file on the system).
OWN_PROC = re.compile(
    r"/proc/(self|thread-self)/(status|stat|statm|limits|mounts|mountinfo|cgroup|io|environ"
    r"|cmdline|comm|sched|smaps_rollup|maps|oom_score|net/\w+)"
)
PLAIN_WRITE_TARGETS = ("/dev/null",)


class Classifier:
    """Classifies commands against one policy and one workspace.

    `confinement` says what a confined command may read (by default the workspace, the
    system's log directories and what programs need); `home` is the root of the confined
    commands' scratch directories (their HOME).
    """

    def __init__(
        self,
        policy: CommandPolicy,
        workspace: Path,
        confinement: Confinement | None = None,
        home: Path = Path("/nonexistent/opsbot-home"),
    ) -> None:
        self.policy = policy
        self.workspace = workspace
        self.confinement = confinement or Confinement(workspace)
        self.home = home
        self.hidden = self.confinement.hidden_paths()
        self._roots = self.confinement.readable_roots(home)

    def classify(self, command: str, cwd: Path | None = None) -> Decision:
        """allow | approve | deny for the whole command, with reasons; `cwd` defaults to the
        workspace. An allowed decision carries the plain script that runs."""
        verdicts = _Verdicts()
        self._deny_checks(command, verdicts, depth=0)
        plan: Script | None = None
        try:
            plan = plain_script(command)
        except NotPlain as not_plain:
            for reason in not_plain.reasons:
                verdicts.add(Verdict.APPROVE, f"uses {reason}" if not reason.startswith(
                    ("does", "runs", "text", "an empty", "a redirection")) else reason)  # fmt: skip
        if plan is not None:
            for reason in self.plain_reasons(plan, cwd or self.workspace):
                verdicts.add(Verdict.APPROVE, reason)
        allowed = verdicts.verdict is Verdict.ALLOW
        return Decision(verdicts.verdict, tuple(verdicts.reasons), plan if allowed else None)

    def plain_reasons(self, plan: Script, cwd: Path) -> list[str]:
        """Why a plain script may not run unasked from `cwd` (empty when it may): every
        program on the allow-lists with only its listed options, every path readable."""
        reasons: list[str] = []
        env = confined_env(self.home, cwd)
        for command in plan.commands():
            reasons.extend(self._plain_command(command, cwd, env))
        return list(dict.fromkeys(reasons))

    def _plain_command(self, command: SimpleCommand, cwd: Path, env: dict[str, str]) -> list[str]:
        reasons: list[str] = []
        for redirect in command.redirects:
            target = redirect.target.expand(env)
            if redirect.op == "read":
                problem = self.read_problem(target, cwd)
                if problem:
                    reasons.append(problem)
            elif redirect.op in ("write", "append") and target not in PLAIN_WRITE_TARGETS:
                reasons.append(f"writes {target}")
            elif redirect.op == "dup" and target not in ("1", "2"):
                reasons.append(f"redirects to file descriptor {target}")
        try:
            argv = expand_words(command.words, cwd, env, self.may_list)
        except GlobTooBroad as broad:
            return [*reasons, str(broad)]
        name, args = argv[0], argv[1:]
        spec = self.policy.programs.get(name if "/" not in name else os.path.basename(name))
        if spec is None:
            return [*reasons, f"{name} is not on the read-only list"]
        if resolve_program(name) is None:
            return [*reasons, f"{name} is not a program of this system (only system binaries "
                    "run unasked)"]  # fmt: skip
        return reasons + check_arguments(spec, args, lambda path: self.read_problem(path, cwd))

    def may_list(self, name: str, cwd: Path) -> bool:
        """Whether a name a glob matched may be shown: it lies inside what a confined command
        may read both as written and with its symlinks resolved (so a glob through a
        symlinked directory or a path outside shows nothing)."""
        written = Path(os.path.normpath(Path(os.path.realpath(cwd)) / name))
        inside = any(written == r or r in written.parents for r in self._roots)
        return inside and self.read_problem(name, cwd) is None

    def read_problem(self, path: str, cwd: Path) -> str | None:
        """None when a confined command may read `path` (resolved: symlinks and `..`), else
        why not."""
        if "\x00" in path:
            return "a path with a NUL byte"
        if OWN_PROC.fullmatch(path) and "/.." not in path:
            return None
        real = Path(os.path.realpath(cwd / path))
        if any(real == h or h in real.parents for h in self.hidden):
            return f"reads {path}, which commands never read"
        if any(real == root or root in real.parents for root in self._roots):
            return None
        return f"reads {path} outside the workspace and the log sources"

    def _deny_checks(self, command: str, verdicts: _Verdicts, depth: int) -> None:
        if depth > 4:
            verdicts.add(Verdict.APPROVE, "deeply nested command")
            return
        normalized = unicodedata.normalize("NFKC", command)
        if normalized != command or not normalized.isascii():
            verdicts.add(Verdict.APPROVE, "unusual (non-ASCII or look-alike) characters")
        tree = parse_tree(normalized)
        if tree.root_node.has_error:
            verdicts.add(Verdict.DENY, "cannot parse the command (a shell would not run it)")
            return
        self._functions(tree.root_node, verdicts)
        parts = tree_parts(tree.root_node)
        if not parts:
            verdicts.add(Verdict.DENY, "empty command")
        self._pipelines(parts, verdicts)
        for part in parts:
            self._part(part, verdicts, depth)

    def _functions(self, root: Any, verdicts: _Verdicts) -> None:
        """A function that calls itself is the fork bomb's shape (`:(){ :|:& };:`)."""
        stack = [root]
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            if node.type != "function_definition":
                continue
            name = node.child_by_field_name("name")
            body = node.child_by_field_name("body")
            called = {p.argv[0] for p in tree_parts(body) if p.argv} if body is not None else set()
            if name is not None and (name.text or b"").decode() in called:
                verdicts.add(Verdict.DENY, "a function that calls itself (fork bomb pattern)")

    def _pipelines(self, parts: list[Part], verdicts: _Verdicts) -> None:
        downloaded = False
        for part in parts:
            program, _ = program_of(part.argv)
            if not part.piped:
                downloaded = False
            if downloaded and program in self.policy.interpreters:
                verdicts.add(Verdict.DENY, f"pipes a download into {program}")
            downloaded = downloaded or program in self.policy.downloaders

    def _part(self, part: Part, verdicts: _Verdicts, depth: int) -> None:
        self._writes(part.writes, verdicts)
        program, args = program_of(part.argv)
        if program:
            self._program(program, args, verdicts, depth)

    def _program(self, program: str, args: list[str], verdicts: _Verdicts, depth: int) -> None:
        policy = self.policy
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+", program):
            verdicts.add(Verdict.APPROVE, f"unusual program name {program!r}")
        if program in policy.privileged_programs:
            if not policy.allow_sudo:
                verdicts.add(Verdict.DENY, f"{program} is not enabled (allow_sudo)")
                return
            verdicts.add(Verdict.APPROVE, f"runs as another user ({program})")
            self._wrapped(unwrap(program, args), verdicts, depth)
            return
        if program in policy.deny_programs or program.startswith("mkfs."):
            verdicts.add(Verdict.DENY, f"{program} is never run")
            return
        if program in WRAPPERS:
            self._wrapped(unwrap(program, args), verdicts, depth)
            return
        if program in SHELL_C and "-c" in args:
            script = args[args.index("-c") + 1] if args.index("-c") + 1 < len(args) else ""
            self._deny_checks(script, verdicts, depth + 1)
            return
        if program == "eval":
            self._deny_checks(" ".join(args), verdicts, depth + 1)
            return
        if program == "find":
            self._find_actions(args, verdicts, depth)
        if self._destructive(program, args, verdicts):
            return
        if program in policy.write_targets:
            self._writes(written_paths(policy.write_targets[program], args), verdicts)

    def _find_actions(self, args: list[str], verdicts: _Verdicts, depth: int) -> None:
        """`find START... -exec CMD {} ;` runs CMD on what it finds: each CMD is checked as
        if run on every start point (`find / -exec rm -rf {} +` is `rm -rf /`)."""
        first_test = next((i for i, a in enumerate(args) if a.startswith(("-", "(", "!"))),
                          len(args))  # fmt: skip
        starts = args[:first_test] or ["."]
        index = first_test
        while index < len(args):
            if args[index] in ("-exec", "-execdir", "-ok", "-okdir"):
                end = next((j for j in range(index + 1, len(args)) if args[j] in (";", "+")),
                           len(args))  # fmt: skip
                command = args[index + 1 : end]
                for start in starts:
                    self._wrapped([start if w == "{}" else w for w in command], verdicts, depth)
                index = end
            index += 1

    def _writes(self, targets: list[str], verdicts: _Verdicts) -> None:
        for target in targets:
            if target in ("/dev/null", "/dev/stdout", "/dev/stderr") or target.isdigit():
                continue
            if _outside(target, self.workspace):
                verdicts.add(Verdict.DENY, f"writes outside the workspace ({target})")
            else:
                verdicts.add(Verdict.APPROVE, f"writes {target}")

    def _wrapped(self, argv: list[str], verdicts: _Verdicts, depth: int) -> None:
        program, args = program_of(argv)
        if program:
            self._program(program, args, verdicts, depth + 1)

    def _destructive(self, program: str, args: list[str], verdicts: _Verdicts) -> bool:
        flags = "".join(a.lstrip("-") for a in args if a.startswith("-") and not a.startswith("--"))
        long_flags = {a for a in args if a.startswith("--")}
        targets = [a for a in args if not a.startswith("-")]
        if program == "rm" and ("r" in flags.lower() or "--recursive" in long_flags):
            for target in targets:
                if (
                    target.rstrip("/") in ("", ".", "..")
                    or target in SYSTEM_PATHS
                    or _outside(target, self.workspace)
                ):
                    verdicts.add(Verdict.DENY, f"recursive delete of {target or '/'}")
                    return True
        if program == "rm" and "--no-preserve-root" in long_flags:
            verdicts.add(Verdict.DENY, "rm --no-preserve-root")
            return True
        if program == "dd" and any(a.startswith("of=/dev/") for a in args):
            verdicts.add(Verdict.DENY, "dd onto a device")
            return True
        if program in ("chmod", "chown", "chgrp") and any(t in SYSTEM_PATHS for t in targets):
            verdicts.add(Verdict.DENY, f"{program} on a system path")
            return True
        if program in ("kill", "pkill", "killall") and ("-1" in args or "1" in targets):
            verdicts.add(Verdict.DENY, "kills every process or init")
            return True
        return False
