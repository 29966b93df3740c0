"""GitHub App routes of the stand-in: the RS256 JWT check, "Get a repository installation for
the authenticated app" and "Create an installation access token for an app".

Followed from https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
(iat, exp at most 10 minutes ahead, iss = app id or client id, RS256) and
https://docs.github.com/rest/apps/apps (the two routes; tokens "ghs_..." for one hour).
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime

import jwt
from aiohttp import web

from sandbox.forge.state import ForgeState

INSTALLATION = re.compile(r"^/repos/([^/]+)/([^/]+)/installation$")
ACCESS_TOKENS = re.compile(r"^/app/installations/([^/]+)/access_tokens$")
UNDECODABLE = "A JSON web token could not be decoded"
TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
    "which the assertion expires"
)
FUTURE_IAT = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
    "was issued"
)


def _refuse(message: str) -> web.Response:
    body = {"message": message, "documentation_url": "https://docs.github.com/rest",
            "status": "401"}  # fmt: skip
    return web.json_response(body, status=401)


def check_jwt(state: ForgeState, token: str | None) -> str | web.Response:
    """The app id `token` (a JWT) authenticates, or GitHub's 401 answer."""
    if not token:
        return _refuse("A JSON web token could not be decoded")
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        if jwt.get_unverified_header(token).get("alg") != "RS256":
            return _refuse(UNDECODABLE)
        app = str(claims.get("iss", ""))
        public_key = state.config.apps.get(app)
        if public_key is None:
            return _refuse(UNDECODABLE)
        jwt.decode(token, public_key, algorithms=["RS256"],
                   options={"verify_exp": False, "verify_iat": False})  # fmt: skip
    except jwt.PyJWTError:
        return _refuse(UNDECODABLE)
    now = time.time()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp <= now:
        return _refuse(EXPIRED)
    if exp > now + 600:
        return _refuse(TOO_FAR)
    if not isinstance(iat, int | float) or iat > now + 60:
        return _refuse(FUTURE_IAT)
    return app


def serve_app(state: ForgeState, method: str, path: str, token: str | None) -> web.Response | None:
    """The answer when `path` is one of the app routes, else None."""
    installation = INSTALLATION.match(path)
    tokens = ACCESS_TOKENS.match(path)
    if not ((installation and method == "GET") or (tokens and method == "POST")):
        return None
    app = check_jwt(state, token)
    if isinstance(app, web.Response):
        return app
    not_found = web.json_response({"message": "Not Found", "status": "404",
                                   "documentation_url": "https://docs.github.com/rest"},
                                  status=404)  # fmt: skip
    if installation is not None:
        repo = f"{installation[1]}/{installation[2]}"
        found = state.config.installations.get(repo)
        if found is None:
            return not_found
        body = {"id": found, "app_id": app, "account": {"login": installation[1]}}
        return web.json_response(body)
    assert tokens is not None
    if tokens[1] not in {str(i) for i in state.config.installations.values()}:
        return not_found
    issued = "ghs_" + secrets.token_urlsafe(27)
    expires = time.time() + state.config.app_token_lifetime
    state.app_tokens[issued] = expires
    expires_at = datetime.fromtimestamp(int(expires), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body2 = {"token": issued, "expires_at": expires_at, "repository_selection": "selected",
             "permissions": {"contents": "write", "pull_requests": "write"}}  # fmt: skip
    return web.json_response(body2, status=201)
