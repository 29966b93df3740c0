"""What each simple command of a syntax tree runs and redirects, for the deny checks.

Read from the same tree-sitter-bash tree that decides whether a command is plain; commands
that are not plain only run after a person approved their exact text, so these parts serve
to refuse the plainly destructive outright (and to say why), not to allow anything.
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field

from tree_sitter import Node

OUTPUT_REDIRECTS = {">", ">>", ">|", "&>", "&>>", ">&", "<>"}
INPUT_REDIRECTS = {"<", "<&"}
_WORDS = {"word", "number", "string", "raw_string", "concatenation", "simple_expansion",
          "expansion", "command_substitution", "process_substitution", "arithmetic_expansion",
          "ansi_c_string", "translated_string", "brace_expression"}  # fmt: skip


@dataclass
class Part:
    """One simple command: its words, the files it redirects to and from, and whether it
    reads a pipe."""

    argv: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    piped: bool = False


KNOWN_VARIABLES = {"PWD": ".", "HOME": "~"}  # what the deny checks know a variable to be


def _ansi_c(body: str) -> str:
    """The value of bash's `$'...'` string (escapes such as \\n, \\x2f, \\057 decoded)."""
    try:
        return codecs.decode(body.encode("latin-1", "backslashreplace"), "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return body


def _static(node: Node) -> str:
    """A word as the shell would most plausibly read it (quotes removed, `$'...'` decoded,
    `$PWD` and `$HOME` known), else its text as written."""
    text = (node.text or b"").decode("utf-8", errors="replace")
    if node.type == "raw_string":
        return text[1:-1]
    if node.type == "ansi_c_string":
        return _ansi_c(text[2:-1])
    if node.type in ("simple_expansion", "expansion"):
        names = [c for c in node.children if c.is_named]
        if len(names) == 1 and names[0].type == "variable_name":
            return KNOWN_VARIABLES.get((names[0].text or b"").decode(), text)
        return text
    if node.type == "string":
        inner = [c for c in node.children if c.type != '"']
        if all(c.type in ("string_content", "simple_expansion", "expansion") for c in inner):
            return "".join(_static(c) if c.type != "string_content" else
                           (c.text or b"").decode("utf-8", "replace") for c in inner)  # fmt: skip
        return text[1:-1]
    if node.type == "concatenation":
        return "".join(_static(c) for c in node.children)
    if node.type == "word":
        return re.sub(r"\\(.)", r"\1", text)
    return text


def _redirect(node: Node, part: Part) -> None:
    operator = next((c.type for c in node.children if not c.is_named), "")
    targets = [c for c in node.children if c.is_named and c.type != "file_descriptor"]
    for target in targets[:1]:
        if operator in OUTPUT_REDIRECTS and not (operator == ">&" and target.type == "number"):
            part.writes.append(_static(target))
        elif operator in INPUT_REDIRECTS and operator != "<&":
            part.reads.append(_static(target))


def _command_part(node: Node, piped: bool) -> Part:
    part = Part(piped=piped)
    for child in node.children:
        if child.type == "command_name":
            part.argv.extend(_static(c) for c in child.children)
        elif child.type == "variable_assignment":
            part.argv.append((child.text or b"").decode("utf-8", errors="replace"))
        elif child.type in _WORDS:
            part.argv.append(_static(child))
        elif child.type == "file_redirect":
            _redirect(child, part)
    parent = node.parent
    if parent is not None and parent.type == "redirected_statement":
        for sibling in parent.children:
            if sibling.type == "file_redirect":
                _redirect(sibling, part)
    return part


def tree_parts(root: Node) -> list[Part]:
    """Every simple command anywhere in the tree (inside substitutions, subshells, function
    bodies, ...), as the deny checks read them; a command after `|` is marked piped."""
    parts: list[Part] = []

    def visit(node: Node) -> None:
        if node.type == "command":
            prev = node.prev_sibling
            holder = (
                node.parent if node.parent and node.parent.type == "redirected_statement" else None
            )
            if holder is not None:
                prev = holder.prev_sibling
            parts.append(_command_part(node, piped=prev is not None and prev.type in ("|", "|&")))
        elif node.type == "redirected_statement" and not any(
            c.type == "command" for c in node.children
        ):
            orphan = Part()
            for child in node.children:
                if child.type == "file_redirect":
                    _redirect(child, orphan)
            parts.append(orphan)
        for child in node.children:
            visit(child)

    visit(root)
    return parts


def program_of(argv: list[str]) -> tuple[str, list[str]]:
    """The program name (leading VAR=value assignments skipped) and its arguments."""
    while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
        argv = argv[1:]
    if not argv:
        return "", []
    return os.path.basename(argv[0]), argv[1:]


def unwrap(program: str, args: list[str]) -> list[str]:
    """The command a wrapper runs (`env FOO=1 rm x` runs `rm x`, `chroot / rm x` runs `rm x`)."""
    rest = list(args)
    while rest and (rest[0].startswith("-") or (program == "env" and "=" in rest[0])):
        rest.pop(0)
    if program in ("timeout", "chroot") and rest:
        rest = rest[1:]  # the duration, the new root
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


FIND_WRITES = ("-fprint", "-fprint0", "-fprintf", "-fls")


def _find_writes(args: list[str]) -> list[str]:
    first_test = next((i for i, a in enumerate(args) if a.startswith(("-", "(", "!"))), len(args))
    starts = args[:first_test]
    written = [args[i + 1] for i, a in enumerate(args[:-1]) if a in FIND_WRITES]
    return written + ((starts or ["."]) if "-delete" in args else [])


def _option_values(options: tuple[str, ...], args: list[str]) -> list[str]:
    """Values of the output options, however written: `-o F`, `-oF`, `-uo F` (a cluster),
    `--output F`, `--output=F` and GNU abbreviations such as `--out=F`."""
    written = []
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else None
        for option in options:
            if option.endswith("="):  # dd's of=
                if arg.startswith(option):
                    written.append(arg[len(option) :])
            elif option.startswith("--"):
                name, eq, value = arg.partition("=")
                if len(name) > 4 and option.startswith(name):
                    written += [value] if eq else [following] if following else []
            elif arg.startswith("-") and not arg.startswith("--") and option[1] in arg[1:]:
                rest = arg[arg.index(option[1], 1) + 1 :]
                written += [rest] if rest else [following] if following else []
    return written


def written_paths(spec: str | tuple[str, ...], args: list[str]) -> list[str]:
    """The arguments a file-writing program writes to, by its `write_targets` entry: an
    operand rule (all, after_first, last, in_place, find) and/or the options that name one."""
    rules = (spec,) if isinstance(spec, str) else spec
    paths = [a for a in args if not a.startswith("-")]
    written: list[str] = []
    for rule in rules:
        if rule == "all":
            written += paths
        elif rule == "after_first":
            written += paths[1:]
        elif rule == "last":
            written += paths[-1:] if len(paths) > 1 else []
        elif rule == "in_place":
            written += sed_in_place_files(args)
        elif rule == "find":
            written += _find_writes(args)
    options = tuple(r for r in rules if r.startswith("-") or r.endswith("="))
    return written + _option_values(options, args)
