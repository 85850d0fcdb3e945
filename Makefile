# Two commands for a fresh machine: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export ALIBABA_CLOUD_ECS_METADATA_DISABLED := true
unexport HTTP_PROXY HTTPS_PROXY http_proxy https_proxy

VENV2 ?= .venv-airflow2
AIRFLOW2 ?= apache-airflow==2.11.*

.PHONY: install lint test test-airflow2 demo emulator bench clean

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade uv
	$(VENV)/bin/uv pip install -q --python $(PY) -e ".[dev]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

# Everything: unit, emulator, dag.test(), the real Airflow 3 stack end to end, the UI in Chromium.
test: lint $(CHROMIUM)
	$(PY) -m pytest -q -p no:cacheprovider tests

$(VENV2)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV2)
	$(VENV2)/bin/pip install -q --upgrade uv
	$(VENV2)/bin/uv pip install -q --python $(VENV2)/bin/python "$(AIRFLOW2)" -e ".[dev]"
	touch $@

# Unit, emulator and dag.test() suites (examples included) on Airflow 2.11, in their own virtualenv.
# (The end-to-end stack and browser modules are Airflow 3's: api-server, dag-processor, React UI.)
test-airflow2: $(VENV2)/.installed
	$(VENV2)/bin/python -m pytest -q -p no:cacheprovider tests \
		--ignore=tests/test_e2e_stack.py --ignore=tests/test_e2e_browser.py

demo: install
	$(PY) -m devtools.demo

# Parse cost, API calls per run, triggerer density, per-call overhead: figures and ratios (see RESULTS.md).
bench: install
	$(VENV)/bin/uv pip install -q --python $(PY) -e ".[dev,bench]"
	$(PY) -m benchmarks

emulator: install
	$(VENV)/bin/dataworks-emulator --port 8765

clean:
	rm -rf $(VENV) $(VENV2) .pytest_cache .mypy_cache .ruff_cache *.egg-info
