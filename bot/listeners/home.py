"""App Home: the person's pending approvals first, then what runs."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from agents import queries
from bot.blocks import home_view
from bot.deps import BotDeps


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Publish the home tab when it is opened."""

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any]) -> None:
        user = str(event.get("user") or "")
        view = await queries.overview(deps.team)
        mine = []
        if await deps.approvers.may_approve(user):
            mine = [{"tool_name": a.tool_name, "run_id": a.run_id} for a in view.waiting]
        await deps.writer.call(
            "views.publish", user_id=user, view=home_view(mine, view, deps.domain)
        )
