"""edit_file: one exact replacement, a reviewable diff, the write path and risk of write_file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.types import Risk
from tools.base import ToolContext, ToolError, ToolStatus
from tools.confine import Confinement
from tools.registry import default_tools

TOOL = default_tools().get("edit_file")
SOURCE = "def price(code):\n    percent = DISCOUNTS[code]\n    return percent\n"


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "pricing.py").write_text(SOURCE)
    (workspace / "twice.py").write_text("x = 1\nx = 1\nx = 1\n")
    (workspace / "Makefile").write_text("test:\n\tpytest\n")
    (workspace / ".env").write_text("TOKEN=abc\n")
    return ToolContext(workspace=workspace, confinement=Confinement(workspace))


async def _run(ctx: ToolContext, **args: str) -> dict[str, object]:
    assert TOOL is not None
    result = await TOOL.run(dict(args), ctx)
    return json.loads(result.for_model())  # type: ignore[no-any-return]


async def test_one_exact_replacement_is_written_and_its_diff_returned(ctx: ToolContext) -> None:
    args = {"path": "pricing.py", "old_string": "DISCOUNTS[code]",
            "new_string": "DISCOUNTS.get(code, 0)"}  # fmt: skip
    assert TOOL is not None
    preview = TOOL.describe(args, ctx)
    assert "-    percent = DISCOUNTS[code]" in preview
    assert "+    percent = DISCOUNTS.get(code, 0)" in preview
    assert (ctx.workspace / "pricing.py").read_text() == SOURCE, "a preview writes nothing"

    result = await _run(ctx, **args)

    assert result["status"] == "ok"
    assert (ctx.workspace / "pricing.py").read_text() == SOURCE.replace(
        "DISCOUNTS[code]", "DISCOUNTS.get(code, 0)"
    )
    assert "+    percent = DISCOUNTS.get(code, 0)" in str(result["data"])


@pytest.mark.parametrize(
    ("path", "old", "words"),
    [("pricing.py", "DISCOUNTS[missing]", "old_string does not occur in pricing.py"),
     ("twice.py", "x = 1\n", "old_string occurs 3 times in twice.py"),
     ("pricing.py", "percent", "old_string occurs 2 times in pricing.py"),
     ("nowhere.py", "x", "nowhere.py does not exist or is empty; create it with write_file")],
)  # fmt: skip
async def test_old_string_must_occur_exactly_once(
    ctx: ToolContext, path: str, old: str, words: str
) -> None:
    before = {p.name: p.read_bytes() for p in ctx.workspace.iterdir() if p.is_file()}
    assert TOOL is not None
    with pytest.raises(ToolError, match=r"exactly once|does not exist") as raised:
        TOOL.assess({"path": path, "old_string": old, "new_string": "y"}, ctx)
    assert words in str(raised.value)

    result = await _run(ctx, path=path, old_string=old, new_string="y")

    assert result["status"] == ToolStatus.ERROR.value
    assert words in str(result["error"])
    assert {p.name: p.read_bytes() for p in ctx.workspace.iterdir() if p.is_file()} == before


def test_risk_follows_write_file(ctx: ToolContext) -> None:
    assert TOOL is not None
    plain = TOOL.assess({"path": "pricing.py", "old_string": "return", "new_string": "yield"}, ctx)
    make = TOOL.assess({"path": "Makefile", "old_string": "pytest", "new_string": "true"}, ctx)
    assert plain.risk is Risk.WRITE
    assert make.risk is Risk.CRITICAL
    assert "make runs its recipes" in make.reason


@pytest.mark.parametrize("path", [".env", "../outside.py", "/etc/hosts"])
async def test_credentials_and_paths_outside_are_never_edited(ctx: ToolContext, path: str) -> None:
    result = await _run(ctx, path=path, old_string="TOKEN=abc", new_string="TOKEN=x")

    assert result["status"] == "error"
    assert (ctx.workspace / ".env").read_text() == "TOKEN=abc\n"


async def test_an_empty_old_string_is_refused(ctx: ToolContext) -> None:
    result = await _run(ctx, path="pricing.py", old_string="", new_string="x")

    assert result["status"] == "error"
    assert "old_string" in str(result["error"])
