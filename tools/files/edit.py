"""edit_file: one exact-string replacement in a workspace file (write or critical).

A fix never needs a whole file in one model reply: the model names the text to replace
(which must occur exactly once) and its replacement. The approver sees the same unified diff
as for write_file, and the file is written through the same no-symlink walk.
"""

from __future__ import annotations

import asyncio
import difflib
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from core.types import Risk
from tools.base import Assessment, Tool, ToolContext, ToolError
from tools.confine import secrets_scan
from tools.files.read_write import current_content, holds_credentials, write_risk, write_text
from tools.files.text import crlf_lines, ends_lines_with_crlf, lf_lines, lines_with_ends
from tools.shell import gitconfig
from tools.workspace import workspace_parts


class EditFileInput(BaseModel):
    """Replace one exact piece of text in a workspace file."""

    path: str = Field(description="Path relative to the workspace")
    old_string: str = Field(
        min_length=1,
        description="The exact text to replace (whitespace included); it must occur exactly "
        "once in the file: include enough surrounding lines to make it unique",
    )
    new_string: str = Field(description="The text that replaces it (may be empty)")


def _replaced(name: str, text: str, old: str, new: str) -> str:
    """`text` with its one `old` replaced by `new`; `ToolError` unless `old` occurs exactly
    once and the replacement changes something."""
    count = text.count(old)
    if count != 1:
        where = "does not occur" if count == 0 else f"occurs {count} times"
        mixed = " (some of its lines end in CRLF: write those ends as \\r\\n)"
        raise ToolError(
            f"old_string {where} in {name}; it must occur exactly once (add surrounding lines "
            "to make it unique, or read_file to copy the text exactly)"
            + (mixed if count == 0 and "\r\n" in text and "\r\n" not in old else "")
        )
    if old == new:
        raise ToolError(
            f"old_string and new_string are the same: the edit changes nothing in {name}"
        )
    return text.replace(old, new, 1)


def _edited(args: EditFileInput, ctx: ToolContext) -> tuple[str, str, str]:
    """(workspace-relative name, text before, text after); `ToolError` unless `old_string`
    occurs exactly once in an existing UTF-8 file and the edit changes it.

    In a file whose lines all end in CRLF the edit is made on its lines as read_file shows
    them (LF) and the file keeps its CRLF ends: the model never sees the `\\r`.
    """
    name, before = current_content(ctx, args.path)
    if holds_credentials(PurePosixPath(name).parts):
        raise ToolError(f"{args.path!r} holds credentials (a .env-style file): it is never read")
    if not before:
        raise ToolError(f"{name} does not exist or is empty; create it with write_file")
    if not ends_lines_with_crlf(before):
        return name, before, _replaced(name, before, args.old_string, args.new_string)
    old, new = lf_lines(args.old_string), lf_lines(args.new_string)
    return name, before, crlf_lines(_replaced(name, lf_lines(before), old, new))


def edit_file_diff(args: EditFileInput, ctx: ToolContext) -> str:
    """The unified diff this edit would make: what the approver reviews."""
    name, before, after = _edited(args, ctx)
    diff = difflib.unified_diff(
        lines_with_ends(before),
        lines_with_ends(after),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(diff) or f"(no change to {name})"


def assess_edit(args: EditFileInput, ctx: ToolContext) -> Assessment:
    """As write_file: CRITICAL for files that run code later, else WRITE. Raises `ToolError`
    (an error result, before anyone is asked) unless old_string occurs exactly once in a UTF-8
    file and the edit changes it."""
    _edited(args, ctx)
    return write_risk(ctx, args.path)


async def edit_file(args: EditFileInput, ctx: ToolContext) -> dict[str, Any]:
    """Apply the replacement (re-checked on the file as it is now) and return the diff."""
    diff = edit_file_diff(args, ctx)
    _, _, after = _edited(args, ctx)
    await asyncio.to_thread(write_text, ctx, args.path, after)
    secrets_scan.forget(ctx.workspace)
    gitconfig.forget()
    return {"path": "/".join(workspace_parts(ctx.workspace, args.path)), "diff": diff}


EDIT_FILE_TOOL: Tool[Any] = Tool(
    "edit_file",
    "Replace one exact piece of text in a workspace file (old_string must occur exactly once; "
    "needs human approval; critical for files that run code later). Prefer it to write_file "
    "for changes to existing files: it needs only the changed lines.",
    EditFileInput,
    Risk.WRITE,
    edit_file,
    preview=edit_file_diff,
    assess_call=assess_edit,
)
