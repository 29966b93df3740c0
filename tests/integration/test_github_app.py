"""GitHub App authentication (tools/changes/github_app.py) against the stand-in GitHub
(sandbox/forge/apps.py) over real HTTP on 127.0.0.1 with real RSA keys: a pull request opened
with an installation token, the token cached and refreshed, and one clear line without the key,
the JWT or a token for every failure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sandbox.forge.server import ForgeConfig, RunningForge, start_forge
from tools.changes.forge import ForgeError, make_forge
from tools.changes.github_app import GitHubAppTokens

APP_ID = "4242"
CLIENT_ID = "Iv23liCLIENTid0001"
INSTALLATION_ID = 777


def _rsa_pem(bits: int = 2048) -> tuple[str, str]:
    """(private key PEM, public key PEM) of a new RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()  # fmt: skip
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


PRIVATE, PUBLIC = _rsa_pem()
OTHER_PRIVATE, _ = _rsa_pem()


def _config(lifetime: float = 3600.0) -> ForgeConfig:
    return ForgeConfig(
        tokens={},
        repos={"acme/shop": "main", "acme/bare": "main"},
        apps={APP_ID: PUBLIC, CLIENT_ID: PUBLIC},
        installations={"acme/shop": INSTALLATION_ID},
        app_token_lifetime=lifetime,
    )


@pytest.fixture
async def forge() -> AsyncIterator[RunningForge]:
    running = await start_forge(_config())
    yield running
    await running.stop()


def _token_calls(forge: RunningForge) -> list[str]:
    return [r for r in forge.state.requests if r.endswith("/access_tokens")]


def _lookups(forge: RunningForge) -> list[str]:
    return [r for r in forge.state.requests if r.endswith("/installation")]


async def _failure(call: Awaitable[Any], *secrets: str) -> str:
    """The ForgeError line `call` raises; asserts one line, none of `secrets` nor any JWT or
    installation token in it."""
    with pytest.raises(ForgeError) as caught:
        await call
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith("GitHub: ")
    assert "ghs_" not in line
    assert "eyJ" not in line
    assert "PRIVATE KEY" not in line
    for secret in secrets:
        assert secret not in line
    return line


@pytest.mark.parametrize("app_id", [APP_ID, CLIENT_ID])
async def test_pull_request_opened_with_an_installation_token(
    forge: RunningForge, app_id: str
) -> None:
    tokens = GitHubAppTokens(forge.url, app_id, PRIVATE, "acme/shop")
    client = make_forge("github.example.com", "acme/shop", github_api_url=forge.url,
                        github_token=tokens, gitlab_url=None, gitlab_token=None)  # fmt: skip

    opened = await client.open("opsbot/r1", await client.default_branch(), "Fix", "Because.")
    assert await client.find_open("opsbot/r1") == opened
    await client.comment(opened.number, "One more commit.")

    assert opened.number == 1
    assert len(_lookups(forge)) == 1
    assert len(_token_calls(forge)) == 1
    assert _token_calls(forge)[0] == f"POST /app/installations/{INSTALLATION_ID}/access_tokens"
    issued = await tokens()
    assert issued.startswith("ghs_")
    sent = list(zip(forge.state.requests, forge.state.headers, strict=True))
    app_headers = [h for r, h in sent if "/installation" in r]
    forge_headers = [h for r, h in sent if "/installation" not in r]
    assert len(forge_headers) == 4
    assert all(h["Authorization"] == f"Bearer {issued}" for h in forge_headers)
    claims = jwt.decode(app_headers[0]["Authorization"].removeprefix("Bearer "), PUBLIC,
                        algorithms=["RS256"])  # fmt: skip
    assert claims["iss"] == app_id
    assert claims["exp"] - claims["iat"] <= 600
    assert claims["iat"] <= time.time() - 59


async def test_token_cached_shared_and_installation_looked_up_once(forge: RunningForge) -> None:
    tokens = GitHubAppTokens(forge.url, APP_ID, PRIVATE, "acme/shop")
    got = await asyncio.gather(*(tokens() for _ in range(5)))
    got.append(await tokens())

    assert len(set(got)) == 1
    assert len(_token_calls(forge)) == 1
    assert len(_lookups(forge)) == 1


async def test_given_installation_id_skips_the_lookup(forge: RunningForge) -> None:
    tokens = GitHubAppTokens(forge.url, APP_ID, PRIVATE, "acme/shop", str(INSTALLATION_ID))
    await tokens()
    assert _lookups(forge) == []
    assert len(_token_calls(forge)) == 1


async def test_token_refreshed_near_expiry_and_expired_tokens_refused() -> None:
    # 302 s tokens are within 5 minutes of expiry about 2 s after they are issued.
    running = await start_forge(_config(lifetime=302))
    try:
        tokens = GitHubAppTokens(running.url, APP_ID, PRIVATE, "acme/shop")
        first = await tokens()
        assert await tokens() == first
        await asyncio.sleep(2.2)
        second = await tokens()
        assert await tokens() == second

        assert second != first
        assert len(_token_calls(running)) == 2
        assert len(_lookups(running)) == 1
        running.state.app_tokens[first] = time.time() - 1  # the stand-in's clock passed it
        stale = make_forge("github.com", "acme/shop", github_api_url=running.url,
                           github_token=first, gitlab_url=None, gitlab_token=None)  # fmt: skip
        line = await _failure(stale.default_branch(), first)
        assert "token was refused" in line
    finally:
        await running.stop()


@pytest.mark.parametrize("key", [OTHER_PRIVATE, _rsa_pem(3072)[0]])
async def test_wrong_key_is_one_line(forge: RunningForge, key: str) -> None:
    tokens = GitHubAppTokens(forge.url, APP_ID, key, "acme/shop")
    line = await _failure(tokens(), key)
    assert line.startswith(f"GitHub: the GitHub App {APP_ID} was refused")
    assert "A JSON web token could not be decoded" in line


@pytest.mark.parametrize("app_id", ["9999", "Iv23liUNKNOWN"])
async def test_unknown_app_is_one_line(forge: RunningForge, app_id: str) -> None:
    line = await _failure(GitHubAppTokens(forge.url, app_id, PRIVATE, "acme/shop")(), PRIVATE)
    assert "was refused" in line


@pytest.mark.parametrize("repo", ["acme/bare", "other/thing"])
async def test_not_installed_is_one_line(forge: RunningForge, repo: str) -> None:
    line = await _failure(GitHubAppTokens(forge.url, APP_ID, PRIVATE, repo)(), PRIVATE)
    assert line == f"GitHub: the GitHub App is not installed on {repo}"


async def test_unknown_installation_id_is_one_line(forge: RunningForge) -> None:
    line = await _failure(GitHubAppTokens(forge.url, APP_ID, PRIVATE, "acme/shop", "31337")())
    assert "installation 31337" in line
    assert "acme/shop" in line


def _ec_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()  # fmt: skip


@pytest.mark.parametrize(
    "key",
    ["", "not a key at all", PUBLIC, PRIVATE.replace("\n", "", 3)[:300], _ec_pem(),
     "ghp_s3cretTOKENvalue0123456789"],
)  # fmt: skip
def test_key_that_is_not_an_rsa_private_pem_is_one_line(key: str) -> None:
    with pytest.raises(ForgeError) as caught:
        GitHubAppTokens("http://127.0.0.1:9", APP_ID, key, "acme/shop")
    line = str(caught.value)
    assert line == "GitHub: GITHUB_APP_PRIVATE_KEY is not an RSA private key (PEM)"


@pytest.mark.parametrize("style", ["github-primary", "github-secondary"])
async def test_rate_limit_on_the_token_call_is_one_line(forge: RunningForge, style: str) -> None:
    forge.state.rate_limit(f"POST /app/installations/{INSTALLATION_ID}/access_tokens", style=style)
    line = await _failure(GitHubAppTokens(forge.url, APP_ID, PRIVATE, "acme/shop")(), PRIVATE)
    assert line.startswith("GitHub: rate limit reached")


@pytest.mark.parametrize("status", [500, 503])
async def test_server_error_on_the_lookup_is_one_line(forge: RunningForge, status: int) -> None:
    forge.state.fail_next("GET /repos/acme/shop/installation", status, {"message": "oops"})
    line = await _failure(GitHubAppTokens(forge.url, APP_ID, PRIVATE, "acme/shop")(), PRIVATE)
    assert line.startswith("GitHub: server error")


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": 3600}, "too far in the future"),
        ({"exp": 660}, "too far in the future"),  # a minute past the limit: no race with the clock
        ({"exp": -5}, "'Expiration time' claim ('exp') must be"),
        ({"exp": -120, "iat": -300}, "'Expiration time' claim ('exp') must be"),
        ({"iat": 120}, "'Issued at' claim ('iat')"),
        ({"iat": 3000, "exp": 500}, "'Issued at' claim ('iat')"),
    ],
)
async def test_stand_in_checks_jwt_claims_like_github(
    forge: RunningForge, claims: dict[str, int], message: str
) -> None:
    now = int(time.time())
    payload = {"iat": now - 60, "exp": now + 540, "iss": APP_ID}
    payload.update({name: now + offset for name, offset in claims.items()})
    token = jwt.encode(payload, PRIVATE, algorithm="RS256")
    async with httpx2.AsyncClient() as http:
        answer = await http.get(f"{forge.url}/repos/acme/shop/installation",
                                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 401
    assert message in answer.json()["message"]
