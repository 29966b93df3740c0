"""HTTP access to the Prometheus and Alertmanager APIs: one request, one clear outcome.

Every failure becomes a `ToolError` the model can read: the server's own error text (PromQL
errors verbatim), or what went wrong on the way (not reachable, no answer in time, an answer
that is not JSON, an HTTP error) with the URL, credentials left out.
Prometheus API: https://prometheus.io/docs/prometheus/latest/querying/api/
Alertmanager API v2: https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aiohttp

from tools.base import ToolError

DEFAULT_TIMEOUT_S = 30.0


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """`url` without `user:password@` and a trailing slash, and the credentials it held."""
    parts = urlsplit(url)
    if parts.username is None:
        return url.rstrip("/"), None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare.rstrip("/"), (unquote(parts.username), unquote(parts.password or ""))


@dataclass(frozen=True)
class HttpApi:
    """One server's HTTP API: its base URL (no credentials), bearer token or basic auth, and
    the timeout of each request in seconds."""

    product: ClassVar[str] = "server"
    """How error messages name the server ("Prometheus", "Alertmanager")."""
    base_url: str
    token: str | None = None
    basic_auth: tuple[str, str] | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_url(
        cls, url: str, token: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Self:
        """An API at `url` (`http://user:password@host:port/prefix` gives basic auth)."""
        base, basic = split_credentials(url)
        return cls(base, token, basic, timeout_s)

    def where(self, method: str, path: str) -> str:
        """How errors name the request: `Prometheus at http://host:9090 (GET /api/v1/query)`."""
        return f"{self.product} at {self.base_url} ({method} {path})"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.basic_auth is not None:
            pair = ":".join(self.basic_auth).encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    async def request(
        self, method: str, path: str, *, params: list[tuple[str, str]] | None = None,
        form: list[tuple[str, str]] | None = None, body: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        """Send one request; return the HTTP status and the parsed JSON answer.

        Raises `ToolError` when the server cannot be reached, does not answer within
        `timeout_s`, or answers with something that is not JSON. HTTP error statuses with a
        JSON body are returned for the caller to read.
        """
        where = self.where(method, path)
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(
                    method, self.base_url + path, params=params,
                    data=aiohttp.FormData(form) if form is not None else None,
                    json=body, headers=self._headers(), allow_redirects=False,
                ) as response,
            ):  # fmt: skip
                text = await response.text(errors="replace")
                status = response.status
                kind = response.content_type
        except TimeoutError:
            raise ToolError(f"{where}: no answer within {self.timeout_s:g} s") from None
        except aiohttp.ClientConnectorError as error:
            reason = error.os_error.strerror or str(error.os_error)
            raise ToolError(f"{where} is not reachable: {reason}") from None
        except aiohttp.ClientError as error:
            raise ToolError(f"{where}: {type(error).__name__}: {error}") from None
        try:
            return status, json.loads(text)
        except ValueError:
            excerpt = " ".join(text.split())[:300] or "(empty)"
            raise ToolError(
                f"{where} answered HTTP {status} with {kind or 'no content type'}, not JSON: "
                f"{excerpt}"
            ) from None

    def http_error(self, method: str, path: str, status: int, detail: str) -> ToolError:
        """The error for an HTTP error status whose body said `detail`."""
        where = self.where(method, path)
        if status in (401, 403):
            return ToolError(f"{where} refused the credentials (HTTP {status}): {detail}")
        return ToolError(f"{where} answered HTTP {status}: {detail}")


def path_segment(value: str) -> str:
    """`value` quoted as one URL path segment (a label name in /api/v1/label/<name>/values)."""
    return quote(value, safe="")


@dataclass(frozen=True)
class PrometheusApi(HttpApi):
    """The Prometheus HTTP API (`/api/v1/...`): answers are `{"status": "success", "data"}`
    or `{"status": "error", "errorType", "error"}`."""

    product: ClassVar[str] = "Prometheus"

    async def data(
        self, method: str, path: str, params: list[tuple[str, str]]
    ) -> tuple[Any, list[str]]:
        """The `data` of a successful answer and its warnings (and infos); `ToolError` with the
        server's `errorType: error` verbatim otherwise (a bad PromQL query is HTTP 400 or 422)."""
        as_form = method == "POST"
        status, answer = await self.request(
            method, path, params=None if as_form else params, form=params if as_form else None
        )
        if not isinstance(answer, dict) or answer.get("status") not in ("success", "error"):
            detail = json.dumps(answer)[:300]
            if status >= 400:
                raise self.http_error(method, path, status, detail)
            raise ToolError(f"{self.where(method, path)} answered JSON that is not a Prometheus "
                            f"API answer: {detail}")  # fmt: skip
        if answer["status"] == "error":
            kind, text = answer.get("errorType", "error"), answer.get("error", "")
            if status in (400, 422):
                raise ToolError(f"PromQL error ({kind}): {text}")
            raise self.http_error(method, path, status, f"{kind}: {text}")
        notes = [*answer.get("warnings", []), *answer.get("infos", [])]
        return answer.get("data"), [str(note) for note in notes]


@dataclass(frozen=True)
class AlertmanagerApi(HttpApi):
    """Alertmanager's API v2 (`/api/v2/...`)."""

    product: ClassVar[str] = "Alertmanager"

    async def call(
        self, method: str, path: str, params: list[tuple[str, str]] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:  # fmt: skip
        """The JSON answer of a successful call; `ToolError` with Alertmanager's own message
        otherwise (a bad matcher or silence is HTTP 400)."""
        status, answer = await self.request(method, path, params=params, body=body)
        if status < 300:
            return answer
        if isinstance(answer, dict) and "message" in answer:
            detail = str(answer["message"])
        else:
            detail = answer if isinstance(answer, str) else json.dumps(answer)[:300]
        if status in (400, 422):
            raise ToolError(f"Alertmanager rejected the request (HTTP {status}): {detail}")
        raise self.http_error(method, path, status, detail)
