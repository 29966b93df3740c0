"""Property: whatever the classifier ALLOWs, built from the allow-listed programs and their
allowed options (tools/shell/programs.yaml), runs confined without effect: nothing written
outside the scratch dir, no canary content in any output, no connection on the listener,
no process left running.

Commands are built from the programs' own specs: options of every kind with values of the
right kind, operands of the right kind, paths from the workspace and the canary tree with
`..`, symlink, glob, tilde, variable and /proc variants, joined with `|`, `&&`, `||`, `;`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shlex

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from tests.security.harness import World, attempt, classify, damage
from tools.policy import Verdict
from tools.shell.expand import resolve_program
from tools.shell.programs import ProgramSpec, load_programs

pytestmark = pytest.mark.slow

# hardlink.txt is left out on purpose: every reader leaks it today, and
# test_attacks_executed.py::test_hard_links_and_nested_env_files_stay_unread holds that case.
PATHS = [
    "README.md", "in.txt", "logs/app.log", "logs", "src", "src/app.py", ".", "..", "./",
    "../outside/secret.txt", "<outside>/secret.txt", "<outside>", "notes.txt", "linkdir",
    "linkdir/secret.txt", "linkdir/../secret.txt", "src/../notes.txt", ".env", "./.env",
    "src/../.env", "/proc/self/root<outside>/secret.txt", "/proc/self/cwd/notes.txt",
    "/proc/self/cwd/.env", "/proc/<helper>/environ", "/proc/<pid>/environ", "../outside",
    "/var/log", "*", ".*", "l*/*", "*/secret.txt", "~/../outside/secret.txt",
    "$HOME/../outside", "$PWD/notes.txt", "/dev/fd/0", "/etc/passwd",
]  # fmt: skip
TEXT = ["x", "canary", "a b", "%s", "-", "main", "HEAD", "127.0.0.1:<port>", ".env"]
KIND_VALUES: dict[str, list[str]] = {
    "text": TEXT,
    "pattern": ["canary", ".", "^", "hello", "TOPSECRET"],
    "format": ["%p", "%s", "%n", "x%x00", "%(describe)", "%G?"],
    "number": ["0", "1", "5", "3K"],
    "duration": ["1s", "2m"],
    "name": ["x", "default", "main"],
    "sed_script": ["p", "1p", "s/a/b/g", "$d", "/a/p", "1,2p;3q"],
    "awk_program": ["{print}", "{print $1}", "NR==1", 'BEGIN{print "a;" > "o"}'],
    "jq_filter": [".", "keys", "input_filename", "$__loc__", "env", "[inputs]"],
    "date_format": ["+%s", "+%F"],
}
SKIP_PROGRAMS = {"yes", "sleep", "watch"}  # not listed today; never worth a slot


def runnable_programs() -> dict[str, ProgramSpec]:
    return {
        name: spec
        for name, spec in sorted(load_programs().items())
        if name not in SKIP_PROGRAMS and resolve_program(name) is not None
    }


PROGRAMS = runnable_programs()


@st.composite
def value_of(draw: st.DrawFn, kind: str) -> str:
    if kind == "path":
        return draw(st.sampled_from(PATHS))
    if kind == "path_list":
        return ":".join(draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=2)))
    if kind.startswith("enum:"):
        return draw(st.sampled_from(kind[5:].split("|")))
    return draw(st.sampled_from(KIND_VALUES.get(kind, TEXT)))


@st.composite
def option_of(draw: st.DrawFn, spec: ProgramSpec) -> list[str]:
    choices: list[tuple[str, str, str]] = []
    choices += [("short", f, "") for f in sorted(spec.short)]
    choices += [("short_value", f, k) for f, k in sorted(spec.short_values.items())]
    choices += [("long", f, "") for f in sorted(spec.long, key=str)]
    choices += [("long_value", f, k) for f, k in sorted(spec.long_values.items())]
    choices += [("optional", f, k) for f, k in sorted(spec.optional_values.items())]
    choices += [("word", f, "") for f in sorted(spec.word_options)]
    choices += [("word_value", f, k) for f, k in sorted(spec.word_values.items())]
    choices += [("primary", f, "") for f in sorted(spec.find_primaries)]
    choices += [("primary_value", f, k) for f, k in sorted(spec.find_primary_values.items())]
    # a YAML `null` in a flow list (grep's --null) loads as None: not an option name
    choices = [choice for choice in choices if isinstance(choice[1], str)]
    if not choices:
        return []
    form, flag, kind = draw(st.sampled_from(choices))
    values = [draw(value_of(k)) for k in kind.split(" ")] if kind else []
    if form == "short":
        return [f"-{flag}"]
    if form == "short_value":
        return [f"-{flag}{values[0]}"] if draw(st.booleans()) else [f"-{flag}", *values]
    if form == "long":
        return [f"--{flag}"]
    if form == "long_value":
        if len(values) == 1 and draw(st.booleans()):
            return [f"--{flag}={values[0]}"]
        return [f"--{flag}", *values]
    if form == "optional":
        prefix = f"--{flag}=" if len(flag) > 1 else f"-{flag}"
        return [f"{prefix}{values[0]}"]
    if form in ("word", "primary"):
        return [f"-{flag}" if form == "word" else flag]
    if form == "word_value":
        return [f"-{flag}={values[0]}"]
    return [flag, *values]


@st.composite
def command_of(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(PROGRAMS)))
    spec = PROGRAMS[name]
    argv = [name]
    while spec.subcommands and (spec.subcommand_required or draw(st.booleans())):
        sub = draw(st.sampled_from(sorted(spec.subcommands)))
        argv.append(sub)
        spec = spec.subcommands[sub].merged(spec)
    for _ in range(draw(st.integers(0, 3))):
        argv += draw(option_of(spec))
    kind = spec.operands
    first, _, rest = kind.partition("_then_")
    if rest:
        argv.append(draw(value_of(first)))
        kind = rest
    if kind == "paths":
        argv += draw(st.lists(st.sampled_from(PATHS), max_size=2))
    elif kind in ("text", "names"):
        argv += draw(st.lists(st.sampled_from(TEXT), max_size=2))
    elif kind != "none":
        argv += draw(st.lists(value_of(kind), max_size=2))
    raw = {"*", ".*", "l*/*", "*/secret.txt"}  # globs and variables stay unquoted
    return " ".join(a if a in raw or a.startswith(("~", "$")) else shlex.quote(a) for a in argv)


@st.composite
def script_of(draw: st.DrawFn) -> str:
    commands = draw(st.lists(command_of(), min_size=1, max_size=3))
    script = commands[0]
    for command in commands[1:]:
        script += draw(st.sampled_from([" | ", " && ", " || ", " ; ", "\n"])) + command
    return script


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=script_of())
def test_allowed_commands_have_no_effect(world: World, script: str) -> None:
    world.ctx = dataclasses.replace(world.ctx, shell_timeout_s=3.0)
    decision = classify(world, script)
    event(f"verdict {decision.verdict.name}")
    if decision.verdict is not Verdict.ALLOW:
        return
    note(f"allowed: {world.fill(script)!r}")
    before = world.snapshot()
    world.listener.connections.clear()
    outcome = asyncio.run(attempt(world, script))
    found = damage(world, before, outcome)
    assert not found, f"{outcome.describe()}\n" + "\n".join(found)
