"""The pinned application version and the step-sequence signature that guards it.

DBOS replays a recovered workflow step by step; a deploy that changes the sequence of steps
must not replay old runs with new code. So `APP_VERSION` is pinned (not DBOS's code hash, which
changes on every edit and would strand paused approvals), and a test compares the signature of
the workflow's step sequence with the one recorded for the pinned version.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

APP_VERSION = "8"

SIGNATURES = {
    "1": "8ab8c51e6c012013",
    "2": "fb3ce12a61576521",  # tool calls are classified per call (command policy) before the gate
    "3": "864d8a6c13fe72ce",  # an interrupted approved call is asked about again; fault points
    "4": "2292bf4ea577d9e7",  # steps learn their agent hop (spans of one trace per run)
    "5": "bc259fcd868f9ec0",  # stop reasons read; cut tool calls refused; prompts trimmed to fit
    # a refusal ends the turn (no further route step); v6 was never released before the turn
    # also noted rejected approvals (control flow around, not of, durable steps)
    "6": "066aff98ac702078",
    "7": "cb374d7b08766a0c",  # an agent that only looks records a refusal instead of asking;
    # a tool the agent lacks is refused inside the call_tool step (a replay takes one path)
    "8": "d20b068bfa389378",  # a count_tokens step before an agent call near the context
    # budget (agents/context_budget.py); a prompt-too-long retry is bounded
}

_DURABLE_CALLS = {"step", "recv_async", "sleep_async", "send_async", "set_event_async"}
_FLOW = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.Try, ast.Return, ast.Break, ast.Continue)


def _tokens(node: ast.AST) -> list[str]:
    tokens: list[str] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            tokens += [f"def {child.name}", *_tokens(child), "end"]
            continue
        if isinstance(child, ast.Call):
            func = child.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _DURABLE_CALLS:
                first = child.args[0] if child.args else None
                label = str(first.value) if isinstance(first, ast.Constant) else ""
                tokens.append(f"{name}:{label}")
            elif name.startswith("_") or name in ("run",):
                tokens.append(f"call {name}")
        if isinstance(child, _FLOW):
            tokens += [type(child).__name__, *_tokens(child), "end"]
        else:
            tokens += _tokens(child)
    return tokens


def step_sequence_signature(source: Path | None = None) -> str:
    """A hash of the workflow module's durable calls in order, with the control flow around them."""
    path = source or Path(__file__).with_name("workflow.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return hashlib.sha256("\n".join(_tokens(tree)).encode()).hexdigest()[:16]
