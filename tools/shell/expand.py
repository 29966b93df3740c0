"""What a plain command's words become before it runs: variables, `~` and globs, expanded
by opsbot itself (never by a shell), and the program looked up on the system's own PATH."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from tools.shell.syntax import Word

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/opt/")


def confined_env(home: Path, cwd: Path) -> dict[str, str]:
    """The whole environment of a confined command: no token, key or setting of the bot's,
    git and kubectl configuration from the workspace or the bot's home switched off."""
    env = {
        "PATH": SYSTEM_PATH,
        "HOME": str(home),
        "TMPDIR": str(home),
        "PWD": str(cwd),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TERM": "dumb",
        "PAGER": "cat",
        "GIT_PAGER": "cat",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_TERMINAL_PROMPT": "0",
        "KUBECONFIG": str(home / ".kube" / "config"),
        "SYSTEMD_PAGER": "",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    return env


def expand_word(word: Word, cwd: Path, env: dict[str, str]) -> list[str]:
    """One word's expansion: plain variables, a leading `~`, then file-name globbing
    (no match keeps the word as written, as bash does; hidden files need a leading dot)."""
    if word.tilde:
        first = word.segments[0]
        rest = "".join(
            s.text if not s.variable else env.get(s.variable, "") for s in word.segments[1:]
        )
        text = env["HOME"] + first.text[1:] + rest
        return [text]
    text = word.expand(env)
    if not word.globbed:
        return [text]
    pattern = "".join(
        glob.escape(env.get(s.variable, "") if s.variable else s.text) if s.quoted else s.text
        for s in word.segments
    )
    if os.path.isabs(pattern):
        matches = sorted(glob.glob(pattern))
    else:
        matches = sorted(glob.glob(pattern, root_dir=cwd))
    return matches or [text]


def expand_words(words: tuple[Word, ...], cwd: Path, env: dict[str, str]) -> list[str]:
    """A command's argv after expansion."""
    return [arg for word in words for arg in expand_word(word, cwd, env)]


def resolve_program(name: str) -> Path | None:
    """The system binary `name` runs, or None: a bare name found on the system PATH, or an
    absolute path, whose real file lies in a system directory (never `./cat`, `tools/cat` or
    a workspace file)."""
    if not name or ("/" in name and not name.startswith("/")):
        return None
    found = shutil.which(name, path=SYSTEM_PATH) if "/" not in name else name
    if found is None or not os.access(found, os.X_OK) or os.path.isdir(found):
        return None
    real = os.path.realpath(found)
    return Path(found) if real.startswith(SYSTEM_PREFIXES) else None
