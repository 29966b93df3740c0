"""`opsbot eval`: run the cases, print the table, write the report, apply the gate.

Exit codes: 0 all passed (or, with --baseline, nothing regressed); 1 a case failed (or a
score regressed); 2 bad input (a case file, a missing key, an unreadable baseline).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.settings import Settings
    from evals.cases import Case
    from evals.runner import ModelAccess
    from evals.scoring import RunScore

BUNDLED_CASES = Path(__file__).resolve().parent / "cases"  # kept light: every command parses


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of `opsbot eval`."""
    parser.add_argument("--cases", type=Path, default=BUNDLED_CASES,
                        help="folder of *.yaml cases (default: the bundled ones)")  # fmt: skip
    parser.add_argument("--case", action="append", dest="only", metavar="NAME",
                        help="run only this case (repeatable)")  # fmt: skip
    parser.add_argument("--model", choices=("scripted", "live"), default="scripted",
                        help="scripted transcripts (offline) or the live model of "
                             "OPSBOT_MODEL_PROVIDER (docs/models.md)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (pass rate)")
    parser.add_argument("--baseline", type=Path, help="fail when a score drops below this report")
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="how far a score may drop below the baseline (0.05 = 5 "
                             "points)")  # fmt: skip
    parser.add_argument("--judge", action="store_true",
                        help="live only: an LLM judge also grades each expected fact")  # fmt: skip
    parser.add_argument("--judge-model", help="the judge's model (default: OPSBOT_ROUTER_MODEL)")
    parser.add_argument("--out", type=Path, default=Path("eval-results"),
                        help="where report.json, report.html and each run's files go")  # fmt: skip
    parser.add_argument("--turn-timeout", type=float, default=None,
                        help="seconds a turn may take (120 scripted, 600 live)")  # fmt: skip
    commands = parser.add_subparsers(dest="eval_command", metavar="[capture RUN_ID]",
                                     title="commands (none: run the cases)")  # fmt: skip
    capture = commands.add_parser(
        "capture", help="write an eval case from a real run (replayed offline)",
        description="Write an eval case from a run recorded in the database: its thread's "
                    "messages, the model's replies, the tool calls with their recorded "
                    "(redacted) outputs, the approval decisions and the answer; the "
                    "expectations are what the run did, marked TODO to edit. `opsbot eval "
                    "--case NAME` replays it offline. Reads OPSBOT_DATABASE_URL as `opsbot "
                    "audit` does. Exit 2 for an unknown or unfinished run, or a file that "
                    "exists (without --force).",
    )  # fmt: skip
    capture.add_argument("run_id", help="the run id (as /opsbot status and opsbot audit show it)")
    capture.add_argument("--out", type=Path, dest="capture_out", metavar="FILE",
                         help="the case file (default: evals/cases/captured-RUN.yaml)")  # fmt: skip
    capture.add_argument("--force", action="store_true", help="overwrite the file if it exists")


def main(args: argparse.Namespace) -> int:
    """Run `opsbot eval` with parsed arguments; returns the exit code."""
    from core.errors import ConfigError
    from evals.cases import CaseError

    try:
        if getattr(args, "eval_command", None) == "capture":
            return _capture(args)
        return _evaluate(args)
    except (CaseError, ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _capture(args: argparse.Namespace) -> int:
    """`opsbot eval capture RUN_ID`: the case file is written, or one line says why not."""
    from agents.tool_setup import load_redactor
    from bot.commands import MissingDatabase, read_database_settings
    from evals.capture import CaptureError, capture_case, case_name, default_path, write_case

    path = args.capture_out or default_path(args.run_id)
    try:
        settings = read_database_settings()
        if path.exists() and not args.force:  # before reading the run: nothing to lose
            raise CaptureError(f"{path} exists; add --force to overwrite it")
        text = capture_case(settings.database_url, args.run_id, load_redactor(settings))
        write_case(text, path, args.force)
    except MissingDatabase as error:  # its message is the whole line
        print(error, file=sys.stderr)
        return 2
    except CaptureError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    name = f"captured-{case_name(args.run_id)}"
    print(f"wrote {path}: edit its expect: (marked TODO), then replay it offline with "
          f"opsbot eval --cases {path.parent} --case {name}")  # fmt: skip
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import shutil

    from agents.model_provider import provider_problems
    from core.errors import ConfigError
    from core.settings import load_settings
    from evals.cases import load_cases
    from evals.report import CaseResult, build_report, html_page, regressions, table
    from evals.runner import PROVIDER_FIELDS, ModelAccess

    if args.repeat < 1:
        raise ValueError("--repeat must be at least 1")
    if args.judge and args.model != "live":
        raise ValueError("--judge grades live answers (scripted ones are fixed): add --model live")
    baseline = _read_baseline(args.baseline) if args.baseline else None
    cases = load_cases(args.cases, args.only)
    settings = load_settings() if args.model == "live" else None
    if settings is not None:
        if settings.model_provider == "anthropic" and not settings.anthropic_api_key:
            raise ValueError("--model live needs ANTHROPIC_API_KEY (or use --model scripted)")
        if problems := provider_problems(settings):
            raise ConfigError.of_all(problems)
    access = ModelAccess(
        mode=args.model, api_key=settings.anthropic_api_key if settings else None,
        base_url=settings.anthropic_base_url if settings else None,
        turn_timeout_s=args.turn_timeout or (600.0 if settings else 120.0),
        provider={name: getattr(settings, name) for name in PROVIDER_FIELDS} if settings else {},
    )  # fmt: skip
    judge_model = args.judge_model or (settings.router_model if settings else "")
    shutil.rmtree(args.out / "runs", ignore_errors=True)
    (args.out / "runs").mkdir(parents=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results = [CaseResult(case) for case in cases]
    progress = Progress(len(cases) * args.repeat)
    for repeat in range(args.repeat):
        for result in results:
            label = result.case.name + (f" #{repeat + 1}" if args.repeat > 1 else "")
            progress.starting(label)
            run = _one_run(result.case, access, args.out / "runs", repeat,
                           judge_model if args.judge else None, settings)  # fmt: skip
            result.runs.append(run)
            progress.finished(label, run.passed, run.latency_s)
    meta = {"model": args.model, "started_at": started, "repeat": args.repeat,
            "cases_dir": str(args.cases)}  # fmt: skip
    report = build_report(results, meta)
    (args.out / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    (args.out / "report.html").write_text(html_page(report), encoding="utf-8")
    print(table(report))
    print(f"report: {args.out / 'report.json'} and {args.out / 'report.html'}")
    if baseline is not None:
        dropped = regressions(report, baseline, args.tolerance)
        for line in dropped:
            print(f"REGRESSION {line}")
        if not dropped:
            print("no score fell below the baseline")
        return 1 if dropped else 0
    return 0 if report["summary"]["pass_rate"] == 1.0 else 1


def _one_run(
    case: Case,
    access: ModelAccess,
    runs: Path,
    repeat: int,
    judge_model: str | None,
    settings: Settings | None = None,
) -> RunScore:
    """One run of a case, then the judge; each in its own event loop, as each test has one:
    DBOS takes over a loop's default executor and shuts it down with the bot."""
    import asyncio

    from evals.judge import judge_case
    from evals.runner import run_case
    from evals.scoring import Verdicts, score_run

    work = Path(tempfile.mkdtemp(prefix=f"{case.name}-{repeat + 1}-", dir=runs))
    seen = asyncio.run(run_case(case, access, work))
    verdicts = {}
    if judge_model and settings is not None:
        import anthropic

        from agents.model_client import make_client

        async def judge() -> Verdicts:
            client = make_client(settings, max_retries=2)  # the SDK's default
            async with client:
                return await judge_case(client, judge_model, case, seen)

        try:
            verdicts = asyncio.run(judge())
        except anthropic.APIError as error:
            seen.error = seen.error or f"the judge failed: {error}"
    return score_run(case, seen, verdicts)


def _read_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the baseline {path}: {error}") from None
    if not isinstance(data, dict) or "summary" not in data:
        raise ValueError(f"{path} is not an opsbot eval report")
    return data


class Progress:
    """A progress bar on a terminal, one line per case otherwise (CI logs)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()
        self.tty = sys.stderr.isatty()

    def _bar(self) -> str:
        filled = round(20 * self.done / self.total)
        return f"[{'█' * filled}{'░' * (20 - filled)}] {self.done}/{self.total}"

    def starting(self, label: str) -> None:
        """A case run begins."""
        if self.tty:
            print(f"\r{self._bar()} {label} …\033[K", end="", file=sys.stderr, flush=True)

    def finished(self, label: str, passed: bool, seconds: float) -> None:
        """A case run ended."""
        self.done += 1
        mark = "passed" if passed else "FAILED"
        line = f"{self._bar()} {label}: {mark} in {seconds:.1f} s"
        print(f"\r{line}\033[K" if self.tty else line, file=sys.stderr, flush=True)
