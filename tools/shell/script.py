"""A plain script as opsbot runs it: pipelines of simple commands made of words whose
quoting is kept (quoted glob characters are literal), with their redirections. Built by
`tools.shell.syntax` from the tree-sitter tree; expanded by `tools.shell.expand`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Segment:
    """A piece of a word and whether it was quoted (quoted glob characters are literal)."""

    text: str
    quoted: bool
    variable: str | None = None
    """A plain variable (`$HOME`) the executor expands from the confined environment."""


@dataclass(frozen=True)
class Word:
    """One shell word after quote removal, kept as segments so globbing knows what was quoted."""

    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        """The word's characters after quote removal (variables as written, `$HOME`)."""
        return "".join(f"${s.variable}" if s.variable else s.text for s in self.segments)

    def expand(self, env: dict[str, str]) -> str:
        """The word with its plain variables replaced from `env` (unset ones are empty)."""
        return "".join(env.get(s.variable, "") if s.variable else s.text for s in self.segments)

    @property
    def globbed(self) -> bool:
        """True when an unquoted `*`, `?` or `[` makes the shell expand it to file names."""
        return any(not s.quoted and GLOB_CHARS & set(s.text) for s in self.segments)

    @property
    def tilde(self) -> bool:
        """True when it starts with an unquoted `~` (the home directory)."""
        first = self.segments[0] if self.segments else None
        return first is not None and not first.quoted and first.text.startswith("~")


RedirectOp = Literal["read", "write", "append", "dup"]


@dataclass(frozen=True)
class Redirect:
    """`fd op target`: `< file` is (0, read, file); `2>&1` is (2, dup, "1")."""

    fd: int
    op: RedirectOp
    target: Word


@dataclass(frozen=True)
class SimpleCommand:
    """A program and its arguments, with its redirections."""

    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    """Commands joined by `|` (or `|&`, which also pipes standard error)."""

    commands: tuple[SimpleCommand, ...]


Connector = Literal[";", "&&", "||"]


@dataclass(frozen=True)
class Script:
    """Pipelines run in order; each after the first is run or skipped by its connector."""

    steps: tuple[tuple[Connector, Pipeline], ...]

    def commands(self) -> list[SimpleCommand]:
        """Every simple command of the script, in order."""
        return [c for _, pipeline in self.steps for c in pipeline.commands]
