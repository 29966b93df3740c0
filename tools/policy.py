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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.confine import Confinement
from tools.deny import DenyChecks
from tools.shell.expand import GlobTooBroad, confined_env, expand_words, resolve_program
from tools.shell.programs import ProgramSpec, check_arguments, load_programs, programs_from
from tools.shell.script import Script, SimpleCommand
from tools.shell.syntax import NotPlain, plain_script
from tools.verdicts import Decision, Verdict, Verdicts

__all__ = ["Classifier", "CommandPolicy", "Decision", "Verdict"]

DEFAULT_POLICY = Path(__file__).with_name("policy_default.yaml")


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
        self._deny = DenyChecks(policy, workspace)
        self._roots = self.confinement.readable_roots(home)

    def classify(self, command: str, cwd: Path | None = None) -> Decision:
        """allow | approve | deny for the whole command, with reasons; `cwd` defaults to the
        workspace. An allowed decision carries the plain script that runs."""
        verdicts = Verdicts()
        self._deny.check(command, verdicts)
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
