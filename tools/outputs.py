"""read_output: page through the whole output of a tool call whose result was truncated."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Tool, ToolContext, ToolError


class ReadOutputInput(BaseModel):
    """A slice of a kept output."""

    output_id: str = Field(description="The output_id a truncated result named")
    offset: int = Field(default=0, ge=0, description="Character offset to start at")
    limit: int = Field(default=12_000, ge=1, le=50_000)


async def read_output(args: ReadOutputInput, ctx: ToolContext) -> dict[str, Any]:
    """Return `limit` characters of the kept output from `offset`."""
    if ctx.outputs is None:
        raise ToolError("no outputs are kept in this setup")
    text = await ctx.outputs.load(args.output_id)
    if text is None:
        raise ToolError(f"no kept output {args.output_id!r}")
    page = max(256, ctx.output_cap // 3 - 100)  # escaped once more inside this result's JSON
    end = args.offset + min(args.limit, page)
    return {"text": text[args.offset : end], "offset": args.offset, "next_offset": end
            if end < len(text) else None, "total": len(text)}  # fmt: skip


READ_OUTPUT_TOOL: Tool[ReadOutputInput] = Tool(
    "read_output",
    "Read more of a tool result that was truncated (it names its output_id and offset).",
    ReadOutputInput,
    Risk.READ,
    read_output,
)
