"""Whether Debian's chromium is here for the browser tests, and whether CI requires it."""

from __future__ import annotations

import os
import shutil

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NO_CHROMIUM = "the browser test needs Debian's chromium (apt-get install chromium; .ci/run does)"
