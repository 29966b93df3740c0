"""The MCP server file (`OPSBOT_MCP_CONFIG`): the common `mcpServers` shape plus opsbot keys.

`load_mcp_config(path, environ, known_agents)` reads a JSON or YAML file, expands `${VAR}` and
`${VAR:-default}` from `environ` and returns one frozen `McpServerConfig` per enabled server, in
file order. Every problem is one `McpConfigError` line that names fields and variables, never
their values (a header or env value is usually a secret).
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from collections.abc import Collection, Hashable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
_REFERENCE = re.compile(r"\$\{(?:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})?")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_IGNORED = frozenset({"disabled", "description", "type"})  # editors write them; no effect here
_TYPES = {"stdio": "stdio", "http": "http", "streamable-http": "http"}


class McpConfigError(ValueError):
    """One line: 'server <name>: <field>: <problem>' or '<path>: <problem>' (file-level)."""


class McpServerConfig(BaseModel, frozen=True, extra="forbid"):
    """One MCP server: how to reach it (command or url) and what opsbot lets agents do with it."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = {}
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    agents: tuple[str, ...] | None = None
    allow: tuple[str, ...] = ()
    approve: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    timeout_s: float = Field(default=30.0, strict=True, gt=0, le=3600, allow_inf_nan=False)
    connect_timeout_s: float = Field(default=60.0, strict=True, gt=0, le=3600,
                                     allow_inf_nan=False)  # fmt: skip
    """From launching or reaching the server to its tool listing (a first `npx` download
    takes a while); then the attempt is ended and retried with backoff."""
    trust_annotations: bool = Field(default=False, strict=True)
    # command and args as the file wrote them (`${VAR}` unexpanded), so target() shows no secret
    _written: tuple[str, ...] | None = None

    @property
    def transport(self) -> Literal["stdio", "http"]:
        """The transport: "stdio" for a command, "http" (Streamable HTTP) for a url."""
        return "stdio" if self.command is not None else "http"

    def target(self) -> str:
        """What the server is, with no secret: for stdio the command line as the file wrote it
        (variables by name, each argument shell-quoted); for http the URL without userinfo,
        query or fragment."""
        if self.command is not None:
            return shlex.join(self._written or (self.command, *self.args))
        parts = urlsplit(self.url or "")
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"

    def __eq__(self, other: object) -> bool:
        """Equal when the settings are (how the file wrote them does not count)."""
        return isinstance(other, McpServerConfig) and self.model_dump() == other.model_dump()

    @model_validator(mode="after")
    def _consistent(self) -> McpServerConfig:
        """Raises ValueError('field: problem') naming fields and keys, never a value."""
        if not NAME.fullmatch(self.name):
            raise ValueError("name: must be 1 to 32 letters, digits, '_' or '-' (it names tools)")
        if "__" in self.name or self.name.endswith("_"):
            raise ValueError("name: must not hold '__' or end with '_' (tools are named "
                             "mcp__<server>__<tool>: servers' tools never collide)")  # fmt: skip
        if (self.command is None) == (self.url is None):
            which = "both are set" if self.command is not None else "neither is set"
            raise ValueError(f"command, url: {which}; give command (stdio) or url (HTTP)")
        for field in ("command", "cwd"):
            if (text := getattr(self, field)) is not None and not text.strip():
                raise ValueError(f"{field}: is empty")
        texts = [self.command or "", self.cwd or "", *self.args, *self.env, *self.env.values()]
        if any("\0" in text for text in texts):
            raise ValueError("command, args, env or cwd: contains a NUL character")
        if not all(key and "=" not in key for key in self.env):
            raise ValueError("env: a name is empty or contains '='")
        for key, text in self.headers.items():
            if not _HEADER_NAME.fullmatch(key):
                raise ValueError(f"headers: {key!r} is not a header name")
            if any(char in text for char in "\r\n\0"):
                raise ValueError(f"headers.{key}: the value has a line break or NUL")
        if self.url is not None and not _url_ok(self.url):
            raise ValueError("url: must be an http:// or https:// URL with a host")
        if self.url is not None and (self.env or self.cwd is not None):
            raise ValueError(f"{'env' if self.env else 'cwd'}: only for stdio (command) servers")
        if self.command is not None and self.headers:
            raise ValueError("headers: only for HTTP (url) servers")
        if self.agents == ():
            raise ValueError("agents: is empty (leave it out for every agent)")
        lists = {"agents": self.agents or (), "allow": self.allow, "approve": self.approve,
                 "deny": self.deny}  # fmt: skip
        for field, items in lists.items():
            if not all(item.strip() for item in items):
                raise ValueError(f"{field}: has an empty entry")
        del lists["agents"]
        for glob in dict.fromkeys(glob for globs in lists.values() for glob in globs):
            if len(where := [field for field, globs in lists.items() if glob in globs]) > 1:
                raise ValueError(f"{', '.join(where)}: {glob!r} is in more than one (ambiguous)")
        return self


def _url_ok(url: str) -> bool:
    try:
        parts = urlsplit(url)
        port_ok = parts.port != 0  # raises ValueError on a port that is not a number
    except ValueError:
        return False
    clean = not any(char.isspace() or ord(char) < 32 for char in url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port_ok and clean


def load_mcp_config(
    path: Path, environ: Mapping[str, str], known_agents: Collection[str] = ()
) -> tuple[McpServerConfig, ...]:
    """Servers in file order, disabled ones left out.

    `path`: a .json, .yaml or .yml file (any other suffix: JSON, then YAML). `environ`: the
    variables `${VAR}` reads. `known_agents`: when non-empty, every `agents` entry must be one.
    Raises McpConfigError (one line) for any problem in the file or in any server.
    """
    data = _parse(path)
    if not isinstance(data, dict):
        what = "is empty" if data is None else "top level is not a mapping"
        raise McpConfigError(f"{path}: {what} (expected a mapping with mcpServers)")
    if "mcpServers" not in data:
        hint = (" (VS Code's file names them servers: rename that key to mcpServers)"
                if "servers" in data else "")  # fmt: skip
        raise McpConfigError(f"{path}: has no mcpServers{hint}")
    if not isinstance(servers := data["mcpServers"], dict):
        raise McpConfigError(f"{path}: mcpServers must be a mapping of server names to settings")
    if not servers:
        raise McpConfigError(f"{path}: mcpServers is empty")
    configs = []
    for name, raw in servers.items():
        shown = name if isinstance(name, str) and NAME.fullmatch(name) else repr(str(name)[:40])
        if not isinstance(name, str):
            raise McpConfigError(f"server {shown}: name: must be a string")
        if not isinstance(raw, dict):
            raise McpConfigError(f"server {shown}: settings: must be a mapping")
        if not isinstance(disabled := raw.get("disabled", False), bool):
            raise McpConfigError(f"server {shown}: disabled: must be true or false")
        if not disabled:
            configs.append(_server(shown, name, raw, environ, known_agents))
    return tuple(configs)


def _server(
    shown: str, name: str, raw: dict[Any, Any], env: Mapping[str, str], agents: Collection[str]
) -> McpServerConfig:
    fields = set(McpServerConfig.model_fields) - {"name"}
    for key in raw:
        if key not in fields | _IGNORED:
            near = difflib.get_close_matches(str(key), sorted(fields), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            if str(key) in _OTHER_CLIENTS:
                hint = f" ({_OTHER_CLIENTS[str(key)]})"
            raise McpConfigError(f"server {shown}: {key}: unknown key{hint}")
    if (kind := raw.get("type")) == "sse":
        raise McpConfigError(
            f"server {shown}: type: 'sse' is not supported, only stdio and Streamable HTTP "
            "(type 'http' with the server's Streamable HTTP url)"
        )
    if kind is not None and (not isinstance(kind, str) or kind not in _TYPES):
        raise McpConfigError(f"server {shown}: type: must be one of {', '.join(_TYPES)}")
    data = {key: value for key, value in raw.items() if key not in _IGNORED}
    written = [data.get("command"), *(data.get("args") or ())]
    for field in ("command", "cwd", "url", "args", "env", "headers"):
        value, where = data.get(field), f"server {shown}: {field}"
        if isinstance(value, dict):
            data[field] = {k: _expand(v, env, f"{where}.{k}") for k, v in value.items()}
        elif isinstance(value, list):
            data[field] = [_expand(v, env, f"{where}.{i}") for i, v in enumerate(value)]
        elif field in data:
            data[field] = _expand(value, env, where)
    try:
        config = McpServerConfig.model_validate({**data, "name": name})
    except ValidationError as error:
        raise McpConfigError(f"server {shown}: {_problems(error)}") from None
    if kind is not None and _TYPES[kind] != config.transport:
        needs = "command" if _TYPES[kind] == "stdio" else "url"
        raise McpConfigError(f"server {shown}: type: {kind!r} needs {needs}")
    if unknown := [a for a in config.agents or () if agents and a not in agents]:
        known = ", ".join(sorted(agents))
        raise McpConfigError(f"server {shown}: agents: unknown {unknown[0]!r} (known: {known})")
    if config.command is not None:
        config._written = tuple(str(part) for part in written)
    return config


def _expand(text: Any, environ: Mapping[str, str], where: str) -> Any:
    """`${VAR}` and `${VAR:-default}` (default when unset or empty) in one pass; `$` alone stays.
    Anything but a string is returned as is (pydantic then names its type)."""

    def value(match: re.Match[str]) -> str:
        variable, default = match.group(1), match.group(2)
        if variable is None:
            raise McpConfigError(
                f"{where}: malformed ${{...}} at character {match.start() + 1}"
                " (write ${NAME} or ${NAME:-default})"
            )
        found = environ.get(variable)
        if default is not None and not found:
            return default
        if found is None:
            raise McpConfigError(f"{where}: variable {variable} is not set")
        return found

    return _REFERENCE.sub(value, text) if isinstance(text, str) else text


_OTHER_CLIENTS = {
    "autoApprove": "Cline's autoApprove lists tools to run at once: opsbot's key is allow",
    "alwaysAllow": "Roo Code's alwaysAllow lists tools to run at once: opsbot's key is allow",
    "serverUrl": "Windsurf's serverUrl: opsbot's key is url",
    "httpUrl": "Gemini CLI's httpUrl: opsbot's key is url",
}
_EXPECTED = {
    "tuple_type": 'must be a list, e.g. ["get_*", "list_*"]',
    "float_type": "must be a number of seconds, e.g. 30",
    "bool_type": "must be true or false",
    "dict_type": "must be a mapping of names to strings",
    "string_type": "must be a string",
}


def _problems(error: ValidationError) -> str:
    """The first few problems as 'field: problem'; pydantic's inputs (maybe secrets) left out."""
    lines = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"])
        message = _EXPECTED.get(item["type"]) or str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    more = error.error_count() - len(lines)
    return "; ".join(lines) + (f" (and {more} more)" if more > 0 else "")


def _parse(path: Path) -> Any:
    """The file's data; McpConfigError('<path>: ...') if it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        what = {FileNotFoundError: "no such file", IsADirectoryError: "is a directory, not a file",
                UnicodeDecodeError: "is not UTF-8 text"}.get(type(error))  # fmt: skip
        raise McpConfigError(f"{path}: {what or 'cannot be read'}") from None
    suffix = path.suffix.lower()
    kinds = ["JSON"] if suffix == ".json" else ["YAML"] if suffix in (".yaml", ".yml") else []
    problems = []
    for kind in kinds or ["JSON", "YAML"]:
        try:
            return _json(text) if kind == "JSON" else yaml.load(text, Loader=_Loader)
        except (ValueError, yaml.YAMLError) as error:
            problems.append(_where(error))
    if kinds:
        raise McpConfigError(f"{path}: invalid {kinds[0]}: {problems[0]}")
    raise McpConfigError(f"{path}: neither JSON ({problems[0]}) nor YAML ({problems[1]})")


def _where(error: Exception) -> str:
    """Line, column and problem, without the parser's excerpt of the file (it may hold secrets)."""
    if isinstance(error, json.JSONDecodeError):
        return f"line {error.lineno}, column {error.colno}: {error.msg}"
    if isinstance(error, yaml.reader.ReaderError):
        return f"character {error.position + 1}: {error.reason}"
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"{at}{error.problem or error.context or 'cannot parse'}"
    return str(error) if str(error).startswith("duplicate key") else type(error).__name__


def _json(text: str) -> Any:
    """JSON that refuses a key written twice in one object (json.loads keeps the last one)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        if twice := [key for key in keys if keys.count(key) > 1]:
            raise ValueError(f"duplicate key {twice[0]!r}")
        return dict(items)

    return json.loads(text, object_pairs_hook=pairs)


class _Loader(yaml.SafeLoader):
    """A safe loader that refuses a key written twice in one mapping (merge keys aside)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        own = [key for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"]
        mapping = super().construct_mapping(node, deep)
        seen: set[Hashable] = set()
        for key_node in own:
            if (key := self.construct_object(key_node, deep=deep)) in seen:
                mark = key_node.start_mark
                raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=mark)
            seen.add(key)
        return mapping
