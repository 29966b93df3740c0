"""Pull-request mode at start and in a thread: which mode each configuration gets (one clear
ConfigError line when pull-request mode cannot work), and a thread's tools confined to its
worktree, with real git, a bare remote and the kernel sandbox where the machine offers it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agents.changes import load_change_setup, start_line, thread_context
from agents.tool_setup import load_redactor
from core.errors import ConfigError
from core.settings import Settings, load_settings
from sandbox.forge.server import start_forge
from sandbox.forge.state import ForgeConfig
from tools.base import ToolContext
from tools.confine import Confinement, probe
from tools.shell.tool import SHELL_TOOL as SHELL_EXECUTE

TOKEN = "ghp_SetupTokenNeverShown0123456789abcdef"
PLACE = ("T0SANDBOX", "C0INCIDENTS", "1796140000.000100")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com",
                           *args], cwd=cwd, check=True, capture_output=True, text=True)  # fmt: skip
    return done.stdout


def clone_of_a_bare_remote(root: Path, default: str = "main") -> Path:
    bare = root / "remote" / "acme" / "shop.git"
    bare.mkdir(parents=True)
    git(bare, "init", "--quiet", "--bare", "-b", default)
    seed = root / "seed"
    git(root, "clone", "--quiet", str(bare), str(seed))
    (seed / "app.py").write_text("print('v1')\n")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "v1")
    git(seed, "push", "--quiet", "origin", default)
    checkout = root / "checkout"
    git(root, "clone", "--quiet", str(bare), str(checkout))
    return checkout


def settings(workspace: Path, **values: Any) -> Settings:
    """Settings of these values alone: none of the forge variables of the environment."""
    empty = {"github_token": None, "gitlab_token": None, "gitlab_url": None,
             "github_api_url": None}  # fmt: skip
    return load_settings(_env_file=None, workspace=workspace, **{**empty, **values})


@pytest.mark.parametrize(
    "values",
    [{"change_mode": "workspace", "github_token": TOKEN}, {"change_mode": "auto"}],
)
async def test_workspace_mode_where_it_is_asked_for_or_auto_has_no_token(
    tmp_path: Path, values: dict[str, Any]
) -> None:
    assert await load_change_setup(settings(clone_of_a_bare_remote(tmp_path), **values)) is None


async def test_auto_without_a_repository_is_workspace_mode(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert await load_change_setup(settings(plain, change_mode="auto", github_token=TOKEN)) is None


@pytest.mark.parametrize(("mode", "default"), [("auto", "main"), ("pull_request", "trunk")])
async def test_with_an_origin_and_a_token_threads_get_branches_from_the_default_branch(
    tmp_path: Path, mode: str, default: str
) -> None:
    checkout = clone_of_a_bare_remote(tmp_path, default)
    setup = await load_change_setup(settings(checkout, change_mode=mode, github_token=TOKEN,
                                             github_api_url="http://127.0.0.1:9"))  # fmt: skip
    assert setup is not None
    assert setup.base == default
    assert setup.forge.kind == "github"
    assert setup.forge.repo == "acme/shop"
    assert setup.root == checkout / ".git" / "opsbot-worktrees"


@pytest.mark.parametrize(
    ("values", "variable", "words"),
    [
        ({}, "GITHUB_TOKEN", "token"),
        ({"gitlab_url": "http://127.0.0.1:9"}, "GITLAB_TOKEN", "token"),
    ],
)
async def test_pull_request_mode_without_its_token_is_one_line_naming_it(
    tmp_path: Path, values: dict[str, Any], variable: str, words: str
) -> None:
    checkout = clone_of_a_bare_remote(tmp_path)
    with pytest.raises(ConfigError) as raised:
        await load_change_setup(settings(checkout, change_mode="pull_request", **values))
    assert raised.value.variable == variable
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("repository", [False, True])
async def test_pull_request_mode_without_an_origin_is_one_line(
    tmp_path: Path, repository: bool
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    if repository:
        git(plain, "init", "--quiet")
    with pytest.raises(ConfigError) as raised:
        await load_change_setup(settings(plain, change_mode="pull_request", github_token=TOKEN))
    assert raised.value.variable == "OPSBOT_CHANGE_MODE"
    assert "origin" in str(raised.value)


@pytest.mark.parametrize("remote", ["gone", "http://127.0.0.1:9/acme/shop.git"])
async def test_an_unreachable_origin_is_one_line_without_the_token(
    tmp_path: Path, remote: str
) -> None:
    checkout = clone_of_a_bare_remote(tmp_path)
    if remote == "gone":
        shutil.rmtree(tmp_path / "remote")
    else:
        git(checkout, "remote", "set-url", "origin", remote)
    with pytest.raises(ConfigError) as raised:
        await load_change_setup(settings(checkout, change_mode="pull_request",
                                         github_token=TOKEN))  # fmt: skip
    assert raised.value.variable == "OPSBOT_WORKSPACE"
    assert TOKEN not in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_forge_tokens_are_redacted_wherever_they_appear(tmp_path: Path) -> None:
    values = settings(tmp_path, github_token=TOKEN, gitlab_token="glpat-SetupTokenNeverShown42")
    redactor = load_redactor(values)
    said = redactor.redact(f"push with {TOKEN} and glpat-SetupTokenNeverShown42 failed")
    assert TOKEN not in said
    assert "glpat-SetupTokenNeverShown42" not in said


@pytest.mark.skipif(not probe().active, reason="the kernel sandbox is not available here")
async def test_a_threads_unapproved_commands_run_confined_in_its_worktree(tmp_path: Path) -> None:
    checkout = clone_of_a_bare_remote(tmp_path)
    (checkout / "operator-only.txt").write_text("the operator's own file\n")
    setup = await load_change_setup(settings(checkout, change_mode="pull_request",
                                             github_token=TOKEN,
                                             github_api_url="http://127.0.0.1:9"))  # fmt: skip
    assert setup is not None
    base = ToolContext(workspace=checkout, confinement=Confinement(checkout),
                       scratch_root=tmp_path / "scratch")  # fmt: skip
    ctx = await thread_context(setup, base, PLACE)
    assert ctx.workspace != checkout
    (ctx.workspace / "app.py").write_text("print('v2 in the worktree')\n")

    async def run(command: str) -> dict[str, Any]:
        assert SHELL_EXECUTE.assess({"command": command}, ctx).risk.value == "read", command
        result = await SHELL_EXECUTE.run({"command": command}, ctx)
        return dict(result.data or {"error": result.error})

    assert "v2 in the worktree" in str(await run("cat app.py"))
    assert "v1" in str(await run("git log --oneline")), "git reads the checkout's object store"
    for outside in (f"cat {checkout}/operator-only.txt", "cat ../../../operator-only.txt"):
        verdict = SHELL_EXECUTE.assess({"command": outside}, ctx)
        assert verdict.risk.value != "read", "the checkout's files are outside: it would ask"
    assert ctx.confinement is not None
    roots = ctx.confinement.readable_roots(tmp_path / "scratch")
    assert (checkout / ".git").resolve() in roots
    assert checkout.resolve() not in roots, "the kernel sandbox keeps the checkout's files out"


@pytest.mark.parametrize("key", ["", "not a key at all", "-----BEGIN PUBLIC KEY-----\nAAAA\n"])
async def test_a_github_app_without_a_usable_private_key_is_one_line_naming_it(
    tmp_path: Path, key: str
) -> None:
    checkout = clone_of_a_bare_remote(tmp_path)
    with pytest.raises(ConfigError) as raised:
        await load_change_setup(settings(checkout, change_mode="pull_request",
                                         github_app_id="4242", github_app_private_key=key,
                                         github_api_url="http://127.0.0.1:9"))  # fmt: skip
    assert raised.value.variable == "GITHUB_APP_PRIVATE_KEY"
    assert "\n" not in str(raised.value)
    assert "AAAA" not in str(raised.value)


@pytest.mark.parametrize(
    ("token", "repos", "words"),
    [
        ("ghp_WrongTokenForTheForge0123456789abcd", {"acme/shop": "main"}, "refused"),
        (TOKEN, {"acme/other": "main"}, "not found"),
    ],
)
async def test_a_forge_that_refuses_the_token_or_the_repository_stops_the_start(
    tmp_path: Path, token: str, repos: dict[str, str], words: str
) -> None:
    """Found when tried as a new user would: a wrong token or a repository the forge does not
    know only showed at the first pull request, after the turn's approvals and the push."""
    checkout = clone_of_a_bare_remote(tmp_path)
    forge = await start_forge(ForgeConfig(tokens={TOKEN: "write"}, repos=repos))
    try:
        values = settings(checkout, change_mode="pull_request", github_token=token,
                          github_api_url=forge.url)  # fmt: skip
        with pytest.raises(ConfigError) as raised:
            await load_change_setup(values)
    finally:
        await forge.stop()
    assert raised.value.variable == "GITHUB_TOKEN"
    assert words in str(raised.value)
    assert token not in str(raised.value)


async def test_a_forge_that_is_down_at_start_is_said_and_does_not_stop_the_bot(
    tmp_path: Path,
) -> None:
    checkout = clone_of_a_bare_remote(tmp_path)
    setup = await load_change_setup(settings(checkout, change_mode="pull_request",
                                             github_token=TOKEN,
                                             github_api_url="http://127.0.0.1:9"))  # fmt: skip
    assert setup is not None
    line = start_line(setup)
    assert line.startswith("changes: pull requests on acme/shop into main")
    assert "did not answer at start" in line
    assert "cannot connect to 127.0.0.1" in line
    assert start_line(None).startswith("changes: written into OPSBOT_WORKSPACE")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("github_api_url", "127.0.0.1:18767"), ("gitlab_url", "gitlab.example.com"),
     ("github_api_url", "ftp://127.0.0.1/api")],
)  # fmt: skip
def test_a_forge_url_without_http_is_one_line_naming_it(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(tmp_path, **{variable: value})
    assert raised.value.variable == variable.upper()
