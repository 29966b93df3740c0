"""The command policy: every shell command is parsed and classified allow | approve | deny.

A command is split into parts (pipelines, `&&`, `||`, `;`, `&`, newlines, `$( )`, backticks,
`bash -c` strings, wrappers such as `env`, `timeout` or `xargs`); each part is classified and
the strictest class wins. Pure functions: no I/O but reading the policy file at start.
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

from tools.command_parts import (
    Part,
    program_of,
    split_parts,
    substitutions,
    unwrap,
    written_paths,
)

DEFAULT_POLICY = Path(__file__).with_name("policy_default.yaml")
WRAPPERS = {"env", "nice", "nohup", "time", "command", "exec", "stdbuf", "ionice", "xargs",
            "watch", "timeout", "builtin", "setsid", "chroot", "unbuffer"}  # fmt: skip
SHELL_C = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
FUNCTION_DEFINITION = re.compile(r"[\w:.-]*\s*\(\s*\)\s*\{")
SUBSTITUTION = re.compile(r"\$\(|`|<\(|>\(")
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
    """The class of a whole command, why, and whether it needs a shell to run."""

    verdict: Verdict
    reasons: tuple[tuple[Verdict, str], ...]
    needs_shell: bool

    @property
    def summary(self) -> str:
        """The reasons that decided the class, in one line."""
        deciding = [reason for verdict, reason in self.reasons if verdict == self.verdict]
        return "; ".join(dict.fromkeys(deciding)) or self.verdict.name.lower()


@dataclass(frozen=True)
class CommandPolicy:
    """The policy's lists (from the shipped YAML, optionally overridden by the user's file)."""

    allow: frozenset[str]
    unsafe_arguments: dict[str, frozenset[str]]
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
            unknown = set(extra) - set(data)
            if unknown:
                raise ValueError(f"{override}: unknown keys {', '.join(sorted(unknown))}")
            data.update(extra)
        return cls(
            allow=frozenset(data["allow"]),
            unsafe_arguments={k: frozenset(v) for k, v in data["unsafe_arguments"].items()},
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
        if spec in ("all", "after_first", "last", "in_place"):
            targets[str(program)] = str(spec)
        elif isinstance(spec, list) and spec and all(isinstance(o, str) for o in spec):
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


def _outside(path: str, workspace: Path) -> bool:
    if path.startswith(("~", "$")):
        return True
    candidate = Path(path)
    target = candidate if candidate.is_absolute() else workspace / candidate
    resolved = Path(os.path.normpath(target))
    root = Path(os.path.normpath(workspace))
    return resolved != root and root not in resolved.parents


class Classifier:
    """Classifies commands against one policy and one workspace."""

    def __init__(self, policy: CommandPolicy, workspace: Path) -> None:
        self.policy = policy
        self.workspace = workspace

    def classify(self, command: str) -> Decision:
        """allow | approve | deny for the whole command, with reasons."""
        verdicts = _Verdicts()
        needs_shell = self._classify_into(command, verdicts, depth=0)
        return Decision(verdicts.verdict, tuple(verdicts.reasons), needs_shell)

    def _classify_into(self, command: str, verdicts: _Verdicts, depth: int) -> bool:
        if depth > 4:
            verdicts.add(Verdict.APPROVE, "deeply nested command")
            return True
        normalized = unicodedata.normalize("NFKC", command)
        if normalized != command or not normalized.isascii():
            verdicts.add(Verdict.APPROVE, "unusual (non-ASCII or look-alike) characters")
        if FUNCTION_DEFINITION.search(normalized):
            verdicts.add(Verdict.DENY, "defines a shell function (fork bomb pattern)")
        outer, inner = substitutions(normalized)
        needs_shell = bool(inner) or bool(SUBSTITUTION.search(normalized))
        for sub in inner:
            verdicts.add(Verdict.APPROVE, "command substitution")
            self._classify_into(sub, verdicts, depth + 1)
        try:
            parts = split_parts(outer)
        except ValueError as error:
            verdicts.add(Verdict.DENY, f"cannot parse the command ({error})")
            return True
        if not parts:
            verdicts.add(Verdict.DENY, "empty command")
        needs_shell = needs_shell or len(parts) > 1 or any(p.writes or p.reads for p in parts)
        self._pipelines(parts, verdicts)
        for part in parts:
            self._part(part, verdicts, depth)
        return needs_shell

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
        for source in part.reads:
            if _outside(source, self.workspace):
                verdicts.add(Verdict.APPROVE, f"reads outside the workspace ({source})")
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
            verdicts.add(Verdict.APPROVE, f"runs another command ({program})")
            self._wrapped(unwrap(program, args), verdicts, depth)
            return
        if program in SHELL_C and "-c" in args:
            script = args[args.index("-c") + 1] if args.index("-c") + 1 < len(args) else ""
            verdicts.add(Verdict.APPROVE, f"runs a {program} script")
            self._classify_into(script, verdicts, depth + 1)
            return
        if program == "eval":
            verdicts.add(Verdict.APPROVE, "eval")
            self._classify_into(" ".join(args), verdicts, depth + 1)
            return
        if self._destructive(program, args, verdicts):
            return
        if program in policy.write_targets:
            self._writes(written_paths(policy.write_targets[program], args), verdicts)
        self._allow_or_approve(program, args, verdicts)

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

    def _allow_or_approve(self, program: str, args: list[str], verdicts: _Verdicts) -> None:
        policy = self.policy
        key = f"{program} {args[0]}" if args and f"{program} {args[0]}" in policy.allow else program
        if key not in policy.allow:
            verdicts.add(Verdict.APPROVE, f"{program} is not on the read-only list")
            return
        unsafe = policy.unsafe_arguments.get(key, frozenset()) | policy.unsafe_arguments.get(
            program, frozenset()
        )
        for arg in args:
            if arg.split("=", 1)[0] in unsafe:
                verdicts.add(Verdict.APPROVE, f"{key} {arg} writes or executes")
        for arg in args:
            looks_like_path = arg.startswith(("/", "~", "$")) or ".." in arg
            if not arg.startswith("-") and looks_like_path and _outside(arg, self.workspace):
                verdicts.add(Verdict.APPROVE, f"reads outside the workspace ({arg})")
