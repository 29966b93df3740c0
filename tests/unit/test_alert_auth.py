"""The webhook's bearer check (`authorized`): only `Bearer <token>` passes; every other
header is refused, never an error (a 500 would tell a prober more than a 401)."""

from __future__ import annotations

import pytest

from bot.alerts.webhook import authorized

TOKEN = "am-token-0123456789"


@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER {TOKEN}", f"Bearer  {TOKEN} "]
)
def test_the_bearer_token_passes_in_any_scheme_case(header: str) -> None:
    assert authorized(header, TOKEN)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", f"Bearer{TOKEN}", f"Basic {TOKEN}", f"Token {TOKEN}",
     f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Bearer {TOKEN} {TOKEN}", f"{TOKEN}",
     f"Bearer\t{TOKEN}", f"Bearer {TOKEN.upper()}", "Bearer " + "x" * 100_000],
)  # fmt: skip
def test_anything_else_is_refused(header: str | None) -> None:
    assert not authorized(header, TOKEN)


@pytest.mark.parametrize(
    "header",
    ["Bearer \udcff\udcfe", f"Bearer {TOKEN}\udc80", "Bearer t\u00f8ken", "\udcff " + TOKEN],
)
def test_a_header_that_is_not_utf8_is_refused_not_an_error(header: str) -> None:
    """aiohttp hands header bytes that are not UTF-8 on as lone surrogates."""
    assert not authorized(header, TOKEN)
