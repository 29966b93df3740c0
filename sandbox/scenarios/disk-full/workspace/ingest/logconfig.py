"""The ingest worker's logging configuration, checked before a release."""

import json
from pathlib import Path

CONFIG = Path(__file__).with_name("logging.json")


def load(path: Path = CONFIG) -> dict:
    """The logging configuration as a dict."""
    return json.loads(path.read_text())


def problems(config: dict) -> list[str]:
    """What would fill the disk (empty when the configuration is safe)."""
    found = []
    if config.get("level") == "DEBUG":
        found.append("level DEBUG writes every parsed record")
    rotate = config.get("rotate", {})
    if not rotate.get("max_bytes") or not rotate.get("keep"):
        found.append("rotation is off (max_bytes and keep must be set)")
    return found
