# Two commands for a fresh machine: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export ALIBABA_CLOUD_ECS_METADATA_DISABLED := true
unexport HTTP_PROXY HTTPS_PROXY http_proxy https_proxy
# Bytecode: the suite starts thousands of Python processes (Airflow's components and task runners, CLI calls,
# dag.test() subprocesses). uv installs no .pyc files, and a machine that sets PYTHONDONTWRITEBYTECODE writes none at
# import either: each process would compile every module it imports again (the SDK: 1.3 s instead of 0.45 s). So
# the virtualenvs are compiled at install (--compile-bytecode) and Python caches the checkout's own modules.
unexport PYTHONDONTWRITEBYTECODE
UV_INSTALL := uv pip install -q --compile-bytecode

VENV2 ?= .venv-airflow2

# The oldest DataWorks SDK the package accepts (pyproject.toml's floor): the SDK-facing suites run on it too.
VENV_SDK_OLDEST ?= .venv-sdk-oldest
SDK_OLDEST ?= alibabacloud_dataworks_public20240518==7.2.0

.PHONY: install lint check test test-airflow2 test-sdk-oldest demo emulator bench clean stack-services

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Alibaba's Node.js OpenAPI transport for tests/system/test_emulator_node.py (it sends chunked bodies); Node from apt
# when missing, the package from the npm registry into tests/node/node_modules (git-ignored).
NODE_CLIENT := tests/node/node_modules/.installed
$(NODE_CLIENT): tests/node/package.json tests/node/package-lock.json
	command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Airflow and its pins from constraints/airflow.ini (mk/matrix.mk): 3.3 here, 2.11 in $(VENV2).
$(VENV)/.installed: pyproject.toml constraints/airflow.ini
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade uv
	pins="$$($(AIRFLOW_PINS) 3.3)" && $(VENV)/bin/$(UV_INSTALL) --python $(PY) $$pins -e ".[dev,stack]"
	touch $@

install: $(VENV)/.installed

# PostgreSQL and Redis for the production-shaped stack (`make demo STACK=celery`, tests/system/celery/test_e2e_celery.py): Debian's
# packages, installed when missing; devtools/services.py runs them as its own processes (no system service).
stack-services:
	@{ ls /usr/lib/postgresql/*/bin/initdb && command -v redis-server; } >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql redis-server >/dev/null; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

# The tiers (tests/<tier>/; each test carries its tier's marker, so `pytest -m unit` works too):
#   unit         pure logic: the domain, the call sequences on a fake hook, the layers (no server, no database)
#   emulator     the emulator over loopback HTTP through the official SDK (no Airflow)
#   integration  hook, trigger, operator and sensor through the SDK against the emulator, and dag.test()
#   reliability  the fault matrix, exactly once, the daily quota and QPS limits, secrets, bad input
#   system       real Airflow 3 stacks, the browser, Node, the wheel, the README as a user runs it
# `make check` on every change; `make test` (what CI runs) before a merge; `make test-<tier>` for one tier.
PYTEST := $(PY) -m pytest -q -p no:cacheprovider
TIERS := unit emulator integration reliability system
# `make test` runs three pytest sessions side by side, the two beside printing their output when the first ends: the
# unit, emulator and integration tiers; the reliability tier and the system tier on SQLite stacks (with the browser,
# Node, the wheel and the site); and the production-shaped stack's modules (tests/system/celery: PostgreSQL, Redis, CeleryExecutor, two
# workers, two triggerers), much of whose time is waiting on heartbeats, poll cycles and a takeover.
CELERY_SYSTEM := tests/system/celery
# The exactly-once driver's 210 seeded sequences (~5 s each), a third per CI row on Airflow 3.3: here 70-139, the
# oldest SDK 140-209; Airflow 2.11 runs 0-69. `make test EXACTLY_ONCE_FIRST=0 EXACTLY_ONCE_SEQUENCES=210` runs all.
EXACTLY_ONCE_FIRST ?= 70
EXACTLY_ONCE_SEQUENCES ?= 70
export EXACTLY_ONCE_FIRST EXACTLY_ONCE_SEQUENCES

.PHONY: check $(addprefix test-,$(TIERS))

# Lint, format, types and the unit tier: about a minute with the virtualenv present.
check: lint
	$(PYTEST) tests/unit

# Every tier on Airflow 3.3.
test: lint docs lint-workflows $(CHROMIUM) $(NODE_CLIENT) stack-services
	@stacks=$$(mktemp); celery=$$(mktemp); status=0; \
	$(PYTEST) tests/reliability tests/system --ignore=$(CELERY_SYSTEM) >$$stacks 2>&1 & stacks_pid=$$!; \
	$(PYTEST) $(CELERY_SYSTEM) >$$celery 2>&1 & celery_pid=$$!; \
	$(PYTEST) tests/unit tests/emulator tests/integration || status=$$?; \
	wait $$stacks_pid || status=$$?; echo "==== tests/reliability, tests/system on SQLite (run beside) ===="; cat $$stacks; \
	wait $$celery_pid || status=$$?; echo "==== $(CELERY_SYSTEM) (PostgreSQL, Redis, CeleryExecutor; beside) ===="; \
	cat $$celery; rm -f $$stacks $$celery; exit $$status

$(addprefix test-,$(TIERS)): test-%: install
	$(PYTEST) tests/$*
test-system: $(CHROMIUM) $(NODE_CLIENT) stack-services

$(VENV2)/.installed: pyproject.toml constraints/airflow.ini
	$(PYTHON) -m venv $(VENV2)
	$(VENV2)/bin/pip install -q --upgrade uv
	pins="$$($(AIRFLOW_PINS) 2.11)" && $(VENV2)/bin/$(UV_INSTALL) --python $(VENV2)/bin/python $$pins -e ".[dev]"
	touch $@

# What depends on Airflow on 2.11, in its own virtualenv: the unit, integration and reliability tiers (the emulator
# tier has no Airflow in it; the system tier is Airflow 3's: api-server, dag-processor, React UI). The exactly-once
# driver runs sequences 0-69 here.
test-airflow2: $(VENV2)/.installed
	EXACTLY_ONCE_FIRST=0 $(VENV2)/bin/python -m pytest -q -p no:cacheprovider tests/unit tests/integration tests/reliability

$(VENV_SDK_OLDEST)/.installed: pyproject.toml constraints/airflow.ini
	$(PYTHON) -m venv $(VENV_SDK_OLDEST)
	$(VENV_SDK_OLDEST)/bin/pip install -q --upgrade uv
	pins="$$($(AIRFLOW_PINS) 3.3)" && \
		$(VENV_SDK_OLDEST)/bin/$(UV_INSTALL) --python $(VENV_SDK_OLDEST)/bin/python $$pins "$(SDK_OLDEST)" -e ".[dev]"
	touch $@

# What depends on the SDK's version (marker oldest_sdk: the hook, the emulator through the SDK, operators and
# sensors through dag.test() with the 24-hour re-send, the fault matrix, the exactly-once driver on sequences
# 140-209) on the oldest accepted SDK.
test-sdk-oldest: $(VENV_SDK_OLDEST)/.installed
	EXACTLY_ONCE_FIRST=140 $(VENV_SDK_OLDEST)/bin/python -m pytest -q -p no:cacheprovider tests --ignore=tests/system -m oldest_sdk

# STACK=local (SQLite, LocalExecutor: Airflow's embedded default) or STACK=celery (PostgreSQL, Redis, CeleryExecutor,
# two workers, two triggerers: the production shape).
STACK ?= local
demo: install $(if $(filter celery,$(STACK)),stack-services)
	$(PY) -m devtools.demo --stack $(STACK)

# Parse cost, API calls per run, triggerer density, per-call overhead, load on one account (a 300-run backfill on
# the Celery stack: PostgreSQL and Redis): figures and ratios (see RESULTS.md).
bench: install stack-services
	$(VENV)/bin/$(UV_INSTALL) --python $(PY) -e ".[dev,bench]"
	$(PY) -m benchmarks

emulator: install
	$(VENV)/bin/dataworks-emulator --port 8765

clean:
	rm -rf $(VENV) $(VENV2) $(VENV_SDK_OLDEST) tests/node/node_modules .pytest_cache .mypy_cache .ruff_cache *.egg-info $(SITE)
	rm -rf $(VENV_WHEEL) $(DIST) build
	rm -rf $(MATRIX_INSTALLED:/.installed=)

include mk/matrix.mk
include mk/wheel.mk
include mk/ci.mk
include mk/docs.mk
