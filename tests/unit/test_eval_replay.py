"""The recorded tool layer and the capture command's text, without servers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.types import Risk
from evals.capture import CASES_DIR, capture_command, case_name, default_path
from evals.cases import CaseError, load_case
from evals.recording import Replay
from evals.replay import RecordedTool, not_recorded, recorded_tools
from tools.base import ToolContext, ToolStatus
from tools.registry import default_tools


def recording(*calls: dict[str, Any]) -> Replay:
    return Replay.model_validate({"captured_from": "T0:C0:1.0", "tools": list(calls)})


def call(name: str, arguments: dict[str, Any], data: Any = None, **more: Any) -> dict[str, Any]:
    result = {"status": more.pop("status", "ok"), "data": data, "error": more.pop("error", None)}
    return {"turn": 1, "agent": "log_analyzer", "name": name, "input": arguments,
            "status": result["status"], "result": result, **more}  # fmt: skip


def tool(replay: Replay, name: str) -> RecordedTool:
    return recorded_tools(default_tools(), replay)[name]


def run(recorded: RecordedTool, arguments: dict[str, Any]) -> Any:
    return asyncio.run(recorded.run(arguments, ToolContext(workspace=Path("/nonexistent"))))


SEARCH = {"query": "KEY", "limit": 20}


def test_a_recorded_call_returns_its_recorded_result_redacted_once_more() -> None:
    replay = recording(call("search_logs", SEARCH, {"matches": ["key AKIAIOSFODNN7EXAMPLE"]}))

    result = run(tool(replay, "search_logs"), {"limit": 20, "query": "KEY"})  # any key order

    assert result.status is ToolStatus.OK
    assert "AKIAIOSFODNN7EXAMPLE" not in str(result.data)
    assert str(result.data).startswith("{'matches': ['key [REDACTED")


@pytest.mark.parametrize(
    ("name", "arguments"),
    [("search_logs", {"query": "password", "limit": 20}), ("read_file", {"path": "a.py"})],
)
def test_a_call_not_in_the_recording_is_a_tool_error_that_says_so(
    name: str, arguments: dict[str, Any]
) -> None:
    replay = recording(call("search_logs", SEARCH, {"matches": []}))
    recorded = tool(replay, name)

    result = run(recorded, arguments)

    assert (result.status, result.error) == (ToolStatus.ERROR, not_recorded(name, arguments))
    assert recorded.assess(arguments, ToolContext(workspace=Path("."))).risk is Risk.READ


def test_the_same_call_twice_gets_the_recorded_results_in_order_then_the_last_again() -> None:
    replay = recording(call("search_logs", SEARCH, "first"), call("search_logs", SEARCH, "second"))
    recorded = tool(replay, "search_logs")

    assert [run(recorded, SEARCH).data for _ in range(3)] == ["first", "second", "second"]


def test_approval_and_refusal_are_as_recorded_not_as_this_machine_would_decide() -> None:
    write = {"path": "a.py", "content": "x = 1\n"}
    command = {"command": "ls"}
    replay = recording(
        call("write_file", write, {"written": True}, asked_approval="write"),
        call("shell_execute", command, status="denied", error="ls is not allowed here"),
    )
    ctx = ToolContext(workspace=Path("."))

    assert tool(replay, "write_file").assess(write, ctx).risk is Risk.WRITE
    assert tool(replay, "shell_execute").assess(command, ctx).denied == "ls is not allowed here"


def test_an_mcp_tool_of_the_recording_exists_in_the_replay_without_its_server() -> None:
    name = "mcp__deploys__list_deploys"
    replay = recording(call(name, {"service": "checkout"}, {"deploys": ["d-2044"]}))

    result = run(tool(replay, name), {"service": "checkout"})

    assert result.data == {"deploys": ["d-2044"]}


@pytest.mark.parametrize(
    ("run_id", "command"),
    [("T0SANDBOX:C0INCIDENTS:1796096779.695554",
      "opsbot eval capture T0SANDBOX:C0INCIDENTS:1796096779.695554"),
     ("cli:local session:1", "opsbot eval capture 'cli:local session:1'")],
)  # fmt: skip
def test_the_capture_command_is_one_shell_line(run_id: str, command: str) -> None:
    assert capture_command(run_id) == command


def test_the_default_file_is_named_after_the_run_in_the_bundled_cases() -> None:
    path = default_path("T0SANDBOX:C0INCIDENTS:1796096779.695554")

    assert path == CASES_DIR / "captured-t0sandbox-c0incidents-1796096779.695554.yaml"
    assert case_name("cli:local session:1") == "cli-local-session-1"


@pytest.mark.parametrize(
    "replay", ["{captured_from: x, tool: []}", "{captured_from: x, tools: [{name: a}]}"]
)
def test_a_misspelt_or_incomplete_replay_section_is_a_case_error(
    tmp_path: Path, replay: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"name: c\nturns: [{{say: hi}}]\nreplay: {replay}\n")

    with pytest.raises(CaseError, match="replay"):
        load_case(path)
