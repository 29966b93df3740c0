# opsbot: a small production image. Build: docker build -t opsbot .
# Run (Socket Mode): docker run --env-file .env -v opsbot-data:/data opsbot
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# -- build: install opsbot and its dependencies into a virtualenv --------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/opsbot
COPY pyproject.toml README.md ./
COPY core ./core
COPY tools ./tools
COPY agents ./agents
COPY bot ./bot
COPY sandbox ./sandbox
RUN /opt/opsbot/bin/pip install . \
    && /opt/opsbot/bin/opsbot --help >/dev/null

# -- runtime: the virtualenv, git (the agents read history), a non-root user ----------------
# Unapproved commands run under Landlock + seccomp (docs/safety.md): no capability or
# privileged mode is needed; Docker 23+ / Podman 4+ allow the landlock_* system calls.
# OPSBOT_SANDBOX=required refuses to start on a kernel without Landlock; /healthz shows it.
FROM ${PYTHON_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin opsbot \
    && mkdir -p /data /workspace \
    && chown opsbot:opsbot /data /workspace
COPY --from=build /opt/opsbot /opt/opsbot
ENV PATH=/opt/opsbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OPSBOT_DATABASE_URL=sqlite:////data/opsbot.sqlite \
    OPSBOT_WORKSPACE=/workspace \
    OPSBOT_HEALTH_PORT=8080 \
    OPSBOT_SANDBOX=required
USER opsbot
WORKDIR /workspace
VOLUME ["/data"]
EXPOSE 3000 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.health"]
ENTRYPOINT ["opsbot"]
CMD ["serve"]
