"""The tool contract: a named, typed, risk-classified async function with a result envelope."""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from core.redact import Redactor
from core.types import Risk
from tools.confine import Confinement
from tools.policy import Classifier, CommandPolicy

if TYPE_CHECKING:  # the clients raise ToolError from this module
    from tools.changes.target import ChangeTarget
    from tools.prometheus.client import AlertmanagerApi, PrometheusApi


class ToolStatus(StrEnum):
    """How a tool call ended, as the model and people see it."""

    OK = "ok"
    ERROR = "error"
    DENIED = "denied"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class ToolFile(BaseModel):
    """A file a tool made for people, not for the model (a chart): posted into the run's
    thread, never sent to the model."""

    model_config = ConfigDict(frozen=True)

    name: str
    """File name with extension, e.g. `error-rate.png`."""
    title: str
    """What the thread shows above the file."""
    content_b64: str
    """The file's bytes, base64 (a step's output must be JSON)."""
    alt_text: str = ""


@dataclass(frozen=True)
class WithFiles:
    """What a handler returns to give people files (a chart) beside the model's `data`."""

    data: Any
    files: tuple[ToolFile, ...]


class ToolResult(BaseModel):
    """The structured envelope every tool call returns."""

    model_config = ConfigDict(frozen=True)

    status: ToolStatus
    data: Any = None
    error: str | None = None
    truncated: bool = False
    files: tuple[ToolFile, ...] = ()
    """Files for the thread (charts); `for_model` leaves them out."""

    @classmethod
    def ok(cls, data: Any) -> ToolResult:
        """A successful result."""
        return cls(status=ToolStatus.OK, data=data)

    @classmethod
    def failed(cls, error: str, status: ToolStatus = ToolStatus.ERROR) -> ToolResult:
        """A result that carries an explanation instead of data."""
        return cls(status=status, error=error)

    def for_model(self) -> str:
        """The JSON text the model receives as the tool result."""
        shown = self.model_dump(mode="json", exclude_none=True, exclude={"files"})
        return json.dumps(shown, ensure_ascii=False)


class ToolError(Exception):
    """A failure the model should read (bad path, missing file, ...), not a crash."""


class OutputStore(Protocol):
    """Where whole outputs of truncated results are kept (the engine provides one)."""

    async def save(self, output_id: str, text: str) -> None:
        """Keep `text` under `output_id`."""

    async def load(self, output_id: str) -> str | None:
        """The text kept under `output_id`, or None."""


@dataclass(frozen=True)
class ToolContext:
    """What tools may touch: the workspace, the log sources, the policy and the output limits."""

    workspace: Path
    log_sources: tuple[str, ...] = ()
    output_cap: int = 16_000
    shell_timeout_s: float = 120.0
    redactor: Redactor = field(default_factory=Redactor)
    policy: CommandPolicy = field(default_factory=CommandPolicy.load)
    outputs: OutputStore | None = None
    confinement: Confinement | None = None
    """The kernel sandbox unapproved commands run in; None where none can be applied (then
    every command needs approval)."""
    scratch_root: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "opsbot")
    """Where each command gets its private HOME and TMPDIR (outside the workspace)."""
    kubeconfig: str | None = None
    """The operator's kubeconfig (`KUBECONFIG`) for kubectl, confined or approved."""
    approved: bool = False
    """True only for the run of a call a person approved (set by the approval gate)."""
    prometheus: PrometheusApi | None = None
    """The Prometheus HTTP API (OPSBOT_PROMETHEUS_URL); None: the prometheus tools refuse."""
    alertmanager: AlertmanagerApi | None = None
    """Alertmanager's API v2 (OPSBOT_ALERTMANAGER_URL); None: the alertmanager tools refuse."""
    change: ChangeTarget | None = None
    """The thread's branch in pull-request mode (OPSBOT_CHANGE_MODE); None: changes are
    written into the workspace and open_pull_request refuses."""
    change_commits: tuple[tuple[str, str], ...] = ()
    """The branch's commits (sha, subject) as the approval card of open_pull_request lists them."""

    @property
    def classifier(self) -> Classifier:
        """The command classifier for this workspace and sandbox."""
        confinement = self.confinement or Confinement(self.workspace)
        return Classifier(self.policy, self.workspace, confinement, home=self.scratch_root)


@dataclass(frozen=True)
class Assessment:
    """The risk of one call with its exact arguments, or why it is refused outright."""

    risk: Risk
    reason: str = ""
    denied: str | None = None


InputT = TypeVar("InputT", bound=BaseModel)


@functools.cache
def _cached_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


def input_schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema without its title, built once per model (it is sent with every
    model call; pydantic takes milliseconds to build one)."""
    return copy.deepcopy(_cached_schema(model))


@dataclass(frozen=True)
class Tool(Generic[InputT]):
    """One tool: name, description, pydantic input model, risk and async handler."""

    name: str
    description: str
    input_model: type[InputT]
    risk: Risk
    handler: Callable[[InputT, ToolContext], Awaitable[Any]]
    preview: Callable[[InputT, ToolContext], str] | None = None
    assess_call: Callable[[InputT, ToolContext], Assessment] | None = None
    schema: dict[str, Any] | None = None
    """A JSON schema that replaces the input model's (an MCP server's `inputSchema`); the
    arguments are validated against it before the input model sees them."""
    resumable: bool = False
    """True for a tool that may run again after a crash interrupted its approved run, because
    it finds what the interrupted run did and does not do it twice (open_pull_request); every
    other approved call interrupted by a crash is reported unknown and not run again."""

    def input_schema(self) -> dict[str, Any]:
        """The JSON schema the model sees for this tool's input."""
        if self.schema is not None:
            return copy.deepcopy(self.schema)
        return input_schema_of(self.input_model)

    def definition(self) -> dict[str, Any]:
        """The tool as the Anthropic Messages API describes it."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema(),
        }

    def parse(self, args: dict[str, Any]) -> InputT:
        """Validate raw arguments; raises `ToolError` with a readable message."""
        if self.schema is not None:
            schema_problem = json_schema_problem(self.schema, args)
            if schema_problem is not None:
                raise ToolError(f"invalid input for {self.name}: {schema_problem}")
        try:
            return self.input_model.model_validate(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolError(f"invalid input for {self.name}: {problems}") from None

    def assess(self, args: dict[str, Any], ctx: ToolContext) -> Assessment:
        """Classify this exact call (the tool's fixed risk unless it classifies by argument)."""
        parsed = self.parse(args)
        if self.assess_call is not None:
            return self.assess_call(parsed, ctx)
        return Assessment(risk=self.risk)

    def describe(self, args: dict[str, Any], ctx: ToolContext) -> str:
        """What this call will do, for an approval request (a diff, a command, ...)."""
        parsed = self.parse(args)
        if self.preview is not None:
            return self.preview(parsed, ctx)
        return json.dumps(args, indent=2, ensure_ascii=False)

    async def run(
        self, args: dict[str, Any], ctx: ToolContext, call_id: str | None = None
    ) -> ToolResult:
        """Run the tool: errors become error results; output is redacted and capped.

        A capped output is kept whole (under `call_id`) for `read_output` when a store exists.
        """
        files: tuple[ToolFile, ...] = ()
        try:
            data = await self.handler(self.parse(args), ctx)
            if isinstance(data, WithFiles):
                data, files = data.data, data.files
        except ToolError as exc:
            return ToolResult.failed(ctx.redactor.redact(str(exc)))
        except Exception as exc:  # a tool bug must reach the model as an error, not crash the run
            message = f"{self.name} failed: {type(exc).__name__}: {exc}"
            return ToolResult.failed(ctx.redactor.redact(message))
        clean = redact_data(data, ctx.redactor)
        keep_as = call_id if ctx.outputs is not None else None
        result = cap_output(clean, ctx.output_cap, keep_as)
        if result.truncated and keep_as is not None and ctx.outputs is not None:
            await ctx.outputs.save(keep_as, json.dumps(clean, ensure_ascii=False, indent=1))
        return result.model_copy(update={"files": files}) if files else result


def json_schema_problem(schema: dict[str, Any], value: Any, check_only: bool = False) -> str | None:
    """The first way `value` breaks `schema` (JSON Schema, the draft the schema names, else
    2020-12), as "path: message"; None when it conforms. A schema that is itself invalid is
    reported as the problem; with `check_only`, only that is checked. References resolve
    within the schema only: one to another document is a problem, never fetched."""
    import jsonschema  # the MCP SDK's dependency; only schema-driven tools need it
    import referencing.exceptions

    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
    except jsonschema.exceptions.SchemaError as bad:
        return f"the tool's own input schema is invalid: {bad.message}"
    if check_only:
        return None
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except referencing.exceptions.Unresolvable as unresolved:
        return f"the tool's input schema refers to what it does not hold: {unresolved}"
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "input"
    return f"{where}: {error.message}"


@functools.lru_cache(maxsize=1024)
def _validator(schema_text: str) -> Any:
    """A checked validator for one schema (building one costs milliseconds), with an empty
    registry: no reference is ever retrieved from elsewhere."""
    import jsonschema
    from referencing import Registry

    schema = json.loads(schema_text)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, registry=Registry())


def redact_data(data: Any, redactor: Redactor) -> Any:
    """Redact every string inside a JSON-like value, keys included."""
    if isinstance(data, str):
        return redactor.redact(data)
    if isinstance(data, list):
        return [redact_data(item, redactor) for item in data]
    if isinstance(data, dict):  # keys too: a server may answer {"<token>": ...}
        return {
            redact_data(key, redactor): redact_data(value, redactor) for key, value in data.items()
        }
    return data


def cap_output(data: Any, cap: int, output_id: str | None = None) -> ToolResult:
    """Wrap `data` in an OK result, truncating it with a marker when its JSON exceeds `cap`."""
    text = json.dumps(data, ensure_ascii=False)
    if len(text) <= cap:
        return ToolResult.ok(data)
    whole = json.dumps(data, ensure_ascii=False, indent=1)
    marker = f"\n[... truncated: {len(whole) - cap} of {len(whole)} characters not shown"
    if output_id is not None:
        marker += f"; read the rest with read_output(output_id={output_id!r}, offset={cap})"
    return ToolResult(status=ToolStatus.OK, data=whole[:cap] + marker + " ...]", truncated=True)
