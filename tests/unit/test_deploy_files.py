"""The Dockerfile, docker-compose.yml and the collector config, checked without a Docker engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_the_image_is_multi_stage_pinned_and_runs_as_a_user() -> None:
    steps = dockerfile()
    args = dict(a.split("=", 1) for i, a in steps if i == "ARG" and "=" in a)
    bases = [a.split()[0].replace("${PYTHON_IMAGE}", args["PYTHON_IMAGE"]) for i, a in steps
             if i == "FROM"]  # fmt: skip
    assert len(bases) >= 2, "a build stage and a runtime stage"
    for base in bases:
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?", base), base
    instructions = [i for i, _ in steps]
    last_from = len(instructions) - 1 - instructions[::-1].index("FROM")
    runtime = steps[last_from:]
    users = [a for i, a in runtime if i == "USER"]
    assert users, "the runtime names its user"
    assert users[-1] not in ("root", "0"), "the runtime runs as a non-root user"
    assert any(i == "HEALTHCHECK" and "bot.health" in a for i, a in runtime)
    assert ("ENTRYPOINT", '["opsbot"]') in runtime
    assert ("CMD", '["serve"]') in runtime


def test_apt_is_lean_and_every_copied_path_exists() -> None:
    for instruction, arguments in dockerfile():
        if instruction == "RUN" and "apt-get install" in arguments:
            assert "--no-install-recommends" in arguments
            assert "rm -rf /var/lib/apt/lists/*" in arguments
        if instruction == "COPY" and "--from=" not in arguments:
            *sources, _ = arguments.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such path"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored
    assert ".git" in ignored


def test_compose_runs_the_bot_on_postgres_with_an_otel_profile() -> None:
    services = compose()["services"]
    bot, postgres = services["opsbot"], services["postgres"]
    assert bot["build"] == "."
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert bot["environment"]["OPSBOT_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in bot["environment"]["OPSBOT_DATABASE_URL"]
    assert bot["environment"]["OPSBOT_EXECUTOR_ID"], "a stable executor id"
    for secret in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "ANTHROPIC_API_KEY"):
        assert re.fullmatch(r"\$\{" + secret + r":\?.+\}", bot["environment"][secret]), secret
    for name in ("otel-collector", "jaeger"):
        assert services[name]["profiles"] == ["otel"]
    images = [service["image"] for service in services.values() if "image" in service]
    for image in images:
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), image
        assert not image.endswith(":latest"), image


def test_the_collector_sends_traces_to_jaeger() -> None:
    services = compose()["services"]
    mount = services["otel-collector"]["volumes"][0].split(":")[0]
    config = yaml.safe_load((ROOT / mount).read_text())
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    exporter = config["exporters"][pipeline["exporters"][0]]
    assert exporter["endpoint"].split(":")[0] in services


def test_image_and_compose_require_the_kernel_sandbox() -> None:
    env = " ".join(a for i, a in dockerfile() if i == "ENV")
    assert "OPSBOT_SANDBOX=required" in env
    service = compose()["services"]["opsbot"]["environment"]
    assert service["OPSBOT_SANDBOX"] == "${OPSBOT_SANDBOX:-required}"
    assert compose()["services"]["opsbot"]["pids_limit"] <= 1024
