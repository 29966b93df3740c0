"""The local page shows a chart shared into a thread as an image, inline, as Slack does: the
bot's own chart (tools/prometheus/chart.py) uploaded with the real slack_sdk client."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.test_page_rendering import CHANNEL, page_on_workspace, person_posts
from tools.prometheus.chart import chart_png
from tools.prometheus.series import RangeSeries

pytestmark = pytest.mark.e2e
SERIES = [
    RangeSeries({"instance": "api-1"}, [(1_764_540_000.0 + 30 * k, k % 7) for k in range(60)])
]


async def test_a_chart_in_a_thread_is_shown_as_an_image_with_its_title() -> None:
    async with page_on_workspace() as (page, client, slack):
        root = await person_posts(slack, "error rate is up")
        await client.files_upload_v2(channel=CHANNEL, thread_ts=root, filename="errors.png",
                                     content=chart_png(SERIES, "errors"), title="Error rate (5m)",
                                     alt_txt="Line chart of errors")  # fmt: skip

        await page.goto(slack.url)
        await page.locator(f'[data-thread="{root}"]').click()
        image = page.locator("#thread-messages figure.file img")
        await expect(image).to_be_visible()
        await expect(image).to_have_attribute("alt", "Line chart of errors")
        await expect(page.locator("#thread-messages figure.file")).to_contain_text(
            "Error rate (5m)"
        )
        assert await image.evaluate("img => img.complete && img.naturalWidth") == 1000
