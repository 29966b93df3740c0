"""The file toolset: `read_file`, `list_files`, `search_code` (read) and `write_file`
(read_write.py), `edit_file` (edit.py); a write is `write`, or `critical` for a file that
holds credentials. Line ends and encodings: text.py. Paths: tools/workspace.py."""

from __future__ import annotations

from typing import Any

from tools.base import Tool
from tools.files.edit import EDIT_FILE_TOOL
from tools.files.read_write import FILE_TOOLS

TOOLS: tuple[Tool[Any], ...] = (*FILE_TOOLS, EDIT_FILE_TOOL)
