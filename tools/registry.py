"""The default tool set and lookup by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tools import files, git, logs, prometheus
from tools.base import Tool
from tools.changes import tool as changes
from tools.outputs import READ_OUTPUT_TOOL
from tools.shell import tool as shell


class ToolRegistry:
    """Tools by name; agents pick their subset from it."""

    def __init__(
        self, tools: Iterable[Tool[Any]], more: Callable[[str], Tool[Any] | None] | None = None
    ) -> None:
        """`more` finds tools that appear while running (an MCP server's, `McpHub.get`)."""
        self._more = more
        self._tools: dict[str, Tool[Any]] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"duplicate tool name {tool.name}")
            self._tools[tool.name] = tool

    def get(self, name: str) -> Tool[Any] | None:
        """The tool called `name`, or None."""
        tool = self._tools.get(name)
        if tool is None and self._more is not None:
            return self._more(name)
        return tool

    def subset(self, names: Iterable[str]) -> list[Tool[Any]]:
        """The named tools, in the order given; unknown names raise KeyError."""
        return [self._tools[name] for name in names]

    def names(self) -> list[str]:
        """Every tool name."""
        return list(self._tools)


def default_tools(more: Callable[[str], Tool[Any] | None] | None = None) -> ToolRegistry:
    """Every built-in toolset's tools and `read_output` (the pager of them all); `more` finds
    the tools that appear while running (the MCP servers', `McpHub.get`). A new toolset:
    docs/toolsets.md."""
    toolsets = (logs.TOOLS, files.TOOLS, git.TOOLS, shell.TOOLS, prometheus.TOOLS, changes.TOOLS)
    return ToolRegistry([*(t for toolset in toolsets for t in toolset), READ_OUTPUT_TOOL], more)
