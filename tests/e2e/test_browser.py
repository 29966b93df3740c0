"""The local page in headless Chromium: mention, stream, approve (and be refused), status."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.e2e.browser_support import CHROMIUM, NO_CHROMIUM
from tests.e2e.dev_process import running_dev

pytestmark = [pytest.mark.e2e, pytest.mark.browser]  # skipped without chromium: conftest.py


async def saw_text_grow(page: Page, timeout_s: float = 30.0) -> bool:
    """Whether a message still streaming got longer between two looks."""
    last: dict[str, int] = {}
    for _ in range(int(timeout_s / 0.05)):
        streaming = page.locator("#thread-messages .msg:has(.text.streaming)")
        for index in range(await streaming.count()):
            message = streaming.nth(index)
            ts = await message.get_attribute("data-ts") or ""
            length = len(await message.locator(".text").inner_text())
            if ts in last and length > last[ts]:
                return True
            last[ts] = length
        await page.wait_for_timeout(50)
    return False


async def test_an_incident_in_the_browser(tmp_path: Path) -> None:
    assert CHROMIUM, NO_CHROMIUM + "; CI=true requires it"
    async with running_dev(tmp_path / "dev") as dev, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        try:
            await page.goto(dev.url)
            await page.select_option("#user", "U0ONCALL")
            composer = page.locator("#composer textarea")
            await composer.press_sequentially("@ops")
            await expect(page.locator("#composer .suggest")).to_contain_text("@opsbot")
            await composer.press("Tab")
            await composer.press_sequentially("checkout is returning 500s")
            await expect(composer).to_have_value("@opsbot checkout is returning 500s")
            await composer.press("Enter")

            thread = page.locator("#thread-messages")
            await expect(thread).to_contain_text("log_analyzer", timeout=15_000)
            assert await saw_text_grow(page), "streamed text grows in the page"
            approve = thread.locator("button.primary", has_text="Approve")
            await expect(approve).to_have_count(1, timeout=60_000)
            await expect(page.locator("#runs .step").first).to_be_visible()
            await page.screenshot(path=str(tmp_path / "p.png"))  # docs': test_page_tour.py

            await page.select_option("#user", "U0VIEWER")
            await approve.click()
            await expect(page.locator("body")).to_contain_text(
                "you are not on the approvers list", timeout=15_000
            )
            await page.select_option("#user", "U0LEAD")
            await approve.click()
            await expect(thread).to_contain_text("Approved by", timeout=15_000)
            second = thread.locator("button.primary", has_text="Approve")
            await expect(second).to_have_count(1, timeout=60_000)
            await second.click()  # a critical action: Approve asks first, showing the command
            dialog = page.locator(".modal", has_text="Approve a critical action?")
            await expect(dialog).to_contain_text("python3 -m unittest", timeout=15_000)
            await dialog.locator("button[data-yes]").click()
            await expect(thread).to_contain_text("Fixed.", timeout=60_000)
            await expect(thread).to_contain_text("succeeded", timeout=15_000)
            await expect(page.locator("#runs")).to_contain_text("trace")

            await page.locator("#composer textarea").fill("/opsbot status")
            await page.locator("#composer textarea").press("Enter")
            await expect(page.locator("#messages .ephemeral").last).to_contain_text(
                "succeeded", timeout=15_000
            )
        finally:
            await browser.close()
