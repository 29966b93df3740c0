"""The command corpus (tests/corpus/commands.yaml): each command gets its expected verdict.

The corpus holds every input of the 2026-11-30 security review (rows A1-A18), everyday
read-only commands that must run unasked, and new attacks per class. Each is classified by the
real `Classifier` in a workspace with a symlink to a canary file outside it.
"""

from __future__ import annotations

import gzip
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tools.policy import Classifier, CommandPolicy, Verdict

CORPUS = Path(__file__).parents[1] / "corpus" / "commands.yaml"
CANARY = "TOPSECRET-outside-file"


@dataclass(frozen=True)
class Case:
    """One corpus entry: the command as written, its expected verdict and a reason word."""

    section: str
    command: str
    verdict: Verdict
    reason_word: str | None


def load_corpus(path: Path = CORPUS) -> list[Case]:
    """Every entry of the corpus file, in order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for section, entries in data.items():
        for entry in entries:
            verdict, command, *word = entry
            cases.append(Case(section, command, Verdict[verdict.upper()], (word or [None])[0]))
    return cases


CASES = load_corpus()


@dataclass(frozen=True)
class Layout:
    """The workspace and the folder beside it that holds the canary."""

    workspace: Path
    outside: Path


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """A workspace with a few files, logs/app.log, and symlinks to a canary outside it."""
    root = tmp_path_factory.mktemp("corpus")
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{CANARY}\n", encoding="utf-8")
    workspace = root / "ws"
    (workspace / "logs").mkdir(parents=True)
    (workspace / "src").mkdir()
    for name, text in {
        "README.md": "# demo\n",
        "app.log": "INFO start\nERROR boom\n",
        "in.txt": "b\na\nb\n",
        "payload.txt": "touch PWNED\n",
        "empty.txt": "",
        "status.json": '{"status": "ok"}\n',
        "src/main.py": "print('hi')\n",
        "logs/app.log": "ERROR 500 checkout\n",
    }.items():
        (workspace / name).write_text(text, encoding="utf-8")
    (workspace / "logs" / "app.log.1.gz").write_bytes(gzip.compress(b"ERROR old\n"))
    (workspace / "notes.txt").symlink_to(outside / "secret.txt")
    (workspace / "linkdir").symlink_to(outside, target_is_directory=True)
    return Layout(workspace, outside)


def filled(command: str, layout: Layout) -> str:
    """The command with {ws} and {outside} replaced (other braces are the command's own)."""
    return command.replace("{ws}", str(layout.workspace)).replace("{outside}", str(layout.outside))


def test_corpus_is_large_and_covers_every_verdict() -> None:
    assert len(CASES) >= 300
    everyday = [c for c in CASES if c.section == "everyday" and c.verdict is Verdict.ALLOW]
    assert len(everyday) >= 80
    assert {c.verdict for c in CASES} == set(Verdict)
    commands = [c.command for c in CASES]
    assert len(commands) == len(set(commands)), "a command is listed twice"


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.section}:{c.verdict.name.lower()}:{c.command[:60]}" for c in CASES]
)
def test_command_gets_its_verdict(case: Case, layout: Layout) -> None:
    program = shlex.split(case.command)[0] if case.verdict is Verdict.ALLOW else ""
    if program and shutil.which(program) is None:
        pytest.skip(f"{program} is not installed here (only system binaries run unasked)")
    classifier = Classifier(CommandPolicy.load(), layout.workspace)
    decision = classifier.classify(filled(case.command, layout))
    assert decision.verdict is case.verdict, decision.summary
    if case.reason_word:
        assert case.reason_word in decision.summary
