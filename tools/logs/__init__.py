"""The log toolset: `search_logs` and `read_log` over OPSBOT_LOG_SOURCES (search.py), both
read."""

from __future__ import annotations

from typing import Any

from tools.base import Tool
from tools.logs.search import LOG_TOOLS

TOOLS: tuple[Tool[Any], ...] = LOG_TOOLS
