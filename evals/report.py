"""The eval report: per case and overall scores as JSON, a terminal table, an HTML page, and
the regression gate against a baseline report."""

from __future__ import annotations

import html
import statistics
from dataclasses import dataclass, field
from typing import Any

from evals.cases import Case
from evals.scoring import RunScore

REPORT_VERSION = 1
# Scores where higher is better; the gate fails when one drops below the baseline's.
GATED = ("pass_rate", "routing_accuracy", "fact_recall", "approval_correctness", "tool_efficiency")


@dataclass
class CaseResult:
    """Every run of one case."""

    case: Case
    runs: list[RunScore] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        """Share of runs that passed every check."""
        return sum(r.passed for r in self.runs) / len(self.runs) if self.runs else 0.0


def _ratio(pairs: list[tuple[int, int]]) -> float | None:
    total = sum(b for _, b in pairs)
    return round(sum(a for a, _ in pairs) / total, 4) if total else None


def summary(results: list[CaseResult]) -> dict[str, Any]:
    """The overall scores of a report."""
    runs = [run for result in results for run in result.runs]
    efficiencies = [e for r in runs if (e := r.tool_efficiency) is not None]
    latencies = [r.latency_s for r in runs]
    return {
        "cases": len(results), "runs": len(runs),
        "cases_passed": sum(result.pass_rate == 1.0 for result in results),
        "pass_rate": round(sum(r.passed for r in runs) / len(runs), 4) if runs else 0.0,
        "routing_accuracy": _ratio([r.routing for r in runs]),
        "fact_recall": _ratio([r.facts for r in runs]),
        "approval_correctness": _ratio([r.approvals for r in runs]),
        "tool_efficiency": round(statistics.fmean(efficiencies), 4) if efficiencies else None,
        "loops": sum(r.loops for r in runs),
        "llm_calls": sum(r.llm_calls for r in runs), "tokens": sum(r.tokens for r in runs),
        "cost_usd": round(sum(r.cost_usd for r in runs), 6),
        "latency_s_p50": round(statistics.median(latencies), 3) if latencies else None,
        "latency_s_max": round(max(latencies), 3) if latencies else None,
    }  # fmt: skip


def build_report(results: list[CaseResult], meta: dict[str, Any]) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    return {
        "version": REPORT_VERSION, **meta, "summary": summary(results),
        "cases": [
            {"name": r.case.name, "description": r.case.description, "tags": r.case.tags,
             "pass_rate": round(r.pass_rate, 4), "runs": [run.as_json() for run in r.runs]}
            for r in results
        ],
    }  # fmt: skip


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def table(report: dict[str, Any]) -> str:
    """A terminal table: one line per case, failed checks under it, then the totals."""
    lines = [f"{'case':32} {'pass':>6} {'route':>6} {'facts':>6} {'cards':>6} "
             f"{'calls':>5} {'tokens':>8} {'cost $':>8} {'time s':>7}"]  # fmt: skip
    for case in report["cases"]:
        runs = case["runs"]
        last = runs[-1]
        lines.append(
            f"{case['name'][:32]:32} {_percent(case['pass_rate']):>6} "
            f"{_pair(runs, 'routing'):>6} {_pair(runs, 'facts'):>6} {_pair(runs, 'approvals'):>6} "
            f"{last['tool_calls']:>5} {last['tokens']:>8} {last['cost_usd']:>8.4f} "
            f"{last['latency_s']:>7.1f}"
        )
        failed = {c["name"]: c["detail"] for run in runs for c in run["checks"] if not c["passed"]}
        lines += [f"    ✗ {name}: {_one_line(detail)}" for name, detail in failed.items()]
    s = report["summary"]
    lines.append(
        f"\n{s['cases_passed']}/{s['cases']} cases passed ({s['runs']} runs, pass rate "
        f"{_percent(s['pass_rate'])}); routing {_percent(s['routing_accuracy'])}, facts "
        f"{_percent(s['fact_recall'])}, approvals {_percent(s['approval_correctness'])}, tool "
        f"efficiency {_percent(s['tool_efficiency'])}, loops {s['loops']}, {s['tokens']} tokens, "
        f"${s['cost_usd']:.4f}, median {s['latency_s_p50']} s per case"
    )
    return "\n".join(lines)


def _one_line(text: str, width: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _pair(runs: list[dict[str, Any]], key: str) -> str:
    done, total = sum(r[key][0] for r in runs), sum(r[key][1] for r in runs)
    return f"{done}/{total}" if total else "-"


def html_page(report: dict[str, Any]) -> str:
    """A self-contained HTML page of the report."""
    rows = []
    for case in report["cases"]:
        checks = "".join(
            f"<li class={'ok' if c['passed'] else 'bad'}>{html.escape(c['name'])}"
            + ("" if c["passed"] else f" — {html.escape(str(c['detail']))}")
            + "</li>"
            for c in case["runs"][-1]["checks"]
        )
        runs, last = case["runs"], case["runs"][-1]
        numbers = [_percent(case["pass_rate"]), _pair(runs, "routing"), _pair(runs, "facts"),
                   _pair(runs, "approvals"), last["tool_calls"], last["tokens"],
                   f"{last['cost_usd']:.4f}", f"{last['latency_s']:.1f}"]  # fmt: skip
        cells = "".join(f"<td>{html.escape(str(n))}</td>" for n in numbers)
        rows.append(
            f"<tr><td><b>{html.escape(case['name'])}</b><br><small>"
            f"{html.escape(', '.join(case['tags']))}</small></td>{cells}<td><details><summary>"
            f"{html.escape(case['description'])}</summary><ul>{checks}</ul></details></td></tr>"
        )
    s = report["summary"]
    totals = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                     for k, v in s.items())  # fmt: skip
    return (
        "<!doctype html><meta charset=utf-8><title>opsbot eval</title><style>"
        "body{font:14px system-ui;margin:2em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;"
        "text-align:left;vertical-align:top}.ok{color:#176f2c}.bad{color:#b3261e}</style>"
        f"<h1>opsbot eval — {html.escape(str(report.get('model')))}</h1>"
        f"<p>{html.escape(str(report.get('started_at')))}, repeat {report.get('repeat')}</p>"
        f"<table>{totals}</table><h2>Cases</h2><table><tr><th>case</th><th>pass</th>"
        "<th>route</th><th>facts</th><th>cards</th><th>calls</th><th>tokens</th><th>cost $</th>"
        f"<th>time s</th><th>checks</th></tr>{''.join(rows)}</table>"
    )


def regressions(report: dict[str, Any], baseline: dict[str, Any], tolerance: float) -> list[str]:
    """Every score that dropped more than `tolerance` below the baseline, in words."""
    found = []
    now, before = report["summary"], baseline.get("summary") or {}
    for key in GATED:
        old, new = before.get(key), now.get(key)
        if isinstance(old, int | float) and isinstance(new, int | float) and new < old - tolerance:
            found.append(f"{key} fell from {old} to {new}")
    if now.get("loops", 0) > before.get("loops", 0):
        found.append(f"loops rose from {before.get('loops', 0)} to {now['loops']}")
    old = {case["name"]: case["pass_rate"] for case in baseline.get("cases") or []}
    for case in report["cases"]:
        previous = old.get(case["name"])
        if previous is not None and case["pass_rate"] < previous - tolerance:
            found.append(f"case {case['name']}: pass rate fell from {previous} to "
                         f"{case['pass_rate']}")  # fmt: skip
    return found
