"""The kinds of option values and operands the allow-lists name, and how each is checked.

`value_problem(kind, value, check_path)` says why a value is not of its kind: a number, a
duration, a name, a path (checked by the caller's `check_path`: resolved, readable), one of an
enum, or a small program in another language checked for what it may do (a sed script that
only prints, deletes or substitutes; an awk program that neither runs commands nor writes;
a jq filter that loads no module; a date +FORMAT that does not set the clock).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?[a-zA-Z]{0,3}")
_DURATION = re.compile(r"\d+(\.\d+)?(ms|s|m|h|d|w)?(\d+(ms|s|m|h))*")

PathCheck = Callable[[str], str | None]
"""Given a path as written, None if the command may read it, else the reason it may not."""


def value_problem(kind: str, value: str, check_path: PathCheck) -> str | None:
    """Why `value` is not a valid value of `kind`, or None when it is."""
    if kind in ("text", "pattern", "format"):
        return None
    if kind == "number":
        return None if _NUMBER.fullmatch(value) else f"{value!r} is not a number"
    if kind == "duration":
        return None if _DURATION.fullmatch(value) else f"{value!r} is not a duration"
    if kind == "name":  # a resource, unit or label name (kubectl's pod/api too), not an option
        return None if value and not value.startswith("-") else f"{value!r} is not a name"
    if kind == "path":
        return check_path(value)
    if kind == "path_list":  # file -m a:b reads every file of a colon-separated list
        return next((p for p in map(check_path, value.split(":")) if p), None)
    if kind.startswith("enum:"):
        choices = kind[5:].split("|")
        return None if value in choices else f"{value!r} is not one of {', '.join(choices)}"
    if kind == "jq_filter":  # jq cannot write or run programs; modules are files it would read
        if JQ_MODULES.search(value):
            return "a jq program that loads modules (import, include)"
        return None
    if kind == "date_format":  # date's operand: +FORMAT prints; anything else sets the clock
        return None if value.startswith("+") else f"{value!r} is not a +FORMAT (it sets the date)"
    if kind == "sed_script":
        commands = value.rstrip(";\n").split(";")  # a `;` inside s/// makes a part fail: asked
        if all(SED_COMMAND.fullmatch(c) for c in commands):
            return None
        return "a sed script other than print, delete, quit and substitute"
    if kind == "awk_program":
        code = AWK_STRING.sub('""', value)  # `print "a;" > f`: a string cannot end a statement
        if AWK_UNSAFE.search(code):
            return "an awk program that runs commands, writes files or reads others"
        return None
    raise ValueError(f"programs.yaml: unknown value kind {kind!r}")


# test and [: unary operators whose operand is a file (test -e tells whether a path exists)
TEST_FILE_OPERATORS = frozenset(
    {"-b", "-c", "-d", "-e", "-f", "-g", "-G", "-h", "-k", "-L", "-N", "-O", "-p", "-r", "-s",
     "-S", "-t", "-u", "-w", "-x"}
)  # fmt: skip
AWK_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
# sed: addresses with p, d, q, =, or s/// with print-only flags; `;`-separated. No w, r, e, W.
_SED_ADDR = r"(\d+|\$|/(\\.|[^/\\])*/)(,(\d+|\$|/(\\.|[^/\\])*/|\+\d+))?!?"
# A backslash is only ever the start of an escape: with `.` also matching it, a run of them
# had 2**n ways to match and a sed script of 40 backslashes held the classifier for minutes.
_SED_SUB = r"s(?P<d>[/|#,:])((?!(?P=d))[^\\]|\\.)*(?P=d)((?!(?P=d))[^\\]|\\.)*(?P=d)[gpiIm0-9]*"
_SED_ONE = rf"\s*({_SED_ADDR})?\s*([pdq=]|{_SED_SUB})\s*"
SED_COMMAND = re.compile(_SED_ONE)
# awk: refuse system(), pipes, getline, output redirection inside print/printf, and dynamic code
JQ_MODULES = re.compile(r"\b(import|include|modulemeta|get_search_list)\b")
AWK_UNSAFE = re.compile(
    r"system|getline|\||close|fflush|@|print[f]?[^;}]*>|ENVIRON|PROCINFO|ARGV|ARGC"
)
