"""One forge HTTP call, and the one-line ForgeError of every way it can fail.

Error answers followed:
- GitHub: https://docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api and
  https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api (403 or 429 with
  x-ratelimit-remaining: 0 and x-ratelimit-reset in epoch seconds, or retry-after in seconds).
- GitLab: https://docs.gitlab.com/api/rest/troubleshooting/ (JSON {"message": ...} where message
  is a string, a list or a field -> list map) and https://docs.gitlab.com/security/rate_limits/
  (429 "Retry later", Retry-After, RateLimit-Reset epoch seconds).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx2

from tools.changes.forge import ForgeError

TIMEOUT = httpx2.Timeout(10.0)
"""Seconds to connect, to read and to write, when the forge makes its own client."""

_MESSAGE_CHARS = 200


def _one_line(text: str, secret: str) -> str:
    """`text` on one line, at most _MESSAGE_CHARS characters, without `secret`."""
    if secret:
        text = text.replace(secret, "[token]")
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(_flatten(item) for item in value)
    if isinstance(value, dict):
        if "message" in value:  # a GitHub errors[] entry
            return _flatten(value["message"])
        if "code" in value:  # {"resource": "PullRequest", "field": "head", "code": "invalid"}
            return f"{value.get('field', '')} {value['code']}".strip()
        return "; ".join(f"{key} {_flatten(item)}" for key, item in value.items())
    return str(value)


def answer_message(response: httpx2.Response) -> str:
    """The forge's own words for an error answer: GitHub's message (+ its errors[]), GitLab's
    message or error, else the body's text, else the reason phrase."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return text if text and not text.startswith("<") else response.reason_phrase  # not HTML
    if not isinstance(data, dict):
        return _flatten(data)
    message = _flatten(data.get("message", data.get("error", "")))
    details = _flatten(data["errors"]) if data.get("errors") else ""
    text = f"{message}: {details}" if message and details else message or details
    return text or response.reason_phrase


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M UTC")


def rate_limit_reset(response: httpx2.Response) -> str | None:
    """ "resets at HH:MM UTC" when `response` says the rate limit is reached, else None."""
    headers = response.headers
    remaining = headers.get("x-ratelimit-remaining", headers.get("ratelimit-remaining"))
    retry_after = headers.get("retry-after")
    limited = response.status_code == 429 or (
        response.status_code == 403
        and (remaining == "0" or retry_after is not None or "rate limit" in response.text.lower())
    )
    if not limited:
        return None
    if retry_after is not None and retry_after.strip().isdigit():
        return f"retry after {int(retry_after)} s (at {_clock(time.time() + int(retry_after))})"
    reset = headers.get("x-ratelimit-reset", headers.get("ratelimit-reset", ""))
    if reset.strip().isdigit():
        return f"resets at {_clock(int(reset))}"
    return "retry in a minute"


def error_for(response: httpx2.Response, forge: str, repo: str, action: str, token: str) -> str:
    """One line for a failed answer; `action` is what was tried, e.g. "open pull requests on"."""
    status = response.status_code
    message = answer_message(response)
    # GitLab's messages start with the status ("404 Project Not Found"): say it once.
    said = _one_line(message if message.startswith(f"{status} ") else f"{status} {message}", token)
    reset = rate_limit_reset(response)
    if reset is not None:
        return f"{forge}: rate limit reached, {reset} ({said})"
    if status == 401:
        return f"{forge}: the token was refused; it may be wrong or expired ({said})"
    if status == 403:
        return f"{forge}: the token may not {action} {repo} ({said})"
    if status == 404:
        return f"{forge}: {repo} was not found, or the token cannot see it ({said})"
    if status in (409, 422):
        return f"{forge}: refused to {action} {repo} ({said})"
    if status >= 500:
        return f"{forge}: server error, try again later ({said})"
    return f"{forge}: unexpected answer to {action} {repo} ({said})"


async def call(
    client: httpx2.AsyncClient | None,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    forge: str,
    repo: str,
    action: str,
    token: str,
    ok: tuple[int, ...] = (200, 201),
    params: dict[str, str] | None = None,
    json: dict[str, Any] | None = None,
) -> httpx2.Response:
    """Send one request; returns the answer when its status is in `ok` or is 409/422 (callers
    read those), else raises ForgeError (also for no connection and timeouts)."""
    host = httpx2.URL(url).host
    try:
        if client is not None:
            response = await client.request(method, url, headers=headers, params=params,
                                            json=json)  # fmt: skip
        else:
            async with httpx2.AsyncClient(timeout=TIMEOUT) as own:
                response = await own.request(method, url, headers=headers, params=params,
                                             json=json)  # fmt: skip
    except httpx2.TimeoutException as exc:
        raise ForgeError(f"{forge}: {host} did not answer in time ({type(exc).__name__})") from None
    except httpx2.ConnectError:
        raise ForgeError(f"{forge}: cannot connect to {host} (connection refused or no route)") \
            from None  # fmt: skip
    except httpx2.HTTPError as exc:
        raise ForgeError(f"{forge}: the request to {host} failed ({type(exc).__name__})") from None
    if response.status_code in ok or response.status_code in (409, 422):
        return response
    status = response.status_code
    wrong = status in (401, 403, 404) and rate_limit_reset(response) is None
    raise ForgeError(error_for(response, forge, repo, action, token), status if wrong else None)


def truncate(body: str, limit: int, forge: str) -> str:
    """`body`, cut with a note so that it fits `limit` characters (the forge's body limit)."""
    if len(body) <= limit:
        return body
    note = f"\n\n… (cut: {len(body):,} characters is over {forge}'s {limit:,} limit)"
    return body[: limit - len(note)] + note


def json_of(response: httpx2.Response, forge: str, what: str) -> Any:
    """The answer's JSON; ForgeError when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        status = f"{response.status_code} {response.reason_phrase}"
        raise ForgeError(f"{forge}: the answer to {what} was not JSON ({status})") from None
