"""The shell toolset: `shell_execute`, its one parse, its per-program allow-lists and executor."""

from tools.shell.tool import SHELL_TOOL

__all__ = ["SHELL_TOOL"]
