"""App Home: the person's pending approvals first, then what runs."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from agents import queries
from bot.blocks import home_view
from bot.deps import BotDeps


async def _may_approve(deps: BotDeps, user: str, approval: queries.PendingApproval) -> bool:
    """Whether `user` could approve it now: every rule (allow-list of its channel, no
    self-approval, a second approver), as a click on its card would be checked."""
    record = {"risk": approval.risk, "requester": approval.requester,
              "first_approved_by": approval.first_approved_by}  # fmt: skip
    check = await deps.approvers.check(user, approval.card_channel, record, approving=True)
    return check.allowed


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Publish the home tab when it is opened."""

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any]) -> None:
        user = str(event.get("user") or "")
        view = await queries.overview(deps.team)
        mine = [a for a in view.waiting if await _may_approve(deps, user, a)]
        await deps.writer.call(
            "views.publish", user_id=user, view=home_view(mine, view, deps.domain)
        )
