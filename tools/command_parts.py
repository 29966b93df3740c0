"""How a shell command breaks into parts, and what each part runs and redirects.

Pure string work for the command policy: no I/O, no verdicts.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field

SEPARATORS = {";", "&&", "||", "|", "&", "|&", "(", ")", ";;"}
OUTPUT_REDIRECTS = {">", ">>", ">|", "&>", "&>>", ">&", "<>"}
INPUT_REDIRECTS = {"<", "<<", "<<<", "<&"}


@dataclass
class Part:
    """One simple command: its words, the files it redirects to and from, and whether it
    reads a pipe."""

    argv: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    piped: bool = False


def substitutions(command: str) -> tuple[str, list[str]]:
    """Replace `$( )`, `<( )`, `>( )` and backticks with a word; return the inner commands."""
    inner: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(command):
        if command[i] == "`":
            end = command.find("`", i + 1)
            end = len(command) if end < 0 else end
            inner.append(command[i + 1 : end])
            out.append(" SUBSTITUTION ")
            i = end + 1
        elif command[i] in "$<>" and command[i + 1 : i + 2] == "(":
            depth, j = 1, i + 2
            while j < len(command) and depth:
                depth += {"(": 1, ")": -1}.get(command[j], 0)
                j += 1
            inner.append(command[i + 2 : j - 1])
            out.append(" SUBSTITUTION ")
            i = j
        else:
            out.append(command[i])
            i += 1
    return "".join(out), inner


def split_parts(command: str) -> list[Part]:
    """The simple commands of `command` (its substitutions already replaced)."""
    lexer = shlex.shlex(command.replace("\n", " ; "), posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    tokens = list(lexer)
    parts, current, pending_redirect = [], Part(), None
    for token in tokens:
        if pending_redirect is not None:
            (current.writes if pending_redirect in OUTPUT_REDIRECTS else current.reads).append(
                token
            )
            pending_redirect = None
        elif token in SEPARATORS:
            parts.append(current)
            current = Part(piped=token in ("|", "|&"))
        elif token in OUTPUT_REDIRECTS or token in INPUT_REDIRECTS:
            if current.argv and current.argv[-1].isdigit():
                current.argv.pop()  # a file descriptor such as the 2 of 2>
            pending_redirect = token
        else:
            current.argv.append(token)
    parts.append(current)
    return [p for p in parts if p.argv or p.writes or p.reads]


def program_of(argv: list[str]) -> tuple[str, list[str]]:
    """The program name (leading VAR=value assignments skipped) and its arguments."""
    while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
        argv = argv[1:]
    if not argv:
        return "", []
    return os.path.basename(argv[0]), argv[1:]


def unwrap(program: str, args: list[str]) -> list[str]:
    """The command a wrapper runs (`env FOO=1 rm x` runs `rm x`)."""
    rest = list(args)
    if program == "timeout":
        while rest and rest[0].startswith("-"):
            rest.pop(0)
        rest = rest[1:]  # the duration
    else:
        while rest and (rest[0].startswith("-") or (program == "env" and "=" in rest[0])):
            rest.pop(0)
    return rest


def sed_in_place_files(args: list[str]) -> list[str]:
    """The files `sed -i` rewrites: the arguments after the script (or all, with -e/-f)."""
    if not any(a.startswith("--in-place") or re.fullmatch(r"-[a-zA-Z]*i\S*", a) for a in args):
        return []
    scripted, paths, skip = False, [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-e", "--expression", "-f", "--file"):
            scripted = skip = True
        elif not arg.startswith("-"):
            paths.append(arg)
    return paths if scripted else paths[1:]


def written_paths(spec: str | tuple[str, ...], args: list[str]) -> list[str]:
    """The arguments a file-writing program writes to, by its `write_targets` entry."""
    paths = [a for a in args if not a.startswith("-")]
    if spec == "all":
        return paths
    if spec == "after_first":
        return paths[1:]
    if spec == "last":
        return paths[-1:] if len(paths) > 1 else []
    if spec == "in_place":
        return sed_in_place_files(args)
    written = []
    for i, arg in enumerate(args):
        for option in spec:
            if arg == option and i + 1 < len(args):
                written.append(args[i + 1])
            elif option.endswith("=") and arg.startswith(option):
                written.append(arg[len(option) :])
            elif arg.startswith(option + "=") and option.startswith("--"):
                written.append(arg[len(option) + 1 :])
            elif len(option) == 2 and arg.startswith(option) and len(arg) > 2:
                written.append(arg[2:])
    return written
