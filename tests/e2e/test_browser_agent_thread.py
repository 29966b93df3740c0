"""The agent thread in headless Chromium against a real `opsbot dev`: the session's status
above the thread, tool calls as task cards, a vote under the answer, and Stop.

With OPSBOT_UPDATE_SCREENSHOT=1 it rewrites the README's picture of the thread
(docs/agent-thread.png).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.e2e.browser_support import CHROMIUM, NO_CHROMIUM
from tests.e2e.dev_process import ROOT, running_dev

pytestmark = [pytest.mark.e2e, pytest.mark.browser]  # skipped without chromium: conftest.py
SCREENSHOT = ROOT / "docs" / "agent-thread.png"


async def mention(page: Page, text: str) -> None:
    composer = page.locator("#composer textarea")
    await composer.fill(f"@opsbot {text}")
    await composer.press("Enter")


async def test_status_timeline_vote_and_stop_in_the_browser(tmp_path: Path) -> None:
    assert CHROMIUM, NO_CHROMIUM + "; CI=true requires it"
    async with running_dev(tmp_path / "dev") as dev, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1440, "height": 1100})
        try:
            await page.goto(dev.url)
            await page.select_option("#user", "U0ONCALL")
            await mention(page, "checkout is returning 500s")
            thread, session = page.locator("#thread-messages"), page.locator("#session")
            await expect(session).to_contain_text("Working", timeout=15_000)
            await expect(session).to_contain_text("checkout is returning 500s")
            await expect(session.locator("button.stop")).to_be_visible()
            task = thread.locator(".block.task.complete", has_text="search_logs")
            await expect(task.first).to_be_visible(timeout=30_000)
            await expect(task.first.locator(".task-output")).to_contain_text("ok")

            approve = thread.locator("button.primary", has_text="Approve")
            await expect(approve).to_have_count(1, timeout=60_000)
            await expect(session).to_contain_text("Waiting for a person", timeout=15_000)
            await expect(session.locator("button.stop")).to_have_count(0)

            await page.select_option("#user", "U0LEAD")
            await approve.click()
            await expect(thread).to_contain_text("Approved by", timeout=15_000)
            second = thread.locator("button.primary", has_text="Approve")
            await expect(second).to_have_count(1, timeout=60_000)
            await second.click()
            await page.locator(".modal button[data-yes]").click()
            await expect(thread).to_contain_text("succeeded", timeout=60_000)
            await expect(session).to_contain_text("Idle", timeout=15_000)
            up = thread.locator("button.feedback").first
            await expect(up).to_be_visible()
            await up.click()
            await expect(page.locator("body")).to_contain_text("Thanks", timeout=15_000)
            # the README's picture: the last stretch of work, its task cards and the answer
            await thread.locator(".block.task").last.evaluate(
                "t => t.closest('.msg').scrollIntoView({block: 'start'})"
            )
            shot = SCREENSHOT if os.environ.get("OPSBOT_UPDATE_SCREENSHOT") else tmp_path / "t.png"
            await page.screenshot(path=str(shot))

            await page.locator("#close-thread").click()
            await page.select_option("#user", "U0ONCALL")
            await mention(page, "checkout is returning 500s again")
            await expect(session).to_contain_text("Working", timeout=15_000)
            await session.locator("button.stop").click()
            await expect(thread).to_contain_text("Stopped by", timeout=15_000)
            await expect(session).to_contain_text("Idle", timeout=15_000)
            await expect(thread.locator("button.primary", has_text="Approve")).to_have_count(0)
        finally:
            await browser.close()
