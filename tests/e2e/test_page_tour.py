"""The local page as a new user meets it, in headless Chromium against a real `opsbot dev`.

The tour on the first screen, a refusal shown where the person clicked and naming who can
approve, a thread pane that closes (and never posts to the channel), a run panel in words
whose approval wait does not squash the other steps, the App Home tab, and one sentence for
an incident nobody scripted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from tests.e2e.dev_process import ROOT, running_dev

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = ROOT / "docs" / "local-page.png"


async def approve(page: Page, button: Locator) -> None:
    """Click Approve; a critical action's confirm dialog is answered yes."""
    await button.click()
    dialog = page.locator(".modal", has_text="Approve a critical action?")
    if await dialog.count():
        await dialog.locator("button[data-yes]").click()


async def ask(page: Page, text: str) -> None:
    composer = page.locator("#composer textarea")
    await composer.fill(text)
    await composer.press("Enter")


async def open_page(playwright_page: Page, url: str) -> Page:
    await playwright_page.goto(url)
    await playwright_page.evaluate("localStorage.clear()")
    await playwright_page.reload()
    return playwright_page


async def test_the_tour_self_approval_and_the_panels(tmp_path: Path) -> None:
    assert CHROMIUM, "the browser test needs Debian's chromium (apt-get install chromium)"
    async with running_dev(tmp_path / "dev") as dev, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await open_page(
            await browser.new_page(viewport={"width": 1440, "height": 900}), dev.url
        )
        try:
            tour = page.locator("#tour")
            await expect(tour).to_be_visible()
            for words in ("You are Casey On-call", "Who approves what", "Switch person",
                          "Start over", "Robin Incident-lead"):  # fmt: skip
                await expect(tour).to_contain_text(words)
            await expect(page.locator("#user")).to_have_value("U0ONCALL")
            await expect(page.locator("#thread")).to_be_hidden()
            await expect(page.locator("#thread-composer textarea")).to_be_hidden()

            await page.locator("#scenarios li", has_text="checkout-500").click()
            note = page.locator("#incident-note")  # picked again, it would start afresh
            await expect(note).to_contain_text("checkout-500 starts from its original files")
            await page.locator("#composer textarea").press("Enter")
            thread = page.locator("#thread-messages")
            card = thread.locator(".msg", has=page.locator("button.primary", has_text="Approve"))
            await expect(card).to_have_count(1, timeout=60_000)
            await expect(card).to_contain_text("write_file")
            await page.wait_for_timeout(3_000)  # a person reads the card before deciding
            panel = page.locator("#runs")
            await expect(panel.locator(".step.wait")).to_have_count(1, timeout=15_000)
            await expect(panel).to_contain_text("model answers")
            await expect(panel).to_contain_text("waiting for approval")
            assert "llm_call" not in await panel.locator(".step .name").all_inner_texts()
            # the README's screenshot: a whole card beside the tour (OPSBOT_UPDATE_SCREENSHOT=1)
            await page.set_viewport_size({"width": 1440, "height": 1320})
            await card.evaluate("m => m.scrollIntoView({block: 'start'})")
            card_box, pane = await card.bounding_box(), await thread.bounding_box()
            assert card_box
            assert pane
            assert card_box["y"] >= pane["y"] - 1, "the card's top is in view"
            assert card_box["y"] + card_box["height"] <= pane["y"] + pane["height"] + 1
            shot = SCREENSHOT if os.environ.get("OPSBOT_UPDATE_SCREENSHOT") else tmp_path / "p.png"
            await page.screenshot(path=str(shot))
            await page.set_viewport_size({"width": 1440, "height": 900})

            await approve(page, card.locator("button.primary", has_text="Approve"))
            await expect(thread).to_contain_text("Approved by", timeout=15_000)
            await expect(panel).to_contain_text("waited", timeout=15_000)
            wait_bar = await panel.locator(".step.wait .bar").first.bounding_box()
            track = await panel.locator(".step.wait .track").first.bounding_box()
            assert wait_bar
            assert track
            assert wait_bar["width"] <= 0.35 * track["width"], "the wait squashes every bar"
            busiest = max(
                [(await b.bounding_box() or {"width": 0})["width"]
                 for b in await panel.locator(".step:not(.wait) .bar").all()]
            )  # fmt: skip
            assert busiest >= 0.05 * track["width"], "the other steps stay readable"

            command = thread.locator(".msg", has=page.locator("button.primary", has_text="Approve"))
            await expect(command).to_contain_text("python3 -m unittest", timeout=60_000)
            await approve(page, command.locator("button.primary", has_text="Approve"))
            note = thread.locator(".ephemeral", has_text="no self-approval")
            await expect(note).to_be_visible(timeout=15_000)
            await expect(note).to_contain_text("Robin Incident-lead")
            await expect(note).not_to_contain_text("subteam")
            await expect(page.locator("#messages .ephemeral")).to_have_count(0)

            await page.select_option("#user", "U0LEAD")
            await approve(page, command.locator("button.primary", has_text="Approve"))
            await expect(thread).to_contain_text("Fixed.", timeout=60_000)

            await page.locator("#close-thread").click()
            await expect(page.locator("#thread")).to_be_hidden()
            await expect(page.locator("#thread-composer textarea")).to_be_hidden()

            await page.locator("#apps li", has_text="Home").click()
            home = page.locator("#home")
            await expect(home).to_contain_text("Waiting for your approval", timeout=15_000)
            await expect(home).to_contain_text("checkout is returning 500s")
            await expect(page.locator("#composer")).to_be_hidden()
            await page.locator("#channels li", has_text="incidents").click()
            await expect(page.locator("#messages")).to_contain_text("checkout is returning 500s")

            await page.locator("#hide-tour").click()
            await expect(tour).to_be_hidden()
            await page.reload()
            await expect(tour).to_be_hidden()
            await page.locator("#help li").click()
            await expect(tour).to_be_visible()
        finally:
            await browser.close()


OWN = ["the api is slow since 10:00", "why is the queue backing up?"]


async def test_an_incident_of_ones_own_gets_one_sentence_in_the_page(tmp_path: Path) -> None:
    assert CHROMIUM, "the browser test needs Debian's chromium (apt-get install chromium)"
    async with running_dev(tmp_path / "dev") as dev, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await open_page(
            await browser.new_page(viewport={"width": 1440, "height": 900}), dev.url
        )
        try:
            for text in OWN:
                if await page.locator("#thread").is_visible():
                    await page.locator("#close-thread").click()
                await ask(page, f"@opsbot {text}")
                thread = page.locator("#thread-messages")
                await expect(thread).to_contain_text(text)
                await expect(thread).to_contain_text(
                    "Only the bundled incidents are scripted here", timeout=30_000
                )
                await expect(thread).to_contain_text("ANTHROPIC_API_KEY")
                await expect(thread).to_contain_text("Try an incident")
                await expect(thread.locator(".text.streaming")).to_have_count(0, timeout=30_000)
                await page.wait_for_timeout(1_000)
                shown = await thread.inner_text()
                assert "unscripted" not in shown
                assert "(scripted model" not in shown
                assert "succeeded" not in shown, shown
                assert shown.count("Only the bundled incidents are scripted") == 1, shown

            # typed in a closed thread pane, a reply never goes to the channel
            before = await page.locator("#messages .msg").count()
            await page.locator("#close-thread").click()
            await expect(page.locator("#thread")).to_be_hidden()
            await page.locator("#thread-composer textarea").fill("stray", force=True)
            page.once("dialog", lambda dialog: dialog.dismiss())
            await page.locator("#thread-composer").evaluate("f => f.requestSubmit()")
            await page.wait_for_timeout(500)
            assert await page.locator("#messages .msg").count() == before
            assert "stray" not in await page.locator("#messages").inner_text()
        finally:
            await browser.close()


async def test_rejecting_the_delete_in_the_page_gets_an_answer_that_says_so(
    tmp_path: Path,
) -> None:
    assert CHROMIUM, "the browser test needs Debian's chromium (apt-get install chromium)"
    async with running_dev(tmp_path / "dev") as dev, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await open_page(
            await browser.new_page(viewport={"width": 1440, "height": 900}), dev.url
        )
        try:
            await page.locator("#scenarios li", has_text="disk-full").click()
            await page.locator("#composer textarea").press("Enter")
            thread = page.locator("#thread-messages")
            pending = thread.locator(".msg", has=page.locator("button.primary", has_text="Approve"))
            await expect(pending).to_contain_text("ingest/logging.json", timeout=60_000)
            await approve(page, pending.locator("button.primary", has_text="Approve"))
            await expect(pending).to_contain_text("-delete", timeout=60_000)
            await pending.locator("button.danger", has_text="Reject").click()
            await page.locator("#overlay button[data-yes]").click()  # Reject's confirm dialog
            modal = page.locator("#overlay .modal", has=page.locator("textarea"))
            await modal.locator("textarea").fill("keep them until the postmortem")
            await modal.locator("button[type=submit]").click()
            await expect(thread).to_contain_text("Rejected by", timeout=15_000)
            await expect(thread).to_contain_text("the disk is still full", timeout=60_000)
            await expect(thread.locator(".text.streaming")).to_have_count(0, timeout=30_000)
            shown = await thread.inner_text()
            assert "not deleted" in shown
            assert "move ingest/spool/ingest.debug.log.* to other storage" in shown
            assert "rotated debug logs are deleted" not in shown
            assert "config checks pass" not in shown
            spool = tmp_path / "dev" / "workspace" / "ingest" / "spool"
            assert sorted(p.name for p in spool.glob("ingest.debug.log.*")), "nothing deleted"
        finally:
            await browser.close()
