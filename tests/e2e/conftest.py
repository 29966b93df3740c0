"""Browser tests need Debian's chromium: without it `make test` skips them with the reason in
its summary (pytest `-ra`), except under CI (`CI=true`), where they must run and fail instead.

A test is a browser test when it is marked `browser` or its module imports Playwright.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.e2e.browser_support import CHROMIUM, IN_CI, NO_CHROMIUM


def _uses_playwright(module: ModuleType | None) -> bool:
    return module is not None and any(
        str(getattr(value, "__module__", "") or "").startswith("playwright")
        for value in vars(module).values()
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark browser tests; skip them when chromium is missing outside CI."""
    for item in items:
        module = getattr(item, "module", None)
        if item.get_closest_marker("browser") is None and _uses_playwright(module):
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser") and not CHROMIUM and not IN_CI:
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))
