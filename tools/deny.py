"""The deny checks: what never runs, whatever a person says.

Every simple command anywhere in a command's tree (inside substitutions, subshells, function
bodies, `bash -c` strings, wrappers such as `env`, `timeout`, `xargs`, `find -exec`) is read
as the shell would most plausibly read it (`tools.command_parts`) and checked against the
rules of `policy_default.yaml`: recursive deletes of `/`, `~` or the workspace, disks,
privilege, a download piped into an interpreter, writes outside the workspace. These checks
allow nothing; a command that passes them still needs a person unless it is plain and
allow-listed (`tools.policy`).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.command_parts import Part, program_of, tree_parts, unwrap, written_paths
from tools.shell.syntax import parse_tree
from tools.verdicts import Verdict, Verdicts

if TYPE_CHECKING:
    from tools.policy import CommandPolicy

WRAPPERS = {"env", "nice", "nohup", "time", "command", "exec", "stdbuf", "ionice", "xargs",
            "busybox", "watch", "timeout", "builtin", "setsid", "chroot", "unbuffer"}  # fmt: skip
SHELL_C = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
SYSTEM_PATHS = ("/", "/*", "~", "~/", "$HOME", "${HOME}", "/root", "/home", "/etc", "/usr",
                "/var", "/boot", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/srv", "/dev",
                "/proc", "/sys")  # fmt: skip


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


class DenyChecks:
    """The deny rules of one policy for one workspace."""

    def __init__(self, policy: CommandPolicy, workspace: Path) -> None:
        self.policy = policy
        self.workspace = workspace

    def check(self, command: str, verdicts: Verdicts) -> None:
        """Add what the rules say of `command` (deny, or approve reasons) to `verdicts`."""
        self._deny_checks(command, verdicts, depth=0)

    def _deny_checks(self, command: str, verdicts: Verdicts, depth: int) -> None:
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

    def _functions(self, root: Any, verdicts: Verdicts) -> None:
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

    def _pipelines(self, parts: list[Part], verdicts: Verdicts) -> None:
        downloaded = False
        for part in parts:
            program, _ = program_of(part.argv)
            if not part.piped:
                downloaded = False
            if downloaded and program in self.policy.interpreters:
                verdicts.add(Verdict.DENY, f"pipes a download into {program}")
            downloaded = downloaded or program in self.policy.downloaders

    def _part(self, part: Part, verdicts: Verdicts, depth: int) -> None:
        self._writes(part.writes, verdicts)
        program, args = program_of(part.argv)
        if program:
            self._program(program, args, verdicts, depth)

    def _program(self, program: str, args: list[str], verdicts: Verdicts, depth: int) -> None:
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

    def _find_actions(self, args: list[str], verdicts: Verdicts, depth: int) -> None:
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

    def _writes(self, targets: list[str], verdicts: Verdicts) -> None:
        for target in targets:
            if target in ("/dev/null", "/dev/stdout", "/dev/stderr") or target.isdigit():
                continue
            if _outside(target, self.workspace):
                verdicts.add(Verdict.DENY, f"writes outside the workspace ({target})")
            else:
                verdicts.add(Verdict.APPROVE, f"writes {target}")

    def _wrapped(self, argv: list[str], verdicts: Verdicts, depth: int) -> None:
        program, args = program_of(argv)
        if program:
            self._program(program, args, verdicts, depth + 1)

    def _destructive(self, program: str, args: list[str], verdicts: Verdicts) -> bool:
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
