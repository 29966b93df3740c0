"""MCP tools as opsbot tools: named for the model, gated by the server's globs, shown on cards.

Gating (first match wins): `deny` refuses; `allow` runs at once; `approve` asks; a tool the
server marks `readOnlyHint` runs at once only where the operator set `trust_annotations`
(the MCP specification says clients must treat annotations from untrusted servers as
untrusted: https://modelcontextprotocol.io/specification/2025-06-18/server/tools); everything
else asks.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from mcp.types import CallToolResult, EmbeddedResource, ImageContent, TextContent
from mcp.types import Tool as McpToolInfo
from pydantic import BaseModel, ConfigDict

from core import faults
from core.types import Risk
from tools.base import Assessment, Tool, ToolContext, ToolError, json_schema_problem
from tools.mcp.config import McpServerConfig
from tools.mcp.connection import McpCallError, McpConnection

PREFIX = "mcp"
MAX_NAME = 64
"""Anthropic tool names match ^[a-zA-Z0-9_-]{1,64}$ (Messages API, `tools[].name`)."""
MAX_DESCRIPTION = 1_000

Kind = Literal["allow", "approve", "deny"]


class McpArguments(BaseModel):
    """An MCP tool's arguments: checked against the server's JSON schema, kept as given."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Verdict:
    """What opsbot does with calls of one MCP tool, and the rule that decided it."""

    kind: Kind
    rule: str


def model_name(server: str, tool: str) -> str:
    """`mcp__<server>__<tool>` (Claude Code's convention), other characters as `_`; a name
    longer than 64 characters keeps its start and gets a hash of the whole."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", f"{PREFIX}__{server}__{tool}")
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def _first_match(globs: tuple[str, ...], name: str) -> str | None:
    return next((glob for glob in globs if fnmatchcase(name, glob)), None)


def hints(info: McpToolInfo) -> list[str]:
    """The server's annotations in words ("read-only", "destructive", ...), unverified."""
    notes = info.annotations
    if notes is None:
        return []
    said = [("read-only", notes.read_only_hint), ("destructive", notes.destructive_hint),
            ("idempotent", notes.idempotent_hint), ("reaches outside systems",
            notes.open_world_hint)]  # fmt: skip
    return [word for word, flag in said if flag]


def verdict_for(config: McpServerConfig, info: McpToolInfo) -> Verdict:
    """The gate for `info` under `config` (see the module docstring)."""
    if (glob := _first_match(config.deny, info.name)) is not None:
        return Verdict("deny", f"deny {glob!r}")
    if (glob := _first_match(config.allow, info.name)) is not None:
        return Verdict("allow", f"allow {glob!r}")
    if (glob := _first_match(config.approve, info.name)) is not None:
        return Verdict("approve", f"approve {glob!r}")
    notes = info.annotations
    read_only = notes is not None and notes.read_only_hint is True
    if read_only and config.trust_annotations:
        return Verdict("allow", "readOnlyHint (trust_annotations)")
    if read_only:
        return Verdict("approve", "readOnlyHint, not trusted without trust_annotations")
    return Verdict("approve", "not in allow, approve or deny")


def result_data(result: CallToolResult) -> Any:
    """The JSON value the model reads: the structured result when the server gave one, else
    the content blocks' text (images and binary resources described, not inlined)."""
    if result.structured_content is not None and not result.is_error:
        return result.structured_content
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, ImageContent):
            parts.append(f"[image {block.mime_type}, {len(block.data) * 3 // 4} bytes, not shown]")
        elif isinstance(block, EmbeddedResource):
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource {resource.uri}, binary]")
        else:
            parts.append(json.dumps(block.model_dump(mode="json", exclude_none=True)))
    return "\n".join(parts)


def card_text(config: McpServerConfig, info: McpToolInfo, args: dict[str, Any]) -> str:
    """What an approval card shows: server, tool, description, the server's hints and the
    exact arguments."""
    shown_name = _shorten(json.dumps(info.name, ensure_ascii=False), 120)
    lines = [f"MCP server {config.name} ({config.target()})", f"tool {shown_name}"]
    if info.description:
        lines.append(_shorten(" ".join(info.description.split()), 300))
    if said := hints(info):
        lines.append(f"the server says (not verified): {', '.join(said)}")
    lines.append("arguments:")
    lines.append(json.dumps(args, indent=2, ensure_ascii=False, sort_keys=True))
    return "\n".join(lines)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _description(config: McpServerConfig, info: McpToolInfo, name: str, note: str) -> str:
    """`[MCP server <server>, tool <name>] <description>`: the frame names the tool by its model
    name (the server's raw name could close the frame), the server's words folded and cut."""
    said = hints(info)
    hinted = f" (the server says: {', '.join(said)})" if said else ""
    said_by_server = info.description or info.title or ""
    body = _shorten(" ".join(f"{said_by_server} {note}".split()), MAX_DESCRIPTION)
    short = name.removeprefix(f"{PREFIX}__{config.name}__")
    return f"[MCP server {config.name}, tool {short}{hinted}] {body or short}"


def offered_schema(info: McpToolInfo) -> tuple[dict[str, Any], str]:
    """The input schema offered to the model and checked before a call, and a note for the
    description when the server's own could not be used (it is not valid JSON Schema, not an
    object's, refers outside itself or is over `MAX_SCHEMA` characters): then any object goes
    and the server checks the arguments itself."""
    schema = dict(info.input_schema) or {"type": "object"}
    schema.pop("title", None)
    problem = schema_problem(schema)
    if problem is None:
        return schema, ""
    return {"type": "object"}, f"(Its input schema was left out: {problem}.)"


MAX_SCHEMA = 16_000


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why an MCP server's input schema cannot be offered, or None."""
    text = json.dumps(schema, ensure_ascii=False)
    if len(text) > MAX_SCHEMA:
        return f"{len(text)} characters, over {MAX_SCHEMA}"
    if schema.get("type", "object") != "object":
        return "not an object's schema"
    if refers_elsewhere(schema):
        return REFERS_ELSEWHERE
    return json_schema_problem(schema, None, check_only=True)


REFERS_ELSEWHERE = "it refers to another document, which opsbot never fetches"


def refers_elsewhere(schema: dict[str, Any]) -> bool:
    """Whether a `$ref` of `schema` points outside it (not `#...`)."""
    return re.search(r'"\$ref":\s*"(?!#)', json.dumps(schema, ensure_ascii=False)) is not None


def mcp_tool(connection: McpConnection, info: McpToolInfo, verdict: Verdict) -> Tool[McpArguments]:
    """An opsbot tool that calls `info` on `connection`'s server under `verdict`."""
    config = connection.config
    name = model_name(config.name, info.name)

    unchecked = refers_elsewhere(dict(info.input_schema))

    async def call(args: McpArguments, ctx: ToolContext) -> Any:
        if unchecked:  # the arguments cannot be checked against what the server expects
            raise ToolError(f"{config.name}/{info.name} is not called: its input schema "
                            f"{REFERS_ELSEWHERE}, so its arguments cannot be checked")  # fmt: skip
        try:
            result = await connection.call(info.name, args.model_dump(), config.timeout_s)
        except McpCallError as error:
            raise ToolError(str(error)) from None
        faults.point("after_mcp_answer")  # the server acted; opsbot has not recorded it yet
        data = result_data(result)
        if result.is_error:
            text = data if isinstance(data, str) else json.dumps(data)
            raise ToolError(f"{config.name}/{info.name} returned an error: {text}")
        return data

    def assess(args: McpArguments, ctx: ToolContext) -> Assessment:
        if unchecked:
            return Assessment(Risk.READ, denied=f"{config.name}/{info.name} is not called: its "
                              f"input schema {REFERS_ELSEWHERE}")  # fmt: skip
        if verdict.kind == "deny":
            return Assessment(Risk.CRITICAL, denied=f"{config.name}/{info.name} is refused by "
                              f"the operator's MCP configuration ({verdict.rule})")  # fmt: skip
        if verdict.kind == "allow":
            return Assessment(Risk.READ)
        return Assessment(Risk.WRITE, reason=f"MCP tool {config.name}/{info.name} needs "
                          f"approval ({verdict.rule})")  # fmt: skip

    def preview(args: McpArguments, ctx: ToolContext) -> str:
        return card_text(config, info, args.model_dump())

    risk = {"allow": Risk.READ, "approve": Risk.WRITE, "deny": Risk.CRITICAL}[verdict.kind]
    schema, note = offered_schema(info)
    return Tool(name, _description(config, info, name, note), McpArguments, risk, call,
                preview=preview, assess_call=assess, schema=schema)  # fmt: skip
