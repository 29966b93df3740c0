"""The tools: confinement, result envelopes, caps, logs, file writes, the shell runner."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from core.redact import Redactor
from core.types import Risk
from tools.base import Tool, ToolContext, ToolStatus
from tools.confine import Confinement
from tools.files.read_write import ReadFileInput
from tools.registry import default_tools

TOOLS = default_tools()


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    workspace = tmp_path / "ws"
    (workspace / "logs").mkdir(parents=True)
    (workspace / "app.py").write_text("def main():\n    return 1\n")
    (workspace / "logs" / "app.log").write_text(
        "2026-11-24T10:00:00Z INFO start\n"
        "2026-11-24T11:00:00Z ERROR old failure\n"
        "2026-11-24T11:50:00Z ERROR db timeout password=hunter22\n"
    )
    (tmp_path / "secret.txt").write_text("outside")
    return ToolContext(workspace=workspace, log_sources=("logs/*.log",), output_cap=2000,
                       shell_timeout_s=5, confinement=Confinement(workspace),
                       scratch_root=tmp_path / "scratch")  # fmt: skip


async def run(name: str, ctx: ToolContext, **args: object) -> dict[str, object]:
    tool = TOOLS.get(name)
    assert tool is not None
    return json.loads((await tool.run(dict(args), ctx)).for_model())  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "logs/../../secret.txt"])
async def test_paths_outside_the_workspace_are_refused(ctx: ToolContext, path: str) -> None:
    result = await run("read_file", ctx, path=path)
    assert result["status"] == "error"
    assert "outside the workspace" in str(result["error"])


async def test_a_symlink_escape_is_refused(ctx: ToolContext) -> None:
    (ctx.workspace / "link").symlink_to(ctx.workspace.parent / "secret.txt")
    result = await run("read_file", ctx, path="link")
    assert "outside the workspace" in str(result["error"])


async def test_search_logs_window_counts_back_from_the_newest_line(ctx: ToolContext) -> None:
    result = await run("search_logs", ctx, query="ERROR", since="15m")
    data = result["data"]
    assert isinstance(data, dict)
    assert [m["text"][:40] for m in data["matches"]] == ["2026-11-24T11:50:00Z ERROR db timeout pa"]
    assert "hunter22" not in json.dumps(result), "tool output is redacted before the model"


async def test_write_file_shows_a_diff_and_writes_atomically(ctx: ToolContext) -> None:
    tool = TOOLS.get("write_file")
    assert tool is not None
    assert tool.risk is Risk.WRITE
    args = {"path": "app.py", "content": "def main():\n    return 2\n"}
    preview = tool.describe(args, ctx)
    assert "-    return 1\n+    return 2" in preview
    result = await tool.run(args, ctx)
    assert result.status is ToolStatus.OK
    assert (ctx.workspace / "app.py").read_text().endswith("return 2\n")
    assert [p.name for p in ctx.workspace.iterdir() if p.name.startswith(".app.py")] == []


async def test_shell_runs_without_a_shell_and_without_the_bots_secrets(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-should-never-leak")
    approved = replace(ctx, approved=True)
    result = await run("shell_execute", approved, command="env")
    assert result["status"] == "ok"
    assert "xoxb-should-never-leak" not in json.dumps(result)
    home = str(json.loads(json.dumps(result))["data"]["output"])
    assert f"HOME={ctx.workspace}" not in home, "HOME is never the workspace (its .gitconfig)"
    confined = await run("shell_execute", ctx, command="cat /proc/self/environ")
    assert confined["status"] == "ok"
    assert "xoxb-should-never-leak" not in json.dumps(confined)
    refused = await run("shell_execute", ctx, command="ls; rm -rf /")
    assert refused["status"] == "error"
    assert "refused by the command policy: recursive delete of /" in str(refused["error"])


async def test_an_allowed_pipeline_runs_confined_without_a_shell(ctx: ToolContext) -> None:
    result = await run("shell_execute", ctx, command="grep ERROR logs/app.log | wc -l")
    data = result["data"]
    assert isinstance(data, dict)
    assert data["output"].strip() == "2"
    assert data["confined"] is True


async def test_an_unapproved_run_of_a_command_that_needs_approval_runs_nothing(
    ctx: ToolContext,
) -> None:
    result = await run("shell_execute", ctx, command="touch created-without-approval")
    assert result["status"] == "error"
    assert "needs approval" in str(result["error"])
    assert not (ctx.workspace / "created-without-approval").exists()
    no_sandbox = await run("shell_execute", replace(ctx, confinement=None), command="ls")
    assert "no kernel sandbox" in str(no_sandbox["error"])


async def test_shell_timeout_kills_the_process_group(ctx: ToolContext) -> None:
    marker = ctx.workspace / "child-alive"
    script = "import subprocess,time; subprocess.Popen(['sleep','3']); time.sleep(30)"
    approved = replace(ctx, approved=True)
    result = await run("shell_execute", approved, command=["python3", "-c", script], timeout_s=0.5)
    data = result["data"]
    assert isinstance(data, dict)
    assert data["timed_out"] is True
    assert data["exit_code"] is None
    assert not marker.exists()


async def test_large_output_is_truncated_with_a_marker(ctx: ToolContext) -> None:
    (ctx.workspace / "big.txt").write_text("x" * 10_000)
    tool = TOOLS.get("read_file")
    assert tool is not None
    result = await tool.run({"path": "big.txt"}, ctx)
    assert result.truncated
    assert "[... truncated:" in str(result.data)


async def test_a_crashing_handler_becomes_an_error_result(ctx: ToolContext) -> None:
    async def broken(args: ReadFileInput, ctx: ToolContext) -> None:
        raise RuntimeError("disk on fire, token xoxb-1234567890-abcdef")

    tool = Tool("broken", "always fails", ReadFileInput, Risk.READ, broken)
    result = await tool.run({"path": "app.py"}, ctx)
    assert result.status is ToolStatus.ERROR
    assert result.error is not None
    assert "RuntimeError: disk on fire" in result.error
    assert "xoxb-1234567890" not in result.error


def test_every_tool_has_a_schema_and_the_contract_names() -> None:
    assert sorted(TOOLS.names()) == sorted([
        "search_logs", "read_log", "read_file", "list_files", "search_code", "git_log",
        "git_diff", "write_file", "edit_file", "shell_execute", "read_output", "open_pull_request",
        "prometheus_query", "prometheus_query_range", "prometheus_series",
        "prometheus_label_values", "prometheus_rules", "alertmanager_alerts",
        "alertmanager_silences", "alertmanager_create_silence",
    ])  # fmt: skip
    risks = {name: TOOLS.get(name).risk for name in TOOLS.names()}  # type: ignore[union-attr]
    assert risks["shell_execute"] is Risk.CRITICAL
    assert risks["write_file"] is Risk.WRITE
    assert risks["edit_file"] is Risk.WRITE
    assert risks["alertmanager_create_silence"] is Risk.WRITE
    assert risks["open_pull_request"] is Risk.WRITE
    writes = ("shell_execute", "write_file", "edit_file", "alertmanager_create_silence",
              "open_pull_request")  # fmt: skip
    assert {r for n, r in risks.items() if n not in writes} == {Risk.READ}


def test_redaction_uses_stable_placeholders() -> None:
    redactor = Redactor()
    text = "AKIAABCDEFGHIJKLMNOP then AKIAABCDEFGHIJKLMNOP and postgres://app:s3cr3t@db/x"
    assert redactor.redact(text) == (
        "[REDACTED:aws_key:1] then [REDACTED:aws_key:1] and "
        "postgres://app:[REDACTED:url_password:1]@db/x"
    )
    assert os.sep == "/"


async def test_read_log_filters_by_regex_and_window(ctx: ToolContext) -> None:
    result = await run("read_log", ctx, path="app.log", query="ERROR", since="2026-11-24T10:30:00Z")
    data = result["data"]
    assert isinstance(data, dict)
    assert [line.split(" ")[0] for line in data["lines"]] == ["2:", "3:"]
    unknown = await run("read_log", ctx, path="../../etc/passwd")
    assert "not one of the configured log files" in str(unknown["error"])


class MemoryOutputs:
    """An in-memory OutputStore (the engine uses the database one)."""

    def __init__(self) -> None:
        self.kept: dict[str, str] = {}

    async def save(self, output_id: str, text: str) -> None:
        self.kept[output_id] = text

    async def load(self, output_id: str) -> str | None:
        return self.kept.get(output_id)


async def test_a_truncated_result_is_kept_whole_and_readable_in_pages(ctx: ToolContext) -> None:
    import dataclasses

    keeping = dataclasses.replace(ctx, outputs=MemoryOutputs())
    (keeping.workspace / "big.txt").write_text("".join(f"line {n}\n" for n in range(2000)))
    read_file, read_output = TOOLS.get("read_file"), TOOLS.get("read_output")
    assert read_file is not None
    assert read_output is not None
    first = await read_file.run({"path": "big.txt"}, keeping, call_id="toolu_big")
    assert first.truncated
    assert "read_output(output_id='toolu_big', offset=2000)" in str(first.data)
    pages, offset = [], 0
    while offset is not None:
        page = await read_output.run({"output_id": "toolu_big", "offset": offset}, keeping)
        assert isinstance(page.data, dict)
        pages.append(page.data["text"])
        offset = page.data["next_offset"]
    whole = "".join(pages)
    assert "line 0" in whole
    assert "line 1999" in whole
    assert len(pages) > 5
    missing = await read_output.run({"output_id": "nope"}, keeping)
    assert missing.error == "no kept output 'nope'"


def test_device_files_and_fifos_are_refused(ctx: ToolContext) -> None:
    import os

    from tools.base import ToolError
    from tools.workspace import resolve_inside

    os.mkfifo(ctx.workspace / "pipe")
    (ctx.workspace / "null").symlink_to("/dev/null")
    with pytest.raises(ToolError, match="not a regular file"):
        resolve_inside(ctx.workspace, "pipe")
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_inside(ctx.workspace, "null")


async def test_endless_output_stops_the_command_at_the_cap(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = await run("shell_execute", ctx, command="seq 1 1000000000000")
    assert time.monotonic() - started < 4, "stopped at the output cap, not at its timeout"
    text = str(result["data"])  # the envelope itself is capped too: a string
    assert '"timed_out": false' in text
    assert '"exit_code": -9' in text


def repository_with_program_config(workspace: Path, canary: Path) -> None:
    """A git repository whose .git/config and workspace .gitconfig name programs to run."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=workspace, check=True)
    subprocess.run([*git, "add", "app.py"], cwd=workspace, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=workspace, check=True)
    (workspace / "app.py").write_text("def main():\n    return 2\n")
    with (workspace / ".git" / "config").open("a") as config:
        config.write(f'[core]\n\tfsmonitor = "touch {canary}-fsmonitor; echo"\n'
                     f'\tpager = "touch {canary}-pager; cat"\n'
                     f'[diff]\n\texternal = "touch {canary}-diff; echo"\n')  # fmt: skip
    (workspace / ".gitconfig").write_text(f'[core]\n\tpager = "touch {canary}-home"\n')


def ran(canary: Path) -> list[str]:
    return sorted(p.name for p in canary.parent.iterdir() if p.name.startswith(canary.name))


# An approved `git diff` is the one exception, documented in docs/safety.md: git offers no
# configuration that switches diff.external off, and the approved text runs unchanged (only an
# approved, critical write to .git/ can set it: a clone does not carry .git/config).
@pytest.mark.parametrize(
    ("command", "approved", "shows"),
    [("git status --short", False, "app.py"), ("git status --short", True, "app.py"),
     ("git diff", False, "return 2"), ("git log -p -n 1", False, "return 1"),
     ("git log -p -n 1", True, "return 1"), ("git show --stat HEAD", True, "app.py")],
)  # fmt: skip
async def test_repository_config_never_runs_a_program(
    ctx: ToolContext, tmp_path: Path, command: str, approved: bool, shows: str
) -> None:
    canary = tmp_path / "ran"
    await asyncio.to_thread(repository_with_program_config, ctx.workspace, canary)
    result = await run("shell_execute", replace(ctx, approved=approved), command=command)
    assert result["status"] == "ok", result
    assert await asyncio.to_thread(ran, canary) == []
    assert shows in json.dumps(result), "git's own output"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed here")
async def test_confined_kubectl_reads_only_the_operators_kubeconfig(
    ctx: ToolContext, tmp_path: Path
) -> None:
    """KUBECONFIG (the operator's) is what confined kubectl reads, though it lies outside the
    workspace; a kubeconfig in the workspace is never picked up (HOME is a scratch dir)."""
    operator = tmp_path / "operator-kubeconfig"
    operator.write_text(KUBECONFIG.format(name="operator-context"))
    (ctx.workspace / ".kube").mkdir()
    (ctx.workspace / ".kube" / "config").write_text(KUBECONFIG.format(name="workspace-context"))
    confined = replace(
        ctx, kubeconfig=str(operator),
        confinement=replace(ctx.confinement, kubeconfig=str(operator)),  # type: ignore[type-var]
    )  # fmt: skip
    result = await run("shell_execute", confined, command="kubectl config current-context")
    assert "operator-context" in json.dumps(result), result
    bare = await run("shell_execute", ctx, command="kubectl config current-context")
    assert "workspace-context" not in json.dumps(bare)


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:6443"}}}}]
users: [{{name: u, user: {{}}}}]
contexts: [{{name: {name}, context: {{cluster: c, user: u}}}}]
current-context: {name}
"""
