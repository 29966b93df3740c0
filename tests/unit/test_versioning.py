"""Deploy safety: the step sequence may not change without a new pinned application version."""

from __future__ import annotations

from pathlib import Path

from agents import versioning
from agents.service import dbos_config
from tests.support import make_settings

WORKFLOW = Path(versioning.__file__).with_name("workflow.py")


def test_the_step_sequence_matches_the_pinned_version() -> None:
    assert versioning.step_sequence_signature() == versioning.SIGNATURES[versioning.APP_VERSION], (
        "agents/workflow.py changed its sequence of durable steps: bump APP_VERSION in "
        "agents/versioning.py and record the new signature (see docs/operating.md, 'Deploying')"
    )


def test_a_changed_step_sequence_changes_the_signature(tmp_path: Path) -> None:
    source = WORKFLOW.read_text()
    reordered = tmp_path / "workflow.py"
    reordered.write_text(source.replace('"resolve_approval"', '"resolve_approval_v2"'))
    assert versioning.step_sequence_signature(reordered) != versioning.step_sequence_signature()


def test_comments_and_docstrings_do_not_change_the_signature(tmp_path: Path) -> None:
    edited = tmp_path / "workflow.py"
    edited.write_text("# a new comment\n" + WORKFLOW.read_text().replace("Deterministic.", "Pure."))
    assert versioning.step_sequence_signature(edited) == versioning.step_sequence_signature()


def test_dbos_runs_under_the_pinned_version(tmp_path: Path) -> None:
    settings = make_settings("sqlite:///x.sqlite", tmp_path, "http://127.0.0.1:9")
    config = dbos_config(settings)
    assert config["application_version"] == versioning.APP_VERSION
    assert config["executor_id"] == "local"
