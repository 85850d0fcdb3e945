# Two commands for a fresh machine: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export ALIBABA_CLOUD_ECS_METADATA_DISABLED := true
unexport HTTP_PROXY HTTPS_PROXY http_proxy https_proxy

.PHONY: install lint test demo emulator clean

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

test: lint
	$(PY) -m pytest -q -p no:cacheprovider tests

demo: install
	$(PY) -m airflow_provider_dataworks.emulator.demo

emulator: install
	$(VENV)/bin/dataworks-emulator --port 8765

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
