"""Positive allow-lists per program: which options and operands a command may take unasked.

Each program (and each git or kubectl subcommand) in `programs.yaml` names the options it may
take and what their values and its operands are. A command passes only if every argument is
known: short flags are split (`-rn` is `-r -n`, `-n5` is `-n 5`), long options match exactly
(GNU getopt would take an abbreviation such as `--out` as any option it prefixes, `--output`
included, so an abbreviation counts as unknown), and values and operands that are paths are
resolved (symlinks, `..`) and must stay inside what the command may read.
Anything unknown is a reason for a person to look, never a silent allow.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools.shell.values import TEST_FILE_OPERATORS, PathCheck, value_problem

PROGRAMS_FILE = Path(__file__).with_name("programs.yaml")


@dataclass(frozen=True)
class ProgramSpec:
    """What one program (or subcommand) may take without a person."""

    name: str
    short: frozenset[str] = frozenset()
    short_values: dict[str, str] = field(default_factory=dict)
    long: frozenset[str] = frozenset()
    long_values: dict[str, str] = field(default_factory=dict)
    operands: str = "paths"
    max_operands: int | None = None
    numeric_short: bool = False
    subcommands: dict[str, ProgramSpec] = field(default_factory=dict)
    subcommand_required: bool = False
    find_primaries: frozenset[str] = frozenset()
    find_primary_values: dict[str, str] = field(default_factory=dict)
    optional_values: dict[str, str] = field(default_factory=dict)
    """Options whose value is optional, so it may only be attached: `--color=never`, `-Iseconds`."""
    attached_values: dict[str, str] = field(default_factory=dict)
    """Long options allowed only with an attached value (`--watch=false`; bare `--watch` is on)."""
    word_options: frozenset[str] = frozenset()
    """Whole single-dash words (ip's `-br`, `-json`), matched before short flags are split."""
    word_values: dict[str, str] = field(default_factory=dict)
    """Single-dash words with an attached value (nslookup's `-type=mx`)."""
    operand_counts: frozenset[int] = frozenset()
    """When set, the only operand counts allowed (vmstat: none, or DELAY and COUNT, never DELAY)."""
    operands_only: bool = False
    """Every argument is an operand (test, printf): nothing is parsed as an option."""
    at_files: bool = False
    """The program reads `@FILE` arguments as more options (binutils): they are refused."""

    def merged(self, other: ProgramSpec) -> ProgramSpec:
        """This subcommand's spec with the program's global options added."""
        return ProgramSpec(
            name=self.name,
            short=self.short | other.short,
            short_values={**other.short_values, **self.short_values},
            long=self.long | other.long,
            long_values={**other.long_values, **self.long_values},
            operands=self.operands,
            max_operands=self.max_operands,
            numeric_short=self.numeric_short,
            subcommands=self.subcommands,
            subcommand_required=self.subcommand_required,
            find_primaries=self.find_primaries,
            find_primary_values=self.find_primary_values,
            optional_values={**other.optional_values, **self.optional_values},
            attached_values={**other.attached_values, **self.attached_values},
            word_options=self.word_options | other.word_options,
            word_values={**other.word_values, **self.word_values},
            operand_counts=self.operand_counts,
            operands_only=self.operands_only,
            at_files=self.at_files or other.at_files,
        )


def _kinds(values: Any) -> dict[str, str]:
    """Option -> kind; a YAML list of kinds (jq `--arg NAME VALUE`) becomes space-separated."""
    return {
        str(k): " ".join(str(x) for x in v) if isinstance(v, list) else str(v)
        for k, v in (values or {}).items()
    }


def _spec(name: str, data: dict[str, Any]) -> ProgramSpec:
    known = {"short", "short_values", "long", "long_values", "operands", "max_operands",
             "numeric_short", "subcommands", "subcommand_required", "find_primaries",
             "find_primary_values", "globals", "optional_values", "attached_values", "word_options",
             "word_values", "operand_counts", "operands_only", "at_files"}  # fmt: skip
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"programs.yaml: {name}: unknown keys {sorted(unknown)}")
    subcommands = {
        sub: _spec(f"{name} {sub}", body or {})
        for sub, body in (data.get("subcommands") or {}).items()
    }
    return ProgramSpec(
        name=name,
        short=frozenset(str(data.get("short", ""))),
        short_values=_kinds(data.get("short_values")),
        long=frozenset(data.get("long") or ()),
        long_values=_kinds(data.get("long_values")),
        operands=str(data.get("operands", "paths")),
        max_operands=data.get("max_operands"),
        numeric_short=bool(data.get("numeric_short", False)),
        subcommands=subcommands,
        subcommand_required=bool(data.get("subcommand_required", bool(subcommands))),
        find_primaries=frozenset(data.get("find_primaries") or ()),
        find_primary_values=_kinds(data.get("find_primary_values")),
        optional_values=_kinds(data.get("optional_values")),
        attached_values=_kinds(data.get("attached_values")),
        word_options=frozenset(data.get("word_options") or ()),
        word_values=_kinds(data.get("word_values")),
        operand_counts=frozenset(int(n) for n in data.get("operand_counts") or ()),
        operands_only=bool(data.get("operands_only", False)),
        at_files=bool(data.get("at_files", False)),
    )


def programs_from(data: dict[str, Any]) -> dict[str, ProgramSpec]:
    """Program specs from a mapping in the programs.yaml format (an operator's policy file
    may add or replace programs this way); raises ValueError on unknown keys."""
    return {str(name): _spec(str(name), body or {}) for name, body in data.items()}


@functools.cache
def load_programs(path: Path = PROGRAMS_FILE) -> dict[str, ProgramSpec]:
    """Every allow-listed program by name (the YAML file, read once)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    programs = programs_from(data["programs"])
    for name, alias in (data.get("aliases") or {}).items():
        programs[name] = programs[alias]
    return programs


@dataclass
class _Scan:
    spec: ProgramSpec
    check_path: PathCheck
    reasons: list[str] = field(default_factory=list)
    operands: list[str] = field(default_factory=list)
    seen_options: set[str] = field(default_factory=set)

    def refuse(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def value(self, option: str, kind: str, value: str) -> None:
        problem = value_problem(kind, value, self.check_path)
        if problem:
            self.refuse(f"{self.spec.name} {option}: {problem}")


def _long(scan: _Scan, arg: str, rest: Iterator[str]) -> None:
    name, eq, inline = arg[2:].partition("=")
    spec = scan.spec
    if name in spec.long and not eq:
        scan.seen_options.add(name)
        return
    if name in spec.long_values:
        scan.seen_options.add(name)
        kinds = spec.long_values[name].split(" ")
        if eq and len(kinds) > 1:
            scan.refuse(f"{spec.name} --{name} takes {len(kinds)} separate values")
            return
        _take_values(scan, f"--{name}", kinds, inline if eq else None, rest)
        return
    if name in spec.optional_values:
        scan.seen_options.add(name)
        if eq:
            scan.value(f"--{name}", spec.optional_values[name], inline)
        return
    if name in spec.attached_values:
        if not eq:
            scan.refuse(f"{spec.name} --{name} without a value (=...) is not allowed unasked")
        else:
            scan.seen_options.add(name)
            scan.value(f"--{name}", spec.attached_values[name], inline)
        return
    scan.refuse(f"{spec.name} {arg.split('=', 1)[0]} is not an option it may take unasked")


def _take_values(
    scan: _Scan, option: str, kinds: list[str], attached: str | None, rest: Iterator[str]
) -> None:
    """An option's values (`attached` to it, then the next arguments), one per kind."""
    values = [attached] if attached is not None else []
    values += [v for v in (next(rest, None) for _ in kinds[len(values) :]) if v is not None]
    if len(values) < len(kinds):
        scan.refuse(f"{scan.spec.name} {option} needs {len(kinds)} value(s)")
    for kind, value in zip(kinds, values, strict=False):
        scan.value(option, kind, value)


def _short(scan: _Scan, arg: str, rest: Iterator[str]) -> None:
    spec = scan.spec
    if spec.numeric_short and arg[1:].isdigit():
        return  # `head -20`, `tail -100`
    word, eq, inline = arg[1:].partition("=")
    if arg[1:] in spec.word_options:
        scan.seen_options.add(arg[1:])
        return
    if eq and word in spec.word_values:
        scan.seen_options.add(word)
        scan.value(f"-{word}", spec.word_values[word], inline)
        return
    letters = arg[1:]
    for index, letter in enumerate(letters):
        if letter in spec.short_values:
            scan.seen_options.add(letter)
            kinds = spec.short_values[letter].split(" ")
            _take_values(scan, f"-{letter}", kinds, letters[index + 1 :] or None, rest)
            return
        if letter in spec.optional_values:
            scan.seen_options.add(letter)
            attached = letters[index + 1 :]
            if attached:
                scan.value(f"-{letter}", spec.optional_values[letter], attached)
            return
        if letter not in spec.short:
            scan.refuse(f"{spec.name} -{letter} is not an option it may take unasked")
            return
        scan.seen_options.add(letter)


def _find(scan: _Scan, args: list[str]) -> None:
    spec = scan.spec
    items = iter(args)
    starting = True
    for arg in items:
        if starting and not arg.startswith("-") and arg not in ("(", ")", "!"):
            problem = scan.check_path(arg)
            if problem:
                scan.refuse(f"find {problem}")
            continue
        starting = False
        if arg in spec.find_primaries:
            continue
        if arg in spec.find_primary_values:
            value = next(items, None)
            if value is None:
                scan.refuse(f"find {arg} needs a value")
            else:
                scan.value(arg, spec.find_primary_values[arg], value)
            continue
        scan.refuse(f"find {arg} is not a test it may take unasked")


# Options that give the script of a `<kind>_then_paths` program, so no operand is the script
SCRIPT_OPTIONS = {
    "pattern": frozenset({"e", "f", "regexp", "file", "files", "type-list"}),
    "sed_script": frozenset({"e", "f", "expression", "file"}),
    "awk_program": frozenset({"f", "file"}),
    "jq_filter": frozenset({"f", "from-file"}),
}


def _operands(scan: _Scan) -> None:
    spec = scan.spec
    operands = list(scan.operands)
    kind = spec.operands
    if spec.max_operands is not None and len(operands) > spec.max_operands:
        scan.refuse(f"{spec.name} takes at most {spec.max_operands} operand(s) unasked")
    if spec.operand_counts and len(operands) not in spec.operand_counts:
        counts = " or ".join(str(n) for n in sorted(spec.operand_counts))
        scan.refuse(f"{spec.name} takes {counts} operand(s) unasked, not {len(operands)}")
    if kind == "none":
        if operands:
            scan.refuse(f"{spec.name} takes no operands unasked")
        return
    if kind in ("text", "names"):
        for operand in operands:
            scan.value("operand", "name" if kind == "names" else "text", operand)
        return
    if kind == "test_expression":  # test / [: the operand after a file test is a path
        for index, operand in enumerate(operands[1:], start=1):
            if operands[index - 1] in TEST_FILE_OPERATORS:
                problem = scan.check_path(operand)
                if problem:
                    scan.refuse(f"{spec.name} {problem}")
        return
    first, _, script_kind = kind.partition("_then_")
    if script_kind:  # e.g. pattern_then_paths, sed_script_then_paths
        leading = first
        kind = "paths"
        # the script came from an option (or rg --files has none): every operand is a path
        given = bool(scan.seen_options & SCRIPT_OPTIONS.get(leading, frozenset()))
        if operands and not given:
            scan.value("script" if leading != "pattern" else "pattern", leading, operands.pop(0))
    if kind == "paths":
        for operand in operands:
            if operand == "-":
                continue
            problem = scan.check_path(operand)
            if problem:
                scan.refuse(f"{spec.name} {problem}")
        return
    for operand in operands:  # any value kind: number (vmstat 1 5), date_format (date +%s), ...
        scan.value("operand", kind, operand)


def check_arguments(spec: ProgramSpec, args: list[str], check_path: PathCheck) -> list[str]:
    """Why `args` may not run unasked with this program (empty when they may)."""
    scan = _Scan(spec, check_path)
    if spec.at_files and any(arg.startswith("@") for arg in args):
        scan.refuse(f"{spec.name} reads more options from an @file")
    if spec.operands_only:
        scan.operands.extend(args)
        _operands(scan)
        return scan.reasons
    if spec.find_primaries:
        _find(scan, args)
        return scan.reasons
    items = iter(args)
    only_operands = False
    for arg in items:
        if only_operands or arg == "-" or not arg.startswith("-"):
            if spec.subcommands and not scan.operands and not only_operands:
                sub = spec.subcommands.get(arg)
                if sub is None:
                    scan.refuse(f"{spec.name} {arg} is not a subcommand it may run unasked")
                    return scan.reasons
                rest = list(items)
                return scan.reasons + check_arguments(sub.merged(spec), rest, check_path)
            scan.operands.append(arg)
        elif arg == "--":
            only_operands = True
        elif arg.startswith("--"):
            _long(scan, arg, items)
        else:
            _short(scan, arg, items)
    if spec.subcommands and spec.subcommand_required:
        scan.refuse(f"{spec.name} without a subcommand")
    _operands(scan)
    return scan.reasons
