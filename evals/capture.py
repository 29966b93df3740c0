"""`opsbot eval capture RUN_ID`: a real run recorded in the database becomes an eval case.

The case holds the thread up to that run: each run's message (`turns[].say`), the model's
replies as a script for the scripted model (read from the run's DBOS step records; from the
tool calls and the answer when those are gone), the approval decisions (`decide`), and under
`replay:` the tool calls with their recorded, already redacted outputs (core/models.py
ToolCallRow.result) and each run's final answer. Everything written passes the redactor once
more. The expectations are the recorded behaviour, marked TODO for a person to edit into what
a good run does; `opsbot eval` then replays the case offline (evals/replay.py).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from core.db import plain_url, sqlalchemy_url
from core.models import ApprovalRow, MessageRow, RunRow, ToolCallRow
from core.redact import Redactor
from evals.cases import MCP_TOOL, TurnExpect
from tools.base import redact_data
from tools.registry import default_tools

RUNNING = ("running", "waiting_approval")
OUTCOMES = {o for arg in get_args(TurnExpect.model_fields["outcome"].annotation)
            for o in get_args(arg)}  # fmt: skip
CASES_DIR = Path(__file__).resolve().parent / "cases"


class CaptureError(Exception):
    """A run that cannot be captured (unknown, still running) or a file not to overwrite."""


def capture_command(run_id: str) -> str:
    """The shell command that captures `run_id` as an eval case (offered on a 👎)."""
    return f"opsbot eval capture {shlex.quote(run_id)}"


def default_path(run_id: str) -> Path:
    """evals/cases/captured-<run id>.yaml, the id made safe for a file name."""
    return CASES_DIR / f"captured-{case_name(run_id)}.yaml"


def case_name(run_id: str) -> str:
    """A case name (`[a-z0-9][a-z0-9_.-]*`) from a run id such as `T0:C0:1796.5`."""
    return re.sub(r"[^a-z0-9_.-]+", "-", run_id.lower()).strip("-.") or "run"


@dataclass(frozen=True)
class _Turn:
    run: RunRow
    say: str
    calls: list[ToolCallRow]
    approvals: list[ApprovalRow]


def capture_case(database_url: str, run_id: str, redactor: Redactor | None = None) -> str:
    """The YAML text of the case captured from `run_id` in `database_url`; raises
    CaptureError when there is no such run or it has not ended."""
    turns = _read_thread(database_url, run_id)
    steps = _model_steps(database_url, [t.run.id for t in turns])
    data = redact_data(_case_data(run_id, turns, steps), redactor or Redactor())
    said_before: set[str] = set()
    for index, (said, script) in enumerate(zip(data["turns"], data["script"]["turns"],
                                               strict=True), 1):  # fmt: skip
        if _said_key(said["say"]) in said_before:
            said["say"] = f"{said['say'].strip()} {REPEATED.format(turn=index)}"
        said_before.add(_said_key(said["say"]))
        # from the redacted message: a secret escaped for a regex (`xoxb\-…`) is not one the
        # redactor sees, and the replay posts the redacted `say`
        script["match"] = _match(said["say"])
    return _yaml(data, run_id)


# The scripted model tells a thread's turns apart by the message alone (case-insensitive):
# a message said again gets this mark in the case, or it would replay the first one's replies.
REPEATED = "(turn {turn} of the captured thread)"


def _said_key(say: str) -> str:
    return say.strip().casefold()


def _match(say: str) -> str:
    """The scripted model's pattern for a turn: exactly what was said."""
    return f"^{re.escape(say.strip())}$"


def write_case(text: str, path: Path, force: bool = False) -> None:
    """Write the case to `path` (its folders made as needed); CaptureError if it exists and
    `force` is not set, if it is a directory, or if it cannot be written (a parent is a file,
    no permission)."""
    if path.is_dir():
        raise CaptureError(f"{path} is a directory; --out names the case file (e.g. "
                           f"{path / 'case.yaml'})")  # fmt: skip
    if path.exists() and not force:
        raise CaptureError(f"{path} exists; add --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CaptureError(f"could not write {path}: {error.strerror or error}") from error


def _read_thread(database_url: str, run_id: str) -> list[_Turn]:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with Session(engine) as session:
            target = session.get(RunRow, run_id)
            if target is None:
                raise CaptureError(f"no run {run_id!r} in this database")
            if target.status in RUNNING or target.finished_at is None:
                raise CaptureError(f"run {run_id} has not ended ({target.status}); capture it "
                                   "once it has")  # fmt: skip
            runs = session.scalars(
                select(RunRow).where(RunRow.thread_id == target.thread_id,
                                     RunRow.started_at <= target.started_at,
                                     RunRow.finished_at.is_not(None))
                .order_by(RunRow.started_at)
            ).all()  # fmt: skip
            turns = []
            for run in runs:
                said = session.scalar(select(MessageRow.content).where(
                    MessageRow.run_id == run.id, MessageRow.role == "user"))  # fmt: skip
                calls = session.scalars(select(ToolCallRow).where(ToolCallRow.run_id == run.id)
                                        .order_by(ToolCallRow.started_at)).all()  # fmt: skip
                approvals = session.scalars(
                    select(ApprovalRow).where(ApprovalRow.run_id == run.id)
                    .order_by(ApprovalRow.created_at)
                ).all()  # fmt: skip
                turns.append(_Turn(run, said or "(empty message)", list(calls), list(approvals)))
            session.expunge_all()
            return turns
    finally:
        engine.dispose()


def _model_steps(database_url: str, run_ids: list[str]) -> dict[str, list[Any]]:
    """Each run's DBOS step outputs (route decisions, model replies) in order; a run whose
    records are gone (or a database DBOS never ran on) has none."""
    from dbos import DBOSClient
    from sqlalchemy.exc import DBAPIError

    client = DBOSClient(system_database_url=plain_url(database_url))
    try:
        found: dict[str, list[Any]] = {}
        for run_id in run_ids:
            try:
                steps = client.list_workflow_steps(run_id)
            except DBAPIError:
                steps = []
            found[run_id] = [s["output"] for s in steps
                             if s["function_name"] in ("route", "llm_call")]  # fmt: skip
        return found
    finally:
        client.destroy()


def _script_turn(turn: _Turn, outputs: list[Any]) -> dict[str, Any]:
    """The scripted model's replies for one run: the router's decisions by hop, each agent's
    replies by step; an agent's second pass in the run under `<agent>@2`, and so on
    (sandbox/model/scenario.py tells the passes apart)."""
    roles: dict[str, list[dict[str, Any]]] = {"router": []}
    passes: dict[str, int] = {}
    role = None
    for output in outputs:
        if hasattr(output, "rule"):  # agents.router.RouteDecision
            roles["router"].append({"agent": output.agent, "reason": output.reason})
            passes[output.agent] = passes.get(output.agent, 0) + 1
            number = passes[output.agent]
            role = output.agent if number == 1 else f"{output.agent}@{number}"
        elif role is not None and hasattr(output, "content"):  # agents.llm.ModelReply
            roles.setdefault(role, []).append(_reply_step(output.content))
    if not outputs:  # no step records: the tool calls in order, then the answer
        hops = _hop_roles(list(turn.run.agents))
        for name, hop_role in zip(turn.run.agents, hops, strict=True):
            roles["router"].append({"agent": name, "reason": "as in the captured run"})
            roles.setdefault(hop_role, [])
        for call, hop in _call_hops(list(turn.run.agents), turn.calls):
            roles[hops[hop]].append({"tool_calls": [{"name": call.name,
                                                     "input": call.args or {}}]})  # fmt: skip
        roles["router"].append({"agent": "done", "reason": "as in the captured run"})
        if hops:
            roles[hops[-1]].append({"text": turn.run.answer or ""})
    return {"match": _match(turn.say), **roles}


def _hop_roles(agents: list[str]) -> list[str]:
    """Each hop's script role: the agent on its first pass, `<agent>@<n>` on its n-th."""
    seen: dict[str, int] = {}
    roles = []
    for name in agents:
        seen[name] = seen.get(name, 0) + 1
        roles.append(name if seen[name] == 1 else f"{name}@{seen[name]}")
    return roles


def _call_hops(agents: list[str], calls: list[ToolCallRow]) -> list[tuple[ToolCallRow, int]]:
    """Each call (in the order they started) with the hop it was made in: the first hop of its
    agent at or after the previous call's (hops run one after another). A call of an agent
    with no such hop is left out, as it is of a script without step records."""
    placed: list[tuple[ToolCallRow, int]] = []
    hop = 0
    for call in calls:
        found = next((i for i in range(hop, len(agents)) if agents[i] == call.agent), None)
        if found is not None:
            hop = found
            placed.append((call, hop))
    return placed


def _reply_step(content: list[dict[str, Any]]) -> dict[str, Any]:
    text = "".join(b.get("text", "") for b in content if b.get("type") == "text")
    calls = [{"name": b["name"], "input": b.get("input") or {}}
             for b in content if b.get("type") == "tool_use"]  # fmt: skip
    return {**({"text": text} if text else {}), **({"tool_calls": calls} if calls else {})}


def _case_data(run_id: str, turns: list[_Turn], steps: dict[str, list[Any]]) -> dict[str, Any]:
    known = set(default_tools().names())
    recorded, decided, cases = [], [], []
    for index, turn in enumerate(turns, 1):
        asked = {a.tool_use_id: a.risk for a in turn.approvals}
        recorded += [{"turn": index, "agent": c.agent, "name": c.name, "input": c.args or {},
                      "asked_approval": asked.get(c.tool_use_id), "status": c.status,
                      "result": _without_files(c.result)} for c in turn.calls]  # fmt: skip
        decided += [{"turn": index, "tool": a.tool_name, "status": a.status,
                     "decided_by": a.decided_by, "reason": a.decision_reason}
                    for a in turn.approvals]  # fmt: skip
        names = list(dict.fromkeys(c.name for c in turn.calls
                                   if c.name in known or MCP_TOOL.fullmatch(c.name)))  # fmt: skip
        decide = {a.tool_name: DECIDED.get(a.status, "reject") for a in turn.approvals}
        reason = next((a.decision_reason for a in turn.approvals if a.decision_reason), None)
        cases.append({
            "say": turn.say, **({"decide": decide} if decide else {}),
            **({"reject_reason": reason} if reason and "reject" in decide.values() else {}),
            "expect": {"outcome": _outcome(turn), "route": list(turn.run.agents),
                       "facts": [], "must_not_say": [], "tools_called": names,
                       "approvals": [a.tool_name for a in turn.approvals]},
        })  # fmt: skip
    return {
        "name": f"captured-{case_name(run_id)}",
        "description": f"Captured from run {run_id}; replays its recorded tool outputs offline.",
        "tags": ["captured"],
        "turns": cases,
        "script": {"turns": [_script_turn(t, steps.get(t.run.id, [])) for t in turns]},
        "replay": {
            "captured_from": run_id,
            "captured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tools": recorded, "approvals": decided,
            "turns": [{"run": t.run.id, "outcome": t.run.outcome, "answer": t.run.answer or ""}
                      for t in turns],
        },
    }  # fmt: skip


DECIDED = {"approved": "approve", "expired": "expire"}
"""A recorded card's status as the case's decision for it; anything else (rejected, a card
still pending when the run was cancelled) is answered `reject`."""


def _outcome(turn: _Turn) -> str | None:
    """The recorded outcome as the turn's expectation; None (not checked) when cases do not
    name it (a run cancelled by Stop)."""
    return turn.run.outcome if turn.run.outcome in OUTCOMES else None


def _without_files(result: Any) -> Any:
    """A recorded result without the files made for people (a chart's bytes)."""
    if isinstance(result, dict):
        return {k: v for k, v in result.items() if k != "files"}
    return result


HEADER = """\
# Captured from run {run} by `opsbot eval capture` ({when}).
# The expectations below are what that run did (TODO: edit them into what a good run does:
# the facts the answer must state, what it must never say, the outcome). The model replays
# the run's own replies (script:) and the tools answer from replay.tools, offline.
"""
TODO = {
    "facts": '# TODO: e.g. [{name: the cause, any: ["KeyError"]}]',
    "must_not_say": "# TODO: patterns the answer must never contain",
}
# an expectation list on a line of its own (a key of `expect:`), never text inside a string
_EMPTY_LIST = re.compile(r"^(    (?:facts|must_not_say): \[\])$", re.M)


def _yaml(data: dict[str, Any], run_id: str) -> str:
    """The case as YAML under its header; the TODO comments are added only where they leave
    the data as it is (a string holding `facts: []` stays that string)."""
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    marked = _EMPTY_LIST.sub(lambda m: f"{m[1]}  {TODO[m[1].split(':')[0].strip()]}", body)
    try:
        if yaml.safe_load(marked) == yaml.safe_load(body):
            body = marked
    except yaml.YAMLError:
        pass
    when = data["replay"]["captured_at"]
    return HEADER.format(run=run_id, when=when) + body
