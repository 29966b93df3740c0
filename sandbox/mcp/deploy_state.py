"""The deploys server's state: a JSON file of deploy and rollback records, oldest first.

    {"deploys": [{"id": "d-2044", "kind": "deploy", "service": "orders-api",
                  "version": "3.8.0", "time": "2026-11-24T15:02:10Z", "summary": "...",
                  "changes": {"config": "<unified diff>", "code": ["<commit subject>", ...]}},
                 {"id": "rb-1", "kind": "rollback", "service": "orders-api", "version": "3.7.2",
                  "time": "...", "rolled_back": "d-2044", "from_version": "3.8.0",
                  "reason": "..."}]}

A service runs the version of its newest record. The file is read on every call (a person may
reset it while the server runs), changed under an exclusive lock and replaced atomically
(temporary file, then `os.replace`), so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Record = dict[str, Any]


class DeployError(ValueError):
    """A request the deploys state cannot serve (unknown id, not current, ...), in words."""


def seed_state(state: Path, seed: Path) -> None:
    """Create `state` from `seed` (a scenario's deploys.json) when it does not exist yet.

    Raises `OSError` when neither can be read or written, `DeployError` for a bad seed."""
    if state.exists():
        return
    records = _parse(seed.read_text(encoding="utf-8"), seed)
    with _locked(state):
        if not state.exists():
            write_records(state, records)


def read_records(state: Path) -> list[Record]:
    """Every record in `state`, oldest first. Raises `DeployError` when it is missing or bad."""
    try:
        text = state.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeployError(f"no deploys state at {state}") from None
    return _parse(text, state)


def write_records(state: Path, records: list[Record]) -> None:
    """Replace `state` with `records` atomically (a temporary file in the same folder)."""
    state.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{state.name}.", dir=state.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"deploys": records}, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, state)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _parse(text: str, where: Path) -> list[Record]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise DeployError(f"{where} is not JSON: {error}") from None
    records = data.get("deploys") if isinstance(data, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise DeployError(f'{where}: expected {{"deploys": [records]}}')
    for record in records:
        missing = [k for k in ("id", "service", "version", "time") if not record.get(k)]
        if missing:
            raise DeployError(f"{where}: a record lacks {', '.join(missing)}")
    return records


@contextlib.contextmanager
def _locked(state: Path) -> Iterator[None]:
    """An exclusive lock (a `.lock` file next to `state`) across threads and processes."""
    state.parent.mkdir(parents=True, exist_ok=True)
    with open(state.with_name(state.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _current_ids(records: list[Record]) -> set[str]:
    newest: dict[str, str] = {}
    for record in records:
        newest[str(record["service"])] = str(record["id"])
    return set(newest.values())


def _summary(record: Record, current: set[str]) -> Record:
    keys = ("id", "kind", "service", "version", "time", "summary", "rolled_back", "reason")
    shown = {k: record[k] for k in keys if k in record}
    shown.setdefault("kind", "deploy")
    shown["current"] = record["id"] in current
    return shown


def list_deploys(state: Path, service: str = "", limit: int = 10) -> list[Record]:
    """The newest `limit` records (of `service`, or all), newest first, each marked current
    or not. Raises `DeployError` for a limit below 1 or an unknown service."""
    if limit < 1:
        raise DeployError(f"limit must be at least 1 (got {limit})")
    records = read_records(state)
    services = sorted({str(r["service"]) for r in records})
    if service and service not in services:
        raise DeployError(f"no service {service!r} (services: {', '.join(services)})")
    current = _current_ids(records)
    chosen = [r for r in records if not service or r["service"] == service]
    return [_summary(r, current) for r in reversed(chosen)][:limit]


def get_deploy(state: Path, deploy_id: str) -> Record:
    """One record in full (its config diff and code changes), with the version it replaced
    and whether it is current. Raises `DeployError` for an unknown id."""
    records = read_records(state)
    for index, record in enumerate(records):
        if record["id"] == deploy_id:
            before = [r for r in records[:index] if r["service"] == record["service"]]
            return {
                **_summary(record, _current_ids(records)),
                "previous_version": before[-1]["version"] if before else None,
                "changes": record.get("changes") or {},
            }
    known = ", ".join(str(r["id"]) for r in records[-5:])
    raise DeployError(f"no deploy {deploy_id!r} (newest ids: {known})")


def rollback_deploy(state: Path, deploy_id: str, reason: str) -> Record:
    """Roll `deploy_id`'s service back to the version before it: append a rollback record
    (UTC timestamp) that makes that version current; the record.

    Raises `DeployError` when the id is unknown, is not its service's current deploy, or
    nothing ran before it."""
    if not reason.strip():
        raise DeployError("give a reason for the rollback (it is kept in the deploy history)")
    with _locked(state):
        records = read_records(state)
        index = next((i for i, r in enumerate(records) if r["id"] == deploy_id), None)
        if index is None:
            raise DeployError(f"no deploy {deploy_id!r}; list_deploys shows the ids")
        target = records[index]
        service = str(target["service"])
        if target.get("kind", "deploy") != "deploy":
            raise DeployError(f"{deploy_id} is a rollback record, not a deploy")
        newest = [r for r in records if r["service"] == service][-1]
        if newest["id"] != deploy_id:
            raise DeployError(
                f"{deploy_id} ({service} {target['version']}) is not current: {service} runs "
                f"{newest['version']} ({newest['id']}); only the current deploy can be rolled back"
            )
        before = [r for r in records[:index] if r["service"] == service]
        if not before:
            raise DeployError(f"{deploy_id} is {service}'s first deploy: nothing to roll back to")
        count = sum(1 for r in records if r.get("kind") == "rollback")
        record: Record = {
            "id": f"rb-{count + 1}", "kind": "rollback", "service": service,
            "version": before[-1]["version"], "from_version": target["version"],
            "rolled_back": deploy_id, "reason": reason.strip(),
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }  # fmt: skip
        write_records(state, [*records, record])
    return record
