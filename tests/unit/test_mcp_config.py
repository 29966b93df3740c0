"""The MCP server file: the common `mcpServers` shape, opsbot's keys, `${VAR}`, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from tools.mcp.config import McpConfigError, McpServerConfig, load_mcp_config

AGENTS = ("log_analyzer", "coding")
ENV = {"KUBECONFIG": "/etc/kube/config", "GITHUB_TOKEN": "ghp-secret-0123456789", "HOST": "mcp.x"}
EXAMPLE = {
    "mcpServers": {
        "kubernetes": {
            "command": "npx",
            "args": ["-y", "kubernetes-mcp-server@latest", "--read-only"],
            "env": {"KUBECONFIG": "${KUBECONFIG}"},
            "agents": ["log_analyzer", "coding"],
            "allow": ["pods_*", "resources_get"],
            "deny": ["*_delete"],
            "timeout_s": 20,
        },
        "github": {
            "url": "https://api.githubcopilot.com/mcp/",
            "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"},
            "approve": ["create_*"],
            "trust_annotations": True,
        },
    }
}


def write(tmp_path: Path, data: Any, suffix: str = ".json") -> Path:
    """`data` as a file: JSON for .json, YAML for .yaml/.yml, raw text when it is a str."""
    path = tmp_path / f"mcp{suffix}"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def one(
    tmp_path: Path, server: dict[str, Any], env: dict[str, str] | None = None, suffix: str = ".json"
) -> Any:
    """The single server `s` after loading, or the error line."""
    path = write(tmp_path, {"mcpServers": {"s": server}}, suffix)
    try:
        return load_mcp_config(path, ENV if env is None else env, AGENTS)[0]
    except McpConfigError as error:
        return str(error)


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml", ".conf"])
def test_the_common_shape_loads_in_file_order_with_variables_expanded(
    tmp_path: Path, suffix: str
) -> None:
    kubernetes, github = load_mcp_config(write(tmp_path, EXAMPLE, suffix), ENV, AGENTS)
    assert kubernetes == McpServerConfig(
        name="kubernetes",
        command="npx",
        args=("-y", "kubernetes-mcp-server@latest", "--read-only"),
        env={"KUBECONFIG": "/etc/kube/config"},
        agents=("log_analyzer", "coding"),
        allow=("pods_*", "resources_get"),
        deny=("*_delete",),
        timeout_s=20.0,
    )
    assert kubernetes.transport == "stdio"
    assert kubernetes.target() == "npx -y kubernetes-mcp-server@latest --read-only"
    assert github.transport == "http"
    assert github.headers == {"Authorization": "Bearer ghp-secret-0123456789"}
    assert (github.agents, github.approve, github.timeout_s) == (None, ("create_*",), 30.0)
    assert github.trust_annotations is True
    assert github.target() == "https://api.githubcopilot.com/mcp/"


def test_yaml_written_by_hand_loads(tmp_path: Path) -> None:
    text = """
# opsbot MCP servers
mcpServers:
  prometheus:
    type: stdio
    command: uvx
    args: [prometheus-mcp, --url, "http://${HOST}:9090"]
    deny: ["*_admin"]
  docs:
    type: streamable-http
    url: https://${HOST}/mcp
    description: the team's docs
otherTool: {ignored: true}
"""
    prometheus, docs = load_mcp_config(write(tmp_path, text, ".yaml"), ENV)
    assert prometheus.args == ("prometheus-mcp", "--url", "http://mcp.x:9090")
    assert docs.url == "https://mcp.x/mcp"


def test_disabled_servers_are_left_out_without_checking_them(tmp_path: Path) -> None:
    data = {
        "mcpServers": {
            "a": {"command": "a"},
            "off": {"command": "${UNSET_VARIABLE}", "disabled": True, "alow": ["x"]},
            "b": {"url": "http://b.example/mcp", "disabled": False},
        }
    }
    assert [s.name for s in load_mcp_config(write(tmp_path, data), ENV)] == ["a", "b"]
    all_off = {"mcpServers": {"off": {"command": "x", "disabled": True}}}
    assert load_mcp_config(write(tmp_path, all_off), ENV) == ()


@pytest.mark.parametrize("disabled", ["true", 1, None])
def test_disabled_must_be_a_boolean(tmp_path: Path, disabled: Any) -> None:
    assert one(tmp_path, {"command": "x", "disabled": disabled}) == (
        "server s: disabled: must be true or false"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a${A}b", "a1b"),
        ("${A}${B}", "12"),
        ("${UNSET:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${A:-fallback}", "1"),
        ("${UNSET:-}", ""),
        ("${EMPTY}", ""),
        ("$A $$ $ end$", "$A $$ $ end$"),
        ("${NESTED}", "${A}"),
    ],
)
def test_variables_expand_once_and_a_lone_dollar_stays(
    tmp_path: Path, text: str, expected: str
) -> None:
    env = {"A": "1", "B": "2", "EMPTY": "", "NESTED": "${A}"}
    assert one(tmp_path, {"command": "run", "args": [text]}, env).args == (expected,)


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ({"command": "x", "args": ["--k", "${K}"]}, "server s: args.1: variable K is not set"),
        ({"command": "x", "env": {"T": "a${K}"}}, "server s: env.T: variable K is not set"),
        ({"command": "${K}"}, "server s: command: variable K is not set"),
        ({"command": "x", "cwd": "${K}/w"}, "server s: cwd: variable K is not set"),
        ({"url": "https://${K}/mcp"}, "server s: url: variable K is not set"),
        (
            {"url": "https://h/mcp", "headers": {"Authorization": "Bearer ${K}"}},
            "server s: headers.Authorization: variable K is not set",
        ),
    ],
)
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_an_unset_variable_names_server_field_and_variable(
    tmp_path: Path, server: dict[str, Any], expected: str, suffix: str
) -> None:
    assert one(tmp_path, server, suffix=suffix) == expected


@pytest.mark.parametrize(
    ("text", "at"),
    [("${}", 1), ("${1X}", 1), ("${X", 1), ("${X-y}", 1), ("${X:y}", 1), ("$A $$ $ ${", 9)],
)
def test_a_malformed_reference_is_an_error_not_a_literal(
    tmp_path: Path, text: str, at: int
) -> None:
    assert one(tmp_path, {"command": "x", "env": {"V": text}}) == (
        f"server s: env.V: malformed ${{...}} at character {at}"
        " (write ${NAME} or ${NAME:-default})"
    )


def test_globs_names_and_agents_are_not_expanded(tmp_path: Path) -> None:
    server = one(tmp_path, {"command": "x", "allow": ["${A}*"]}, {"A": "get"})
    assert server.allow == ("${A}*",)


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ({"command": "x", "url": "http://h"}, "server s: command, url: both are set; give"),
        ({}, "server s: command, url: neither is set; give"),
        ({"args": ["a"], "env": {"A": "1"}}, "server s: command, url: neither is set; give"),
        ({"command": None, "url": None}, "server s: command, url: neither is set; give"),
    ],
)
def test_exactly_one_of_command_and_url(
    tmp_path: Path, server: dict[str, Any], expected: str
) -> None:
    assert one(tmp_path, server).startswith(expected)


def test_an_explicit_null_is_the_same_as_leaving_it_out(tmp_path: Path) -> None:
    assert one(tmp_path, {"command": "x", "url": None}).transport == "stdio"
    assert one(tmp_path, {"command": None, "url": "http://h/"}).transport == "http"


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ({"url": "http://h/mcp", "env": {"A": "1"}}, "server s: env: only for stdio"),
        ({"url": "http://h/mcp", "cwd": "/tmp"}, "server s: cwd: only for stdio"),
        ({"command": "x", "headers": {"A": "1"}}, "server s: headers: only for HTTP"),
    ],
)
def test_transport_specific_keys_stay_with_their_transport(
    tmp_path: Path, server: dict[str, Any], expected: str
) -> None:
    assert one(tmp_path, server).startswith(expected)


@pytest.mark.parametrize(
    "url", ["ftp://h/mcp", "file:///tmp/mcp", "h.example/mcp", "https:///mcp", "http://h:99999/"]
)
def test_url_must_be_http_or_https_with_a_host(tmp_path: Path, url: str) -> None:
    assert one(tmp_path, {"url": url}) == (
        "server s: url: must be an http:// or https:// URL with a host"
    )


@pytest.mark.parametrize(
    ("kind", "server", "expected"),
    [
        ("stdio", {"command": "x"}, "stdio"),
        ("http", {"url": "http://h/mcp"}, "http"),
        ("streamable-http", {"url": "http://h/mcp"}, "http"),
        ("stdio", {"url": "http://h/mcp"}, "server s: type: 'stdio' needs command"),
        ("http", {"command": "x"}, "server s: type: 'http' needs url"),
        ("streamable-http", {"command": "x"}, "server s: type: 'streamable-http' needs url"),
        ("websocket", {"command": "x"}, "server s: type: must be one of stdio, http, streamable"),
        (3, {"command": "x"}, "server s: type: must be one of stdio, http, streamable"),
        ("HTTP", {"url": "http://h/mcp"}, "server s: type: must be one of stdio, http, streamable"),
        (["http"], {"url": "http://h/mcp"}, "server s: type: must be one of stdio, http, stream"),
    ],
)
def test_type_is_accepted_when_it_agrees(
    tmp_path: Path, kind: Any, server: dict[str, Any], expected: str
) -> None:
    result = one(tmp_path, {"type": kind, **server})
    if expected in ("stdio", "http"):
        assert result.transport == expected
    else:
        assert result.startswith(expected)


@pytest.mark.parametrize("server", [{"url": "http://h/sse"}, {"command": "x"}, {}])
def test_sse_is_refused_clearly(tmp_path: Path, server: dict[str, Any]) -> None:
    assert one(tmp_path, {"type": "sse", **server}) == (
        "server s: type: 'sse' is not supported, only stdio and Streamable HTTP "
        "(type 'http' with the server's Streamable HTTP url)"
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("alow", "server s: alow: unknown key (did you mean allow?)"),
        ("deny_list", "server s: deny_list: unknown key (did you mean deny?)"),
        ("timeout", "server s: timeout: unknown key (did you mean timeout_s?)"),
        ("name", "server s: name: unknown key"),
        ("autoApprove", "server s: autoApprove: unknown key"),
    ],
)
def test_unknown_keys_are_errors(tmp_path: Path, key: str, expected: str) -> None:
    assert one(tmp_path, {"command": "x", key: ["pods_*"]}).startswith(expected)


@pytest.mark.parametrize("name", ["has space", "a.b", "x" * 33, "", "ünïcode", "a/b"])
def test_server_names_become_tool_names_so_they_are_restricted(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, {"mcpServers": {name: {"command": "x"}}})
    with pytest.raises(McpConfigError, match=r"name: must be 1 to 32 letters") as caught:
        load_mcp_config(path, ENV)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["a", "k8s-prod", "My_Server_2", "x" * 32])
def test_valid_server_names(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, {"mcpServers": {name: {"command": "x"}}})
    assert load_mcp_config(path, ENV)[0].name == name


@pytest.mark.parametrize(
    ("agents", "expected"),
    [
        (["log_analyzer", "coder"], "server s: agents: unknown 'coder' (known: coding, log_"),
        (["Coding"], "server s: agents: unknown 'Coding' (known: coding, log_analyzer)"),
        (["reviewer"], "server s: agents: unknown 'reviewer'"),
        ([], "server s: agents: is empty (leave it out for every agent)"),
        (["coding", ""], "server s: agents: has an empty entry"),
    ],
)
def test_agents_must_be_known(tmp_path: Path, agents: list[str], expected: str) -> None:
    assert one(tmp_path, {"command": "x", "agents": agents}).startswith(expected)


def test_any_agent_name_passes_when_no_agents_are_known(tmp_path: Path) -> None:
    path = write(tmp_path, {"mcpServers": {"s": {"command": "x", "agents": ["anyone"]}}})
    assert load_mcp_config(path, ENV)[0].agents == ("anyone",)


@pytest.mark.parametrize(
    ("lists", "expected"),
    [
        ({"allow": ["pods_*"], "deny": ["pods_*"]}, "server s: allow, deny: 'pods_*' is in"),
        ({"allow": ["a"], "approve": ["a"]}, "server s: allow, approve: 'a' is in more"),
        ({"approve": ["x", "y"], "deny": ["y"]}, "server s: approve, deny: 'y' is in more"),
        ({"allow": ["z"], "approve": ["z"], "deny": ["z"]}, "server s: allow, approve, deny:"),
    ],
)
def test_a_glob_in_two_lists_is_ambiguous(
    tmp_path: Path, lists: dict[str, list[str]], expected: str
) -> None:
    assert one(tmp_path, {"command": "x", **lists}).startswith(expected)


def test_globs_are_kept_as_written(tmp_path: Path) -> None:
    server = one(tmp_path, {"command": "x", "allow": ["Pods_*", "pods_*"], "deny": ["*"]})
    assert (server.allow, server.deny) == (("Pods_*", "pods_*"), ("*",))


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (0, "greater than 0"),
        (-1, "greater than 0"),
        (3601, "less than or equal to 3600"),
        ("20", "a number of seconds"),
        (True, "a number of seconds"),
        (None, "a number of seconds"),
        (float("nan"), "a finite number"),
        (float("inf"), "a finite number"),
    ],
)
def test_timeout_is_a_positive_number_of_seconds_up_to_an_hour(
    tmp_path: Path, timeout: Any, expected: str
) -> None:
    wrong_type = expected == "a number of seconds"
    assert one(tmp_path, {"command": "x", "timeout_s": timeout}) == (
        "server s: timeout_s: must be a number of seconds, e.g. 30"
        if wrong_type else f"server s: timeout_s: Input should be {expected}"
    )  # fmt: skip


@pytest.mark.parametrize("timeout", [0.5, 3600, 20])
def test_timeouts_in_range(tmp_path: Path, timeout: float) -> None:
    assert one(tmp_path, {"command": "x", "timeout_s": timeout}).timeout_s == timeout


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ({"command": "x", "args": "-y pkg"}, "server s: args: must be a list, e.g. ["),
        ({"command": "x", "args": ["--port", 8080]}, "server s: args.1: must be a string"),
        ({"command": "x", "env": ["A=1"]}, "server s: env: must be a mapping of names to"),
        ({"command": ["npx"]}, "server s: command: must be a string"),
        ({"command": "x", "trust_annotations": "yes"}, "server s: trust_annotations: must be "),
        ({"command": " "}, "server s: command: is empty"),
        ({"command": "x", "env": {"A=B": "1"}}, "server s: env: a name is empty or contains '='"),
        ({"url": "http://h/", "headers": {"Bad Name": "1"}}, "server s: headers: 'Bad Name' is"),
        ({"url": "http://h/", "headers": {"X": "a\nb"}}, "server s: headers.X: the value has a"),
        ({"command": "x", "cwd": ""}, "server s: cwd: is empty"),
        ({"command": "x", "args": ["a\u0000"]}, "server s: command, args, env or cwd: contains a"),
    ],
)
def test_wrong_shapes_are_one_line_naming_the_field(
    tmp_path: Path, server: dict[str, Any], expected: str
) -> None:
    result = one(tmp_path, server)
    assert result.startswith(expected)
    assert "\n" not in result


def test_several_problems_are_joined(tmp_path: Path) -> None:
    result = one(tmp_path, {"command": 1, "args": [1, 2], "timeout_s": "x", "allow": "y"})
    assert result.startswith("server s: command: must be a string; args.0: must be a string")
    assert result.endswith("(and 2 more)")


def test_settings_that_are_not_a_mapping(tmp_path: Path) -> None:
    for settings in (None, ["npx"], "npx"):
        path = write(tmp_path, {"mcpServers": {"s": settings}})
        with pytest.raises(McpConfigError, match=r"^server s: settings: must be a mapping$"):
            load_mcp_config(path, ENV)


@pytest.mark.parametrize(
    ("content", "suffix", "expected"),
    [
        ('{"mcpServers": {', ".json", r": invalid JSON: line 1, column 17: Expecting"),
        ('{"mcpServers": {"a": {"command": "x",}}}', ".json", r"invalid JSON: line 1, column"),
        ("{'mcpServers': {}}", ".json", r": invalid JSON: line 1, column 2: Expecting property"),
        ("mcpServers:\n  a: [\n", ".yaml", r": invalid YAML: line 3, column 1: "),
        ("mcpServers:\n  a:\n    command: x\n   bad: y\n", ".yml", r": invalid YAML: line 4"),
        ("mcpServers: {a: {command: x}}\n\tb: 1\n", ".yaml", r": invalid YAML: line 2"),
        ("mcpServers: {a: {command: \x01}}\n", ".yaml", r"YAML: character 27: special char"),
        ("{mcpServers: [", ".conf", r": neither JSON \(line 1, column 2: .*\) nor YAML \(line"),
        ("[1, 2", "", r": neither JSON \(line 1, column 6: .*\) nor YAML \(line 1, column 6"),
        ('{"mcpServers": {"a": {}, "a": {}}}', ".json", r": invalid JSON: duplicate key 'a'$"),
        ("mcpServers:\n  a: {command: x}\n  a: {url: u}\n", ".yaml", r"line 3, column 3: dup"),
        ("mcpServers:\n  a: {command: x, deny: [x], deny: []}\n", ".yml", r"duplicate key 'deny'"),
    ],
)
def test_a_file_that_does_not_parse_is_one_line_with_where(
    tmp_path: Path, content: str, suffix: str, expected: str
) -> None:
    path = write(tmp_path, content, suffix)
    with pytest.raises(McpConfigError, match="^" + str(path).replace("\\", "\\\\")) as caught:
        load_mcp_config(path, ENV)
    assert caught.match(expected)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty (expected a mapping with mcpServers)"),
        ("# only a comment\n", "is empty (expected a mapping with mcpServers)"),
        ("[1, 2]", "top level is not a mapping (expected a mapping with mcpServers)"),
        ('"mcpServers"', "top level is not a mapping (expected a mapping with mcpServers)"),
        ("42", "top level is not a mapping (expected a mapping with mcpServers)"),
        (
            '{"servers": {"a": {"command": "x"}}}',
            "has no mcpServers (VS Code's file names them servers: rename that key to mcpServers)",
        ),
        ('{"mcpservers": {}}', "has no mcpServers"),
        ("{}", "has no mcpServers"),
        ('{"mcpServers": []}', "mcpServers must be a mapping of server names to settings"),
        ('{"mcpServers": null}', "mcpServers must be a mapping of server names to settings"),
        ('{"mcpServers": "npx"}', "mcpServers must be a mapping of server names to settings"),
        ('{"mcpServers": {}}', "mcpServers is empty"),
        ("mcpServers: {}\n", "mcpServers is empty"),
    ],
)
def test_file_level_problems(tmp_path: Path, content: str, expected: str) -> None:
    path = write(tmp_path, content, ".yaml")
    with pytest.raises(McpConfigError) as caught:
        load_mcp_config(path, ENV)
    assert str(caught.value) == f"{path}: {expected}"


@pytest.mark.parametrize("key", ["1", "true", "null", "2.5"])
def test_server_names_must_be_strings(tmp_path: Path, key: str) -> None:
    path = write(tmp_path, f"mcpServers:\n  {key}: {{command: x}}\n", ".yaml")
    with pytest.raises(McpConfigError, match=r"^server '.*': name: must be a string$"):
        load_mcp_config(path, ENV)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("absent.json", "no such file"),
        ("absent.yaml", "no such file"),
        ("no/such/dir/mcp.conf", "no such file"),
        ("dir.json", "is a directory, not a file"),
        ("dir.yml", "is a directory, not a file"),
        ("dir", "is a directory, not a file"),
        ("latin1.yaml", "is not UTF-8 text"),
        ("latin1.json", "is not UTF-8 text"),
        ("utf16.conf", "is not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_read(tmp_path: Path, name: str, problem: str) -> None:
    for directory in ("dir.json", "dir.yml", "dir"):
        (tmp_path / directory).mkdir()
    (tmp_path / "latin1.yaml").write_bytes(b"mcpServers: {caf\xe9: {command: x}}")
    (tmp_path / "latin1.json").write_bytes(b'{"mcpServers": {"caf\xe9": {"command": "x"}}}')
    (tmp_path / "utf16.conf").write_text('{"mcpServers": {}}', encoding="utf-16")
    with pytest.raises(McpConfigError) as caught:
        load_mcp_config(tmp_path / name, ENV)
    assert str(caught.value) == f"{tmp_path / name}: {problem}"


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".conf"])
def test_a_parse_error_does_not_quote_the_file(tmp_path: Path, suffix: str) -> None:
    text = '{"mcpServers": {"g": {"url": "https://h/", "headers": {"X": "literal-TOKEN-42"}}}'
    with pytest.raises(McpConfigError) as caught:
        load_mcp_config(write(tmp_path, text + ",,]", suffix), ENV)
    assert "literal-TOKEN-42" not in str(caught.value)


def test_servers_come_in_file_order_and_are_frozen(tmp_path: Path) -> None:
    text = "mcpServers:\n  zeta: {command: z}\n  alpha: {command: a}\n  mu: {url: 'http://m/'}\n"
    servers = load_mcp_config(write(tmp_path, text, ".yaml"), ENV)
    assert [server.name for server in servers] == ["zeta", "alpha", "mu"]
    with pytest.raises(ValidationError, match="frozen"):
        servers[0].command = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "target"),
    [
        (["--token", "${TOKEN}"], "run --token '${TOKEN}'"),
        (["--url=https://u:${TOKEN}@h/"], "run '--url=https://u:${TOKEN}@h/'"),
        (["two words", "${HOST}"], "run 'two words' '${HOST}'"),
    ],
)
def test_target_shows_the_command_line_as_written_so_no_secret(
    tmp_path: Path, args: list[str], target: str
) -> None:
    server = one(tmp_path, {"command": "run", "args": args}, {"TOKEN": "tok-secret", **ENV})
    assert server.target() == target
    assert "tok-secret" not in server.target()


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://user:${TOKEN}@h.example/mcp?key=${TOKEN}#frag", "https://h.example/mcp"),
        ("http://[::1]:8080/mcp/?api_key=${TOKEN}", "http://[::1]:8080/mcp/"),
        ("https://${TOKEN}@h.example:8443", "https://h.example:8443"),
    ],
)
def test_target_of_http_drops_userinfo_query_and_fragment(
    tmp_path: Path, url: str, target: str
) -> None:
    server = one(tmp_path, {"url": url}, {"TOKEN": "tok-secret"})
    assert server.target() == target


def test_a_server_built_in_code_shows_its_own_args() -> None:
    server = McpServerConfig(name="s", command="python", args=("-m", "srv x"))
    assert server.target() == "python -m 'srv x'"
    assert server.transport == "stdio"


SECRET = "s3cr3t-VALUE-9f8e7d"
LEAKY = [
    {"url": "ftp://u:${S}@h/mcp"},  # the url is refused
    {"url": "https://h/${S}", "env": {"A": "${S}"}},  # env on http
    {"url": "https://h/mcp", "headers": {"X": "${S}\r\nInjected: 1"}},  # header injection
    {"url": "https://h/mcp", "headers": {"Authorization": "Bearer ${S}"}, "timeout_s": -1},
    {"command": "x", "headers": {"Authorization": "${S}"}},  # headers on stdio
    {"command": "x", "env": {"A": "${S}\u0000"}},  # NUL
    {"command": "${S}", "url": "https://${S}/"},  # both
    {"command": "x", "env": {"TOKEN": "${S}"}, "agents": ["nobody"]},
    {"command": "x", "args": ["${S}", "${UNSET}"]},
    {"command": "x", "env": {"A": "${S}", "B": "${S}"}, "args": ["${S}", 7], "cwd": 3},
    {"url": "https://h/mcp", "headers": {"A": "${S}", "B": "${UNSET}"}},
    {"url": "https://h:${S}/mcp"},  # a bad port made of the secret
    {"type": "stdio", "url": "https://${S}/"},
]


@pytest.mark.parametrize("server", LEAKY)
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_no_error_message_contains_a_secret_from_the_environment(
    tmp_path: Path, server: dict[str, Any], suffix: str
) -> None:
    path = write(tmp_path, {"mcpServers": {"leaky": server}}, suffix)
    with pytest.raises(McpConfigError) as caught:
        load_mcp_config(path, {"S": SECRET, "PATH": "/usr/bin"}, AGENTS)
    assert SECRET not in str(caught.value)
    assert SECRET[:8] not in repr(caught.value)
    assert str(caught.value).startswith("server leaky: ")
