"""The MCP file's messages for files written for other clients and for values of the wrong
type: what to write instead, in words (never pydantic's "Input should be a valid tuple")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.mcp.config import McpConfigError, load_mcp_config


def refused(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(data))
    with pytest.raises(McpConfigError) as raised:
        load_mcp_config(path, {}, ())
    message = str(raised.value)
    assert "\n" not in message
    assert "Input should be" not in message, message
    return message


def server(**fields: Any) -> dict[str, Any]:
    return {"mcpServers": {"a": {"command": "x", **fields}}}


@pytest.mark.parametrize(("fields", "expected"), [
    ({"allow": "get_*"}, 'allow: must be a list, e.g. ["get_*", "list_*"]'),
    ({"deny": "delete_*"}, "deny: must be a list"),
    ({"approve": {"a": 1}}, "approve: must be a list"),
    ({"args": "--read-only"}, "args: must be a list"),
    ({"timeout_s": "20s"}, "timeout_s: must be a number of seconds, e.g. 30"),
    ({"connect_timeout_s": "1m"}, "connect_timeout_s: must be a number of seconds"),
    ({"trust_annotations": "yes"}, "trust_annotations: must be true or false"),
    ({"env": ["A=1"]}, "env: must be a mapping of names to strings"),
    ({"command": ["npx", "-y", "x"]}, "command: must be a string"),
])  # fmt: skip
def test_a_value_of_the_wrong_type_says_what_to_write(
    tmp_path: Path, fields: dict[str, Any], expected: str
) -> None:
    assert f"server a: {expected}" in refused(tmp_path, server(**fields))


@pytest.mark.parametrize(("key", "expected"), [
    ("autoApprove", "Cline's autoApprove lists tools to run at once: opsbot's key is allow"),
    ("alwaysAllow", "opsbot's key is allow"),
    ("serverUrl", "Windsurf's serverUrl: opsbot's key is url"),
    ("httpUrl", "opsbot's key is url"),
])  # fmt: skip
def test_another_clients_key_names_opsbots(tmp_path: Path, key: str, expected: str) -> None:
    assert expected in refused(tmp_path, server(**{key: ["get_status"]}))


@pytest.mark.parametrize("top", [{"servers": {"a": {"command": "x"}}},
                                 {"servers": {}, "inputs": []}])  # fmt: skip
def test_a_vs_code_file_is_told_to_rename_servers(tmp_path: Path, top: dict[str, Any]) -> None:
    assert "rename that key to mcpServers" in refused(tmp_path, top)


def test_a_file_without_servers_of_any_name_gets_no_vs_code_hint(tmp_path: Path) -> None:
    message = refused(tmp_path, {"other": {}})
    assert message.endswith("has no mcpServers"), message


@pytest.mark.parametrize("name", ["a__b", "kube_", "x__"])
def test_a_server_name_that_could_collide_is_refused(tmp_path: Path, name: str) -> None:
    message = refused(tmp_path, {"mcpServers": {name: {"command": "x"}}})
    assert "must not hold '__' or end with '_'" in message
