"""The git toolset: `git_log` and `git_diff` of the workspace's repository (history.py), both
read."""

from __future__ import annotations

from typing import Any

from tools.base import Tool
from tools.git.history import GIT_TOOLS

TOOLS: tuple[Tool[Any], ...] = GIT_TOOLS
