"""The `opsbot` console script (`python -m bot.cli`): a thin entry point.

Importing the engine takes a second or two; a Ctrl-C meanwhile ends the process quietly
(SIGINT's default action) instead of printing a `KeyboardInterrupt` traceback. Afterwards
`ask` gets Python's `KeyboardInterrupt` again, and `serve` and `dev` their own handlers.
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `opsbot` console script; returns the exit code."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from bot.commands import run

    signal.signal(signal.SIGINT, signal.default_int_handler)
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
