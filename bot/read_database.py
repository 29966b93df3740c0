"""Which database the read commands (`opsbot audit`, `runs show`, `workers`) read, said aloud.

OPSBOT_DATABASE_URL (environment or `.env`) wins. Without it, `opsbot serve` uses
`opsbot.sqlite` in the current directory and `opsbot dev` uses `.dev/opsbot.sqlite`: from the
repository root, the dev database is read when there is no `opsbot.sqlite`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from core.settings import Settings, load_settings

DEFAULT_FILE = Path("opsbot.sqlite")
DEV_FILE = Path(".dev") / "opsbot.sqlite"


def choose_database(settings: Settings) -> tuple[Settings, str]:
    """The settings with the database to read, and why that one (for the line printed)."""
    if "database_url" in settings.model_fields_set:
        return settings, "OPSBOT_DATABASE_URL"
    if not DEFAULT_FILE.is_file() and DEV_FILE.is_file():
        url = f"sqlite:///{DEV_FILE.absolute()}"
        return settings.model_copy(update={"database_url": url}), "opsbot dev's"
    why = "the default"
    if DEV_FILE.is_file():
        why += f"; opsbot dev's is {DEV_FILE}: OPSBOT_DATABASE_URL=sqlite:///{DEV_FILE} reads it"
    return settings, why


def shown(url: str) -> str:
    """`url` without its password."""
    return make_url(url).render_as_string(hide_password=True)


def read_settings() -> Settings:
    """`load_settings()` with the database to read; says which on stderr (stdout stays data).

    Raises `ConfigError` as `load_settings` does.
    """
    settings, why = choose_database(load_settings())
    print(f"database: {shown(settings.database_url)} ({why})", file=sys.stderr)
    return settings
