"""The confinement launcher's entry point: `python -I -S launch.py SPEC -- PROGRAM ARG...` or
`python -I -S launch.py --wait` (see kernel.py). A stub, because a script run by path
is compiled at every start while the modules it imports load from their cached bytecode."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel  # type: ignore[import-not-found]

status = kernel.main(sys.argv)
sys.stdout.flush()
sys.stderr.flush()
os._exit(status)  # no interpreter teardown: a few milliseconds of every command
