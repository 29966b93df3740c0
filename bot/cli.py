"""The `opsbot` console script (`python -m bot.cli`): a thin entry point.

Importing the engine takes a second or two; a Ctrl-C meanwhile ends the process quietly
(SIGINT's default action) instead of printing a `KeyboardInterrupt` traceback. `serve` and
`dev` keep that default until their own handlers are in place (a `KeyboardInterrupt` in the
middle of an import can leave the interpreter waiting at exit); the other commands get
Python's `KeyboardInterrupt` back once their arguments are parsed (`bot.commands.run`).
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `opsbot` console script; returns the exit code."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from bot.commands import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
