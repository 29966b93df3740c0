"""The default tool set and lookup by name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tools.base import Tool
from tools.edit import EDIT_FILE_TOOL
from tools.files import FILE_TOOLS
from tools.git import GIT_TOOLS
from tools.logs import LOG_TOOLS
from tools.outputs import READ_OUTPUT_TOOL
from tools.shell.tool import SHELL_TOOL


class ToolRegistry:
    """Tools by name; agents pick their subset from it."""

    def __init__(self, tools: Iterable[Tool[Any]]) -> None:
        self._tools: dict[str, Tool[Any]] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"duplicate tool name {tool.name}")
            self._tools[tool.name] = tool

    def get(self, name: str) -> Tool[Any] | None:
        """The tool called `name`, or None."""
        return self._tools.get(name)

    def subset(self, names: Iterable[str]) -> list[Tool[Any]]:
        """The named tools, in the order given; unknown names raise KeyError."""
        return [self._tools[name] for name in names]

    def names(self) -> list[str]:
        """Every tool name."""
        return list(self._tools)


def default_tools(extra: Iterable[Tool[Any]] = ()) -> ToolRegistry:
    """Every built-in tool, then `extra` (the MCP servers' tools)."""
    return ToolRegistry(
        [*LOG_TOOLS, *FILE_TOOLS, EDIT_FILE_TOOL, *GIT_TOOLS, SHELL_TOOL, READ_OUTPUT_TOOL, *extra]
    )
