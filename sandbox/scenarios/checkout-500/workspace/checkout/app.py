"""The HTTP handler of POST /checkout (framework-free for the fixture)."""

import logging

from checkout.pricing import order_total

log = logging.getLogger("checkout")


def handle_checkout(payload: dict) -> tuple[int, dict]:
    """Return (status, body) for a checkout request."""
    try:
        total = order_total(payload["items"], payload.get("discount_code"))
    except Exception:
        log.exception("checkout failed")
        return 500, {"error": "internal error"}
    return 200, {"total_cents": total}
