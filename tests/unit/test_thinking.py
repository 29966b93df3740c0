"""Extended thinking: OPSBOT_THINKING, the `thinking` parameter and its rules, blocks that go
back unchanged, and the local model server's checks (sandbox/model/thinking.py), which refuse
what the Messages API refuses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agents.llm import ModelRequest, _api_arguments, scrubbed
from agents.prompt_cache import with_cache_breakpoints
from agents.specs import default_agents
from agents.thinking import thinking_param
from core.errors import ConfigError
from core.redact import Redactor
from core.settings import load_settings
from sandbox.model.thinking import (
    FORCED_TOOL_CHOICE,
    config_problem,
    passed_back_problem,
    thinking_blocks,
    thinking_events,
)
from tools.registry import default_tools

SECRETISH = "the log shows password=hunter2secret and key AKIAIOSFODNN7EXAMPLE"
"""Thinking text the redactor would change: a block it touched would lose its signature."""


def _settings(**values: Any) -> Any:
    return load_settings(_env_file=None, workspace=Path.cwd(), **values)


def _cycle(blocks: list[dict[str, Any]], thinking: bool = True) -> dict[str, Any]:
    """A request body of one tool-use cycle whose assistant message holds `blocks`."""
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-6", "max_tokens": 4096,
        "messages": [
            {"role": "user", "content": "what broke in checkout?"},
            {"role": "assistant", "content": blocks},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                          "content": "ERROR discount"}]},
        ],
    }  # fmt: skip
    if thinking:
        body["thinking"] = {"type": "adaptive"}
    return body


TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "search_logs", "input": {"q": "ERROR"}}


@pytest.mark.parametrize("value", ["on", "enabled", "high", "budget:2048"])
def test_a_thinking_mode_other_than_off_or_adaptive_fails_in_one_line(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _settings(thinking=value)
    said = str(raised.value)
    assert "\n" not in said
    assert f"OPSBOT_THINKING: {value!r} is not a thinking mode: name off or adaptive" in said


@pytest.mark.parametrize(("value", "mode"), [(" Adaptive ", "adaptive"), ("OFF", "off"),
                                             ("", "off")])  # fmt: skip
def test_thinking_modes_are_read_without_case_or_spaces(value: str, mode: str) -> None:
    assert _settings(thinking=value).thinking == mode


def test_thinking_is_off_unless_asked() -> None:
    assert _settings().thinking == "off"
    assert thinking_param(_settings()) is None


@pytest.mark.parametrize("features", ["none", "prompt-caching,token-counting", "prompt-caching"])
def test_an_endpoint_without_thinking_gets_none_whatever_opsbot_thinking_says(
    features: str,
) -> None:
    settings = _settings(thinking="adaptive", model_features=features)
    assert thinking_param(settings) is None
    assert all(spec.thinking is None for spec in default_agents(default_tools(), settings).values())


@pytest.mark.parametrize("features", [None, "thinking", "thinking,token-counting"])
def test_adaptive_thinking_is_sent_for_every_agent(features: str | None) -> None:
    extra = {"model_features": features} if features else {}
    settings = _settings(thinking="adaptive", **extra)
    specs = default_agents(default_tools(), settings).values()
    assert [spec.thinking for spec in specs] == [{"type": "adaptive"}] * 2
    spec = next(iter(specs))
    request = ModelRequest(model=spec.model, system="s", messages=[], thinking=spec.thinking)
    assert _api_arguments(request)["thinking"] == {"type": "adaptive"}
    assert "thinking" not in _api_arguments(request.model_copy(update={"thinking": None}))


@pytest.mark.parametrize("tool_choice", [{"type": "tool", "name": "route_to"}, {"type": "any"}])
def test_a_request_that_forces_a_tool_may_not_think(tool_choice: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="tool_choice forces tool use"):
        ModelRequest(model="m", system="s", messages=[], tool_choice=tool_choice,
                     thinking={"type": "adaptive"})  # fmt: skip
    assert config_problem({"max_tokens": 9, "tool_choice": tool_choice,
                           "thinking": {"type": "adaptive"}}) == FORCED_TOOL_CHOICE  # fmt: skip


@pytest.mark.parametrize("tool_choice", [None, {"type": "auto"}])
def test_a_request_that_lets_the_model_choose_may_think(tool_choice: dict[str, Any] | None) -> None:
    ModelRequest(model="m", system="s", messages=[], tool_choice=tool_choice,
                 thinking={"type": "adaptive"})  # fmt: skip
    body = {"max_tokens": 9, "tool_choice": tool_choice, "thinking": {"type": "adaptive"}}
    assert config_problem(body) is None


@pytest.mark.parametrize(("body", "words"), [
    ({"max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 2048}},
     "`max_tokens` must be greater than `thinking.budget_tokens`."),
    ({"max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 512}},
     "budget_tokens: Input should be >= 1024"),
    ({"max_tokens": 4096, "thinking": {"type": "adaptive"}, "temperature": 0.2},
     "`temperature` may only be set to 1"),
    ({"max_tokens": 4096, "thinking": {"type": "always"}}, "thinking.type"),
])  # fmt: skip
def test_the_server_refuses_thinking_configurations_the_api_refuses(
    body: dict[str, Any], words: str
) -> None:
    assert words in str(config_problem(body))


def test_blocks_passed_back_as_they_came_are_accepted() -> None:
    blocks = [*thinking_blocks(SECRETISH, redacted=True), TOOL_USE]
    assert passed_back_problem(_cycle(blocks)) is None
    short = [*thinking_blocks("short", redacted=False), TOOL_USE]
    assert passed_back_problem(_cycle(short)) is None


def _changed(path: tuple[int, str], value: Any) -> list[dict[str, Any]]:
    blocks = copy.deepcopy([*thinking_blocks(SECRETISH, redacted=True), TOOL_USE])
    index, key = path
    blocks[index][key] = value(blocks[index][key])
    return blocks


TAMPERED = {
    "thinking text redacted": ((0, "thinking"), lambda t: Redactor().redact(t)),
    "thinking text trimmed": ((0, "thinking"), lambda t: t.strip() + " "),
    "signature changed": ((0, "signature"), lambda s: s[:-4] + "AAA="),
    "signature emptied": ((0, "signature"), lambda s: ""),
    "redacted data changed": ((1, "data"), lambda d: d[:-6] + "QUFBQQ"),
    "redacted data not base64": ((1, "data"), lambda d: d + "!"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_changed_thinking_block_is_refused_as_the_api_refuses_it(case: str) -> None:
    path, change = TAMPERED[case]
    blocks = _changed(path, change)
    kind = blocks[path[0]]["type"]
    said = passed_back_problem(_cycle(blocks))
    assert said == f"messages.1.content.{path[0]}: Invalid `signature` in `{kind}` block"
    # checked whether or not the request thinks now (the API checks every block sent back)
    assert passed_back_problem(_cycle(blocks, thinking=False)) == said


@pytest.mark.parametrize("blocks", [
    [TOOL_USE],
    [{"type": "text", "text": "Searching."}, TOOL_USE],
    [TOOL_USE, *thinking_blocks("moved after the tool call")],
])  # fmt: skip
def test_a_final_assistant_message_without_its_thinking_first_is_refused(
    blocks: list[dict[str, Any]],
) -> None:
    said = str(passed_back_problem(_cycle(blocks)))
    kind = blocks[0]["type"]
    assert said.startswith(f"messages.1.content.0.type: Expected `thinking` or "
                           f"`redacted_thinking`, but found `{kind}`.")  # fmt: skip
    assert passed_back_problem(_cycle(blocks, thinking=False)) is None


def test_a_thinking_block_streams_as_thinking_deltas_then_its_signature() -> None:
    [block] = thinking_blocks("weighs the evidence", redacted=False)
    events = thinking_events(2, block)
    assert events[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    deltas = [e["delta"] for e in events[1:]]
    assert "".join(d["thinking"] for d in deltas[:-1]) == "weighs the evidence"
    assert {d["type"] for d in deltas[:-1]} == {"thinking_delta"}
    assert deltas[-1] == {"type": "signature_delta", "signature": block["signature"]}
    assert {e["index"] for e in events} == {2}


@pytest.mark.parametrize("patterns", [{}, {"evidence": r"evidence|AKIA\w+|hunter2\w*"}])
def test_scrubbing_and_cache_breakpoints_leave_thinking_blocks_as_they_came(
    patterns: dict[str, str],
) -> None:
    blocks = [*thinking_blocks(SECRETISH + " which evidence?", redacted=True), TOOL_USE]
    body = _cycle(copy.deepcopy(blocks))
    request = ModelRequest(model="claude-sonnet-4-6", system="You are opsbot's coding agent",
                           messages=body["messages"], thinking={"type": "adaptive"})  # fmt: skip
    redactor = Redactor(extra_patterns=tuple(patterns.items()))
    sent = with_cache_breakpoints(_api_arguments(scrubbed(request, redactor)))
    assert sent["messages"][1]["content"][:2] == blocks[:2]
    assert passed_back_problem({**sent, "max_tokens": 4096}) is None
