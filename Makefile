# Every target bootstraps .venv itself on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev demo test test-fast lint eval bench bench-smoke clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# other ports or folder: make dev DEV_ARGS='--slack-port 9765 --model-port 9766 --bot-port 9767'
DEV_ARGS ?=

dev: $(STAMP)  ## the local Slack page + scripted model + bot: open http://127.0.0.1:8765
	$(BIN)/opsbot dev $(DEV_ARGS)

demo: $(STAMP)  ## the bundled incident in the terminal, no page
	$(BIN)/opsbot ask --demo

# test files run in parallel workers (most tests wait on Slack's pacing, not the CPU); a file
# stays on one worker, and each worker has its own PostgreSQL database (tests/support.py);
# tests marked serial (they restart the PostgreSQL server) run alone afterwards
TEST_WORKERS ?= 4

test: $(STAMP)  ## the whole suite (PostgreSQL too when OPSBOT_TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=30 -m "not serial"
	$(BIN)/python -m pytest -m serial

test-fast: $(STAMP)  ## unit tests only
	$(BIN)/python -m pytest tests/unit

lint: $(STAMP)  ## ruff, mypy --strict, import layers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

eval: $(STAMP)  ## score the agents on evals/cases (offline); see docs/operating.md "Evaluating the agents"
	$(BIN)/opsbot eval

bench: $(STAMP)  ## all benchmarks, ~15 min (+PostgreSQL ~1 h); see BENCHMARKS.md
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

bench-smoke: $(STAMP)  ## a few seconds of every benchmark, so they never rot
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
