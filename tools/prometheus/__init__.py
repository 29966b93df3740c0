"""The `prometheus` toolset: PromQL queries, metric discovery, alerting rules, Alertmanager.

Offered only when configured: the Prometheus tools with OPSBOT_PROMETHEUS_URL, the
Alertmanager tools with OPSBOT_ALERTMANAGER_URL (`tool_names`).
"""

from __future__ import annotations

from typing import Any

from tools.base import Tool
from tools.prometheus.alertmanager import ALERTMANAGER_TOOLS
from tools.prometheus.discovery import DISCOVERY_TOOLS
from tools.prometheus.queries import QUERY_TOOLS

PROMETHEUS_TOOLS: tuple[Tool[Any], ...] = (*QUERY_TOOLS, *DISCOVERY_TOOLS)
TOOLS: tuple[Tool[Any], ...] = (*PROMETHEUS_TOOLS, *ALERTMANAGER_TOOLS)


def tool_names(prometheus: bool, alertmanager: bool, read_only: bool) -> list[str]:
    """The names of the tools to offer: Prometheus' when it is configured, Alertmanager's when
    it is (without the silence, which needs approval, when `read_only`)."""
    chosen = [
        *(PROMETHEUS_TOOLS if prometheus else ()),
        *(ALERTMANAGER_TOOLS if alertmanager else ()),
    ]
    return [tool.name for tool in chosen if not read_only or tool.risk == "read"]
