"""`python -m bot.health`: exit 0 when the local opsbot answers /healthz (container HEALTHCHECK).

Standard library only, so a check every 30 s costs a few milliseconds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Probe http://127.0.0.1:$OPSBOT_HEALTH_PORT/healthz."""
    port = os.environ.get("OPSBOT_HEALTH_PORT")
    if not port:
        print("OPSBOT_HEALTH_PORT is not set: opsbot serves no health endpoint", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as answer:
            healthy = answer.status == 200
    except (urllib.error.URLError, OSError) as error:
        print(f"opsbot is not answering on port {port}: {error}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
