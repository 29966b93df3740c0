"""The launcher's SPEC argument: one record per line, fields split by tabs, each field with
`\\`, tab and newline escaped (so any path or argument survives). Standard library only: the
launcher imports it (no json, whose `re` import costs milliseconds at every start).

Records: `R rights path` a Landlock rule; `S` the program may read its own /proc/<pid>;
`P port` a TCP port it may connect to; `N` IP sockets allowed at all; `L name value` a
resource limit; `T connector` a pipeline begins (script mode: `;`, `&&` or `||`);
`X arg...` a command of that pipeline; `D fd op target` a redirection of the last command
(or of the program, in program mode); `C dir` the working directory and `E name value` an
environment variable of the script's programs (a launcher started ahead learns them late).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~5 ms of the launcher's start: only for the checker
if TYPE_CHECKING:
    from typing import Any

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n"}
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n"}


def escape(field: str) -> str:
    """A field with its backslashes, tabs and newlines escaped."""
    return "".join(_ESCAPES.get(char, char) for char in field)


def unescape(field: str) -> str:
    """The field `escape` wrote."""
    if "\\" not in field:
        return field
    out: list[str] = []
    chars = iter(field)
    for char in chars:
        out.append(_UNESCAPES.get(next(chars, "\\"), "\\") if char == "\\" else char)
    return "".join(out)


def _record(kind: str, *fields: object) -> str:
    return "\t".join([kind, *(escape(str(f)) for f in fields)])


def encode_spec(spec: dict[str, Any]) -> str:
    """The SPEC text of a specification dict: rules [(path, rights)], proc_self, tcp_ports,
    network, rlimits {name: value}, redirects [(fd, op, target)] (program mode) and steps
    [(connector, [(argv, redirects), ...]), ...] (script mode)."""
    lines = [_record("R", rights, path) for path, rights in spec.get("rules", [])]
    lines += ["S"] if spec.get("proc_self") else []
    lines += [_record("P", port) for port in spec.get("tcp_ports", [])]
    lines += ["N"] if spec.get("network") else []
    lines += [_record("L", name, value) for name, value in spec.get("rlimits", {}).items()]
    lines += [_record("D", *redirect) for redirect in spec.get("redirects", [])]
    lines += [_record("C", spec["cwd"])] if spec.get("cwd") else []
    lines += [_record("E", name, value) for name, value in spec.get("env", {}).items()]
    for connector, commands in spec.get("steps", []):
        lines.append(_record("T", connector))
        for argv, redirects in commands:
            lines.append(_record("X", *argv))
            lines += [_record("D", *redirect) for redirect in redirects]
    return "\n".join(lines)


def parse_spec(text: str) -> dict[str, Any]:
    """The specification dict `encode_spec` wrote (steps as lists)."""
    spec: dict[str, Any] = {"rules": [], "tcp_ports": [], "rlimits": {}, "redirects": [],
                            "steps": [], "env": {}}  # fmt: skip
    redirects: list[list[Any]] = spec["redirects"]
    for line in text.split("\n"):
        kind, *raw = line.split("\t")
        fields = [unescape(f) for f in raw]
        if kind == "R":
            spec["rules"].append([fields[1], fields[0]])
        elif kind == "S":
            spec["proc_self"] = True
        elif kind == "P":
            spec["tcp_ports"].append(int(fields[0]))
        elif kind == "N":
            spec["network"] = True
        elif kind == "L":
            spec["rlimits"][fields[0]] = int(fields[1])
        elif kind == "T":
            spec["steps"].append([fields[0], []])
        elif kind == "X":
            redirects = []
            spec["steps"][-1][1].append([fields, redirects])
        elif kind == "D":
            redirects.append([int(fields[0]), fields[1], fields[2]])
        elif kind == "C":
            spec["cwd"] = fields[0]
        elif kind == "E":
            spec["env"][fields[0]] = fields[1]
    return spec
