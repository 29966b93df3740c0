"""The payments service's configuration: loaded from config.json and checked before use."""

import json
from pathlib import Path

CONFIG = Path(__file__).with_name("config.json")
MIN_BANK_TIMEOUT_MS = 1000  # the bank answers in 300-900 ms at p99


def load(path: Path = CONFIG) -> dict:
    """The configuration as a dict."""
    return json.loads(path.read_text())


def problems(config: dict) -> list[str]:
    """What is wrong with a configuration (empty when it is safe to deploy)."""
    found = []
    bank = config.get("bank_api", {})
    if bank.get("timeout_ms", 0) < MIN_BANK_TIMEOUT_MS:
        found.append(f"bank_api.timeout_ms below {MIN_BANK_TIMEOUT_MS} ms")
    if bank.get("retries", 0) > 5:
        found.append("bank_api.retries above 5 (retry storm)")
    return found
