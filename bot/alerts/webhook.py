"""`POST /alerts/alertmanager`: Alertmanager's webhook receiver (notification version 4).

Answers (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config):
401 without the bearer token (Alertmanager sends it with `http_config.authorization`), 413
for a body over `MAX_BODY_BYTES`, 400 for a body that is not a version 4 notification (the
reason in `error`), 503 when the database does not take it (Alertmanager retries 5xx), and
200 once the notification is recorded in the database: an accepted alert is never lost,
whatever happens to this process after the 200.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from opentelemetry.trace import SpanKind
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agents import alert_groups, runtime, service
from agents.alert_payload import AlertNotification, PayloadError, parse_notification
from core import faults
from core.settings import Settings

log = logging.getLogger(__name__)

PATH = "/alerts/alertmanager"
MAX_BODY_BYTES = 8 * 1024 * 1024


def authorized(header: str | None, token: str) -> bool:
    """Whether an `Authorization` header carries `token` as `Bearer <token>` (constant time;
    a header of bytes that are not UTF-8, as aiohttp passes them on, is simply not it)."""
    scheme, _, given = (header or "").partition(" ")
    sent = given.strip().encode("utf-8", "surrogateescape")
    matches = hmac.compare_digest(sent, token.encode("utf-8", "surrogateescape"))
    return scheme.lower() == "bearer" and matches


async def _read_body(request: web.Request) -> bytes:
    """The body, up to `MAX_BODY_BYTES + 1` bytes (one `read` returns only what has arrived:
    a large notification comes in many pieces)."""
    body = bytearray()
    while len(body) <= MAX_BODY_BYTES:
        piece = await request.content.read(MAX_BODY_BYTES + 1 - len(body))
        if not piece:
            break
        body += piece
    return bytes(body)


def _refused(status: int, error: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="opsbot"'} if status == 401 else None
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


async def record(notification: AlertNotification, settings: Settings) -> alert_groups.Accepted:
    """Record `notification` in one transaction (retried once when a concurrent first
    notification of the same group created its row first)."""
    db = runtime.current_engine().db

    def accept(session: Session) -> alert_groups.Accepted:
        return alert_groups.accept(
            session, notification, now=time.time(), flap_limit=settings.alert_flap_limit,
            flap_window_s=settings.alert_flap_window_s,
        )  # fmt: skip

    try:
        return await db.run(accept)
    except IntegrityError:
        return await db.run(accept)


def alertmanager_handler(
    settings: Settings, token: str, wake: Callable[[], None]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler; `wake` tells the alert desk that something was recorded."""

    async def handle(request: web.Request) -> web.Response:
        if not authorized(request.headers.get("Authorization"), token):
            return _refused(401, "missing or wrong bearer token (OPSBOT_ALERTMANAGER_TOKEN)")
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _refused(413, f"the body is over {MAX_BODY_BYTES} bytes")
        body = await _read_body(request)
        if len(body) > MAX_BODY_BYTES:
            return _refused(413, f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            notification = parse_notification(body)
        except PayloadError as error:
            return _refused(400, str(error))
        with service.tracer().start_as_current_span(
            "alertmanager notification", kind=SpanKind.SERVER,
            attributes={"opsbot.alert.receiver": notification.receiver,
                        "opsbot.alert.status": notification.status,
                        "opsbot.alert.count": len(notification.alerts)},
        ) as span:  # fmt: skip
            try:
                accepted = await record(notification, settings)
            except Exception as error:  # any database failure: Alertmanager retries a 503
                log.error("could not record an Alertmanager notification: %s", error)
                return _refused(503, "the notification could not be recorded; retry")
            span.set_attribute("opsbot.alert.action", accepted.action.value)
        faults.point("after_alert_recorded")
        wake()
        return web.json_response({"ok": True, "action": accepted.action.value,
                                  "episode": accepted.episode})  # fmt: skip

    return handle


def add_alert_route(app: web.Application, settings: Settings, wake: Callable[[], None]) -> None:
    """Mount `POST /alerts/alertmanager` when OPSBOT_ALERTMANAGER_TOKEN is set."""
    if settings.alertmanager_token:
        app.router.add_post(PATH, alertmanager_handler(settings, settings.alertmanager_token, wake))
