"""GitHub App authentication: the installation access token of one repository, as a TokenSource
for GitHubForge (tools/changes/github.py).

In: the API URL, the app id (or client id), the app's RSA private key (PEM text), the repository
"owner/name" and optionally the installation id. Out: `await GitHubAppTokens(...)()` -> a token
"ghs_..." valid for about an hour, cached and fetched again 5 minutes before it expires.

Followed from:
- Generating a JWT (RS256; iat = now - 60 s, exp at most 10 minutes ahead, iss = app or client
  id): https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
- Get a repository installation for the authenticated app (GET /repos/{owner}/{repo}/installation):
  https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app
- Create an installation access token (POST /app/installations/{id}/access_tokens -> 201
  {"token", "expires_at"}): https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tools.changes._http import _one_line, answer_message, call, error_for, json_of
from tools.changes.forge import ForgeError, TokenSource

__all__ = ["GitHubAppTokens", "TokenSource"]

REFRESH_BEFORE = 300.0
"""Seconds before `expires_at` at which a new installation token is fetched."""
JWT_LIFETIME = 540
"""Seconds the JWT is valid after now (GitHub's maximum is 600)."""
_KEY_ERROR = "GitHub: GITHUB_APP_PRIVATE_KEY is not an RSA private key (PEM)"


def _load_key(pem: str) -> RSAPrivateKey:
    """The RSA private key in `pem`; ForgeError (without the key) otherwise."""
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnicodeError):
        raise ForgeError(_KEY_ERROR) from None
    if not isinstance(key, RSAPrivateKey):
        raise ForgeError(_KEY_ERROR)
    return key


class GitHubAppTokens:
    """A TokenSource: the installation access token of the app `app_id` for `repo`.

    Raises ForgeError (one line, never the key, the JWT or a token) from __init__ when the key
    is not an RSA private key, and from __call__ when GitHub refuses the JWT (401), the app is
    not installed on `repo` (404), on rate limits, server errors and lost connections.
    """

    def __init__(
        self,
        api_url: str,
        app_id: str,
        private_key_pem: str,
        repo: str,
        installation_id: str | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self._api = api_url.rstrip("/")
        self._app_id = str(app_id).strip()
        self._key = _load_key(private_key_pem)
        self._repo = repo
        self._installation = str(installation_id).strip() if installation_id else None
        self._client = client
        self._token = ""
        self._expires = 0.0
        """Epoch seconds at which the cached token expires (0: none cached)."""
        self._lock = asyncio.Lock()

    def _jwt(self) -> str:
        """A fresh RS256 JWT: iat now - 60 s, exp now + JWT_LIFETIME s, iss the app id."""
        now = int(time.time())
        claims = {"iat": now - 60, "exp": now + JWT_LIFETIME, "iss": self._app_id}
        return jwt.encode(claims, self._key, algorithm="RS256")

    async def __call__(self) -> str:
        """The cached installation token, or a new one when none is cached or it expires in
        less than REFRESH_BEFORE seconds. Concurrent callers share one request."""
        async with self._lock:
            if self._token and time.time() < self._expires - REFRESH_BEFORE:
                return self._token
            app_jwt = self._jwt()
            if self._installation is None:
                self._installation = await self._lookup(app_jwt)
            self._token, self._expires = await self._create(app_jwt, self._installation)
            return self._token

    async def _request(self, method: str, path: str, app_jwt: str, action: str) -> Any:
        headers = {"Authorization": f"Bearer {app_jwt}", "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28"}  # fmt: skip
        response = await call(self._client, method, self._api + path, headers=headers,
                              forge="GitHub", repo=self._repo, action=action, token=app_jwt,
                              ok=(200, 201, 401, 404))  # fmt: skip
        status = response.status_code
        said = _one_line(f"{status} {answer_message(response)}", app_jwt)
        if status == 401:
            raise ForgeError(
                f"GitHub: the GitHub App {self._app_id} was refused; check "
                f"GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and the clock ({said})"
            )
        if status == 404:
            if self._installation is None:
                raise ForgeError(f"GitHub: the GitHub App is not installed on {self._repo}")
            raise ForgeError(f"GitHub: installation {self._installation} of the GitHub App was "
                             f"not found (is the app installed on {self._repo}?)")  # fmt: skip
        if status not in (200, 201):
            raise ForgeError(error_for(response, "GitHub", self._repo, action, app_jwt))
        return json_of(response, "GitHub", action)

    async def _lookup(self, app_jwt: str) -> str:
        """The installation id of the app on the repository."""
        data = await self._request("GET", f"/repos/{quote(self._repo)}/installation", app_jwt,
                                   "find the GitHub App installation of")  # fmt: skip
        installation = data.get("id") if isinstance(data, dict) else None
        if not isinstance(installation, int):
            raise ForgeError("GitHub: the answer to get a repository installation has no id")
        return str(installation)

    async def _create(self, app_jwt: str, installation: str) -> tuple[str, float]:
        """A new installation token and its expiry (epoch seconds)."""
        path = f"/app/installations/{quote(installation)}/access_tokens"
        data = await self._request("POST", path, app_jwt, "create an installation token for")
        token = data.get("token") if isinstance(data, dict) else None
        expires_at = data.get("expires_at") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or not isinstance(expires_at, str):
            raise ForgeError("GitHub: the installation token answer lacks token or expires_at")
        try:
            expires = datetime.fromisoformat(expires_at).timestamp()
        except ValueError:
            raise ForgeError(f"GitHub: the installation token's expires_at {expires_at[:40]!r} "
                             "is not a time") from None  # fmt: skip
        return token, expires
