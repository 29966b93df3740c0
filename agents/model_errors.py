"""What went wrong with a model call, by kind, in the API's own words; and what is retried.

Kinds and status codes follow the Messages API's error page
(https://docs.anthropic.com/en/api/errors): 400 invalid_request_error, 401
authentication_error, 403 permission_error, 404 not_found_error, 413 request_too_large,
429 rate_limit_error, 500 api_error, 529 overloaded_error. An error can also arrive as an
`error` event inside a 200 stream; the SDK then raises `APIStatusError` with status 200 and
the event's `error.type`.
"""

from __future__ import annotations

import json
import re

import anthropic
import httpx2

MAX_API_MESSAGE = 240  # characters of the API's (or a proxy's) own message in a line
MAX_LINE = 400  # characters of the whole line
RETRYABLE_STATUS = (408, 409, 429)
RETRYABLE_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})
_PROMPT_TOO_LONG = re.compile(r"prompt is too long: (\d+) tokens > (\d+) maximum")
_SPACE = re.compile(r"\s+")


def one_line(text: str, limit: int) -> str:
    """`text` on one line: every run of whitespace (newlines, tabs, Unicode spaces) one space,
    trimmed, cut to `limit` characters with `…` when longer."""
    folded = _SPACE.sub(" ", text).strip()
    return folded if len(folded) <= limit else folded[: limit - 1].rstrip() + "…"


class IncompleteStream(Exception):
    """The model's stream ended before `message_stop`."""


def _in_stream(error: anthropic.APIStatusError) -> bool:
    """An `error` event of a stream whose HTTP status was 200."""
    return error.status_code < 400


def is_retryable(error: BaseException) -> bool:
    """Overload, rate limits, 5xx, connection trouble and broken streams are retried.

    An `error` event inside a 200 stream is retried when its type is one of those kinds
    (`overloaded_error`, `api_error`, `rate_limit_error`, `timeout_error`) or unknown.
    """
    if isinstance(error, anthropic.APIStatusError):
        if _in_stream(error):
            return error.type is None or error.type in RETRYABLE_TYPES
        return error.status_code in RETRYABLE_STATUS or error.status_code >= 500
    return isinstance(
        error,
        anthropic.APIConnectionError | IncompleteStream | httpx2.TransportError | TimeoutError,
    )


def prompt_too_long(error: BaseException) -> tuple[int, int] | None:
    """(prompt tokens, maximum) of a 400 "prompt is too long: N tokens > M maximum", else None."""
    if not isinstance(error, anthropic.BadRequestError):
        return None
    found = _PROMPT_TOO_LONG.search(error.api_message or str(error))
    return (int(found.group(1)), int(found.group(2))) if found else None


def _api_words(error: anthropic.APIStatusError) -> str:
    """`type: message` as the API wrote them, on one line (shortened)."""
    message = one_line(error.api_message or "", MAX_API_MESSAGE) or "no message"
    return f"{error.type}: {message}" if error.type else message


def _model_of(error: anthropic.APIStatusError) -> str:
    """The model the failed request named (read back from the request body)."""
    try:
        body = json.loads(error.request.content or b"{}")
    except (ValueError, RuntimeError, httpx2.RequestNotRead):
        return "the configured model"
    model = body.get("model") if isinstance(body, dict) else None
    return repr(model) if isinstance(model, str) else "the configured model"


def _describe_status(error: anthropic.APIStatusError) -> str:
    status = error.status_code
    words = _api_words(error)
    if _in_stream(error):
        if error.type == "overloaded_error":
            return f"the model API is overloaded (error event in the stream: {words})"
        if error.type == "api_error":
            return f"the model API had a server error (error event in the stream: {words})"
        return f"the model API sent an error in the stream ({words})"
    if status == 400:
        return f"the model API refused the request (HTTP 400 {words})"
    if status == 401:
        return f"the model API refused the key (HTTP 401 {words}); check ANTHROPIC_API_KEY"
    if status == 403:
        return f"the key may not do this (HTTP 403 permission denied, {words})"
    if status == 404:
        return (f"model {_model_of(error)} was not found (HTTP 404 {words}); "
                "check OPSBOT_MODEL and OPSBOT_ROUTER_MODEL")  # fmt: skip
    if status == 413:
        return f"the request is too large for the model API (HTTP 413 {words})"
    if status == 429:
        return f"the model API rate-limited opsbot (HTTP 429 {words})"
    if status == 529 or error.type == "overloaded_error":
        return f"the model API is overloaded (HTTP {status} {words})"
    if status >= 500:
        return f"the model API had a server error (HTTP {status} {words})"
    return f"the model API answered HTTP {status} ({words})"


def _describe_connection(error: BaseException) -> str:
    """Cannot connect at all, or a connection that broke mid-way."""
    cause = error.__cause__ if isinstance(error, anthropic.APIConnectionError) else error
    where = ""
    request = getattr(error, "request", None)
    if isinstance(request, httpx2.Request):
        where = f" at {request.url.scheme}://{request.url.host}:{request.url.port or ''}"
    if cause is None or isinstance(cause, httpx2.ConnectError | OSError):
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        return f"the model API cannot be reached{where.rstrip(':')}{detail}"
    return f"the connection to the model API broke ({type(cause).__name__}: {cause})"


def describe_error(error: BaseException) -> str:
    """One line (at most `MAX_LINE` characters, whitespace folded) that says what went wrong
    with a model call: its kind and the API's words."""
    return one_line(_describe(error), MAX_LINE)


def _describe(error: BaseException) -> str:
    if isinstance(error, anthropic.APIStatusError):
        return _describe_status(error)
    if isinstance(error, anthropic.APITimeoutError | TimeoutError | httpx2.TimeoutException):
        return "the model API did not answer in time (timeout)"
    if isinstance(error, anthropic.APIConnectionError | httpx2.TransportError):
        return _describe_connection(error)
    if isinstance(error, IncompleteStream):
        return "the model's stream broke off before it finished"
    return f"{type(error).__name__}: {error}"
