"""Errors shared by every layer."""

from __future__ import annotations


class ConfigError(Exception):
    """Bad configuration: the message is one line that names every variable to fix.

    `ConfigError(variable, problem)` is one problem; `ConfigError.of_all([...])` several, so a
    start reports everything wrong at once. `variable` is the first variable named.
    """

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        self.problems: list[tuple[str, str]] = [(variable, problem)]
        super().__init__(f"configuration error: {variable}: {problem}")

    @classmethod
    def of_all(cls, problems: list[tuple[str, str]]) -> ConfigError:
        """One error for several `(variable, problem)` pairs (at least one), in one line."""
        error = cls(*problems[0])
        error.problems = list(problems)
        joined = "; ".join(f"{variable}: {problem}" for variable, problem in problems)
        error.args = (f"configuration error: {joined}",)
        return error

    @property
    def variables(self) -> list[str]:
        """Every variable named, in order."""
        return [variable for variable, _ in self.problems]

    def __str__(self) -> str:
        return str(self.args[0])


class StartupError(Exception):
    """A start that cannot go on for a reason outside opsbot's settings (a service cannot be
    reached): the message is one line that says what and why."""
