"""What a plain command's words become before it runs: variables, `~` and globs, expanded
by opsbot itself (never by a shell), and the program looked up on the system's own PATH."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from tools.shell.script import GLOB_CHARS, Word

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Repository configuration that would run a program: forced off for every git, confined or
# approved (GIT_CONFIG_COUNT has the precedence of `git -c`; git 2.31 or later). diff.external
# and textconv drivers cannot be switched off by configuration (an empty value is run as a
# program): confined git diff/log/show get --no-ext-diff --no-textconv (`git_safe_argv`).
GIT_NEVER_RUNS = (("core.fsmonitor", "false"), ("core.hooksPath", "/dev/null"),
                  ("core.pager", "cat"), ("gpg.program", "false"),
                  ("core.alternateRefsCommand", ""), ("core.editor", "false"),
                  ("sequence.editor", "false"),
                  ("protocol.ext.allow", "never"))  # fmt: skip  # ext:: runs a command
# Confined git also never reaches elsewhere or asks for credentials.
GIT_CONFINED = (*GIT_NEVER_RUNS, ("core.sshCommand", "false"), ("credential.helper", ""),
                ("protocol.allow", "never"))  # fmt: skip


GIT_DIFF_FLAGS = ("--no-ext-diff", "--no-textconv")
GIT_VALUE_OPTIONS = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace",
                               "--exec-path", "--config-env", "--super-prefix"})  # fmt: skip
GIT_DIFFING = frozenset({"diff", "log", "show", "whatchanged", "format-patch"})


def git_safe_argv(argv: list[str]) -> list[str]:
    """A git command with `--no-ext-diff --no-textconv` after a subcommand that diffs (the
    repository's diff programs never run); any other argv unchanged."""
    name = os.path.basename(argv[0]) if argv else ""
    if name != "git":
        return argv
    index = 1
    while index < len(argv) and argv[index].startswith("-"):  # git's own options: -P, -C dir
        index += 2 if argv[index] in GIT_VALUE_OPTIONS else 1
    if index >= len(argv) or argv[index] not in GIT_DIFFING:
        return argv
    return [*argv[: index + 1], *GIT_DIFF_FLAGS, *argv[index + 1 :]]


def git_config_env(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """`GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n` variables that set `pairs` as `git -c` would."""
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for index, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/opt/")


def confined_env(home: Path, cwd: Path, kubeconfig: str | None = None) -> dict[str, str]:
    """The whole environment of a confined command: no token, key or setting of the bot's,
    git configuration from the workspace or the bot's home switched off, and kubectl's only
    kubeconfig the operator's (`kubeconfig`, `KUBECONFIG`'s form) or none."""
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
        "KUBECONFIG": kubeconfig or str(home / ".kube" / "config"),
        "SYSTEMD_PAGER": "",
        "PYTHONDONTWRITEBYTECODE": "1",
        **git_config_env(GIT_CONFINED),
    }
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    return env


Visible = Callable[[str, Path], bool]
"""Whether a name a glob matched (as written, from a working directory) may be shown: globs
are expanded by opsbot outside the sandbox, so only names a confined command could list."""


def _everything(_: str, __: Path) -> bool:
    return True


MAX_GLOB_LEVELS = 3
MAX_GLOB_MATCHES = 10_000


class GlobTooBroad(ValueError):
    """A glob that opsbot will not expand unasked (too deep, climbing with .., too many)."""


def expand_word(
    word: Word, cwd: Path, env: dict[str, str], visible: Visible = _everything
) -> list[str]:
    """One word's expansion: plain variables, a leading `~`, then file-name globbing (only
    `visible` names; no match keeps the word as written, as bash does; hidden files need a
    leading dot)."""
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
    parts = pattern.split("/")
    wild = [i for i, part in enumerate(parts) if set(part) & GLOB_CHARS]
    if len(wild) > MAX_GLOB_LEVELS or any(p == ".." for p in parts[wild[0] :]):
        limit = f"at most {MAX_GLOB_LEVELS} levels with a wildcard, no .. after one"
        raise GlobTooBroad(f"the glob {text!r} walks too many directories ({limit})")
    found = glob.iglob(pattern) if os.path.isabs(pattern) else glob.iglob(pattern, root_dir=cwd)
    matches = list(itertools.islice(found, MAX_GLOB_MATCHES + 1))
    if len(matches) > MAX_GLOB_MATCHES:
        raise GlobTooBroad(f"the glob {text!r} matches more than {MAX_GLOB_MATCHES} names")
    return [m for m in sorted(matches) if visible(m, cwd)] or [text]


def expand_words(
    words: tuple[Word, ...], cwd: Path, env: dict[str, str], visible: Visible = _everything
) -> list[str]:
    """A command's argv after expansion."""
    return [arg for word in words for arg in expand_word(word, cwd, env, visible)]


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
