"""edit_file and write_file never change a byte nobody edited, and never ask about nothing.

Inputs of the kinds of issue 16, section 1 (review): a call that changes nothing, a file
whose lines end in CRLF (the model sees lines without their `\\r`), and a file that is not
UTF-8 (read leniently, so writing it back would replace bytes with U+FFFD).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.base import Tool, ToolContext, ToolError, ToolStatus
from tools.confine import Confinement
from tools.registry import default_tools

TOOLS = default_tools()
CRLF = b"@echo off\r\nset PORT=8080\r\nset HOST=0.0.0.0\r\n"
LATIN1 = b"# caf\xe9 settings\nversion=1\n"


def _tool(name: str) -> Tool[object]:
    tool = TOOLS.get(name)
    assert tool is not None
    return tool


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "deploy.bat").write_bytes(CRLF)
    (workspace / "legacy.cfg").write_bytes(LATIN1)
    (workspace / "plain.txt").write_bytes(b"a = 1\nb = 2\n")
    (workspace / ".env").write_bytes(b"TOKEN=abc\n")
    return ToolContext(workspace=workspace, confinement=Confinement(workspace))


async def _run(ctx: ToolContext, name: str, **args: str) -> dict[str, object]:
    result = await _tool(name).run(dict(args), ctx)
    return json.loads(result.for_model())  # type: ignore[no-any-return]


def _files(ctx: ToolContext) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in ctx.workspace.iterdir() if p.is_file()}


# -- a call that changes nothing is an error before anyone is asked ----------------------------

NO_CHANGE = [
    ("edit_file", {"path": "plain.txt", "old_string": "a = 1", "new_string": "a = 1"}),
    ("edit_file", {"path": "deploy.bat", "old_string": "set PORT=8080\r\n",
                   "new_string": "set PORT=8080\n"}),  # the same line in the file's own ends
    ("write_file", {"path": "plain.txt", "content": "a = 1\nb = 2\n"}),
    ("write_file", {"path": "deploy.bat",  # as read_file shows it: no \r
                    "content": "@echo off\nset PORT=8080\nset HOST=0.0.0.0\n"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args"), NO_CHANGE)
async def test_a_call_that_changes_nothing_is_refused_before_anyone_is_asked(
    ctx: ToolContext, name: str, args: dict[str, str]
) -> None:
    before = _files(ctx)
    with pytest.raises(ToolError, match=r"changes nothing|already holds exactly this content"):
        _tool(name).assess(args, ctx)

    result = await _run(ctx, name, **args)

    assert result["status"] == ToolStatus.ERROR.value
    assert _files(ctx) == before


async def test_a_write_of_the_same_content_to_a_credentials_file_tells_nothing(
    ctx: ToolContext,
) -> None:
    """No "already holds" answer for a .env file: that would tell its content."""
    assessment = _tool("write_file").assess({"path": ".env", "content": "TOKEN=abc\n"}, ctx)

    assert assessment.risk.value == "critical"


async def test_creating_an_empty_file_is_a_change(ctx: ToolContext) -> None:
    _tool("write_file").assess({"path": "new/empty.txt", "content": ""}, ctx)
    result = await _run(ctx, "write_file", path="new/empty.txt", content="")

    assert result["status"] == "ok"
    assert (ctx.workspace / "new/empty.txt").read_bytes() == b""


# -- a file whose lines end in CRLF keeps them ---------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "after"),
    [("set PORT=8080\nset HOST=0.0.0.0", "set PORT=9090\nset HOST=127.0.0.1",
      b"@echo off\r\nset PORT=9090\r\nset HOST=127.0.0.1\r\n"),
     ("set PORT=8080\n", "set PORT=8080\nset DEBUG=1\n",  # a new line gets the file's ends
      b"@echo off\r\nset PORT=8080\r\nset DEBUG=1\r\nset HOST=0.0.0.0\r\n"),
     ("set PORT=8080\r\n", "set PORT=9090\r\n",  # the model wrote the \r itself
      b"@echo off\r\nset PORT=9090\r\nset HOST=0.0.0.0\r\n"),
     ("@echo off\nset PORT=8080\n", "",
      b"set HOST=0.0.0.0\r\n")],
)  # fmt: skip
async def test_an_edit_of_a_crlf_file_matches_its_lines_and_keeps_crlf(
    ctx: ToolContext, old: str, new: str, after: bytes
) -> None:
    preview = _tool("edit_file").describe({"path": "deploy.bat", "old_string": old,
                                           "new_string": new}, ctx)  # fmt: skip
    result = await _run(ctx, "edit_file", path="deploy.bat", old_string=old, new_string=new)

    assert result["status"] == "ok", result
    assert (ctx.workspace / "deploy.bat").read_bytes() == after
    assert preview.count("\n-") + preview.count("\n+") >= 1


async def test_a_write_of_lf_lines_over_a_crlf_file_keeps_crlf(ctx: ToolContext) -> None:
    content = "@echo off\nset PORT=9090\nset HOST=0.0.0.0\n"
    preview = _tool("write_file").describe({"path": "deploy.bat", "content": content}, ctx)
    result = await _run(ctx, "write_file", path="deploy.bat", content=content)

    assert result["status"] == "ok"
    assert (ctx.workspace / "deploy.bat").read_bytes() == CRLF.replace(b"8080", b"9090")
    assert "-set PORT=8080" in preview, preview
    assert "-@echo off" not in preview, preview


async def test_a_file_with_mixed_line_ends_is_edited_exactly_and_says_why_not(
    ctx: ToolContext,
) -> None:
    (ctx.workspace / "mixed.txt").write_bytes(b"one\r\ntwo\nthree\r\n")
    missed = await _run(ctx, "edit_file", path="mixed.txt", old_string="one\ntwo",
                        new_string="1\n2")  # fmt: skip
    exact = await _run(ctx, "edit_file", path="mixed.txt", old_string="two\n",
                       new_string="2\n")  # fmt: skip

    assert missed["status"] == "error"
    assert "CRLF" in str(missed["error"])
    assert exact["status"] == "ok"
    assert (ctx.workspace / "mixed.txt").read_bytes() == b"one\r\n2\nthree\r\n"


# -- a file that is not UTF-8 is read leniently and never written back ------------------------

NOT_UTF8 = {
    "latin-1": LATIN1,
    "cp1252 quotes": b"msg = \x93hello\x94\nlevel=1\n",
    "a cut multibyte sequence at the end": b"level=1\nname=caf\xc3",
    "UTF-16 without NULs in its first bytes": b"\xff\xfelevel=1\n",
}


@pytest.mark.parametrize("case", list(NOT_UTF8))
async def test_a_file_that_is_not_utf8_is_never_written_back(ctx: ToolContext, case: str) -> None:
    raw = NOT_UTF8[case]
    (ctx.workspace / "legacy.cfg").write_bytes(raw)
    edit = {"path": "legacy.cfg", "old_string": "level=1", "new_string": "level=2"}
    write = {"path": "legacy.cfg", "content": "level=2\n"}
    for name, args in (("edit_file", edit), ("write_file", write)):
        with pytest.raises(ToolError, match="not UTF-8 text"):
            _tool(name).assess(args, ctx)
        with pytest.raises(ToolError, match="not UTF-8 text"):
            _tool(name).describe(args, ctx)
        result = await _run(ctx, name, **args)
        assert result["status"] == "error"
        assert "not UTF-8 text" in str(result["error"])
    assert (ctx.workspace / "legacy.cfg").read_bytes() == raw

    read = await _run(ctx, "read_file", path="legacy.cfg")
    assert "not valid UTF-8" in str(read["data"]), read


async def test_utf8_files_round_trip_every_byte_they_do_not_edit(ctx: ToolContext) -> None:
    raw = "\ufeff# café ✓\nlevel=1\n\u2028tail\n".encode()
    (ctx.workspace / "bom.cfg").write_bytes(raw)
    result = await _run(ctx, "edit_file", path="bom.cfg", old_string="level=1",
                        new_string="level=2")  # fmt: skip
    read = await _run(ctx, "read_file", path="bom.cfg")

    assert result["status"] == "ok"
    assert (ctx.workspace / "bom.cfg").read_bytes() == raw.replace(b"level=1", b"level=2")
    assert "note" not in str(read["data"])


# -- lines are what git, grep and editors count: only \n ends one ------------------------------

ODD_BREAKS = {
    "a form feed between sections (Python, Emacs)": "import os\n\x0c\ndef f():\n    return 1\n",
    "U+2028 inside a JS string": 'const s = "a\u2028b";\nconst level = 1;\n',
    "NEL and a group separator in data": "id\x85name\x1dx\nlevel = 1\n",
}


@pytest.mark.parametrize("case", list(ODD_BREAKS))
async def test_read_search_and_diffs_count_lines_as_the_file_does(
    ctx: ToolContext, case: str
) -> None:
    text = ODD_BREAKS[case]
    (ctx.workspace / "odd.txt").write_text(text)
    last = text.splitlines()[-1]
    read = await _run(ctx, "read_file", path="odd.txt")
    search = await _run(ctx, "search_code", pattern="(return|level)")
    copied = str(read["data"]["text"]).split("\n")[-2][7:]  # type: ignore[index]
    args = {"path": "odd.txt", "old_string": f"{copied}\n", "new_string": "edited\n"}
    preview = _tool("edit_file").describe(args, ctx)
    edited = await _run(ctx, "edit_file", **args)

    assert read["data"]["total_lines"] == text.count("\n")  # type: ignore[index]
    assert search["data"]["matches"] == [  # type: ignore[index]
        f"odd.txt:{text.count(chr(10))}: {last.strip()}"
    ]
    assert edited["status"] == "ok", edited
    assert (ctx.workspace / "odd.txt").read_text() == text.replace(f"{copied}\n", "edited\n")
    assert {line[:1] for line in preview.split("\n")[2:] if line} <= {" ", "-", "+", "@"}, preview
