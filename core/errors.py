"""Errors shared by every layer."""

from __future__ import annotations


class ConfigError(Exception):
    """Bad configuration: the message is one line that names the variable to fix."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"configuration error: {variable}: {problem}")
