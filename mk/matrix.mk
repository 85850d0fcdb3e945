# The Airflow version matrix: the minors between 2.11 (`make test-airflow2`) and 3.3 (`make test`), run in full.
# `make test-airflow-3.0` (3.1, 3.2) creates .venv-airflow-3.0 with that row of constraints/airflow.ini (the Airflow
# release and its pins) and runs MATRIX_SUITES; `make test-airflow-matrix` runs the three, and with -j side by side
# (own virtualenv, own temporary AIRFLOW_HOME and SQLite file, emulators on free ports).
AIRFLOW_PINS_FILE := constraints/airflow.ini
AIRFLOW_PINS := $(PYTHON) devtools/airflow_pins.py
MATRIX_MINORS := 3.0 3.1 3.2
MATRIX_INSTALLED := $(foreach minor,$(MATRIX_MINORS),.venv-airflow-$(minor)/.installed)
MATRIX_TESTS := $(foreach minor,$(MATRIX_MINORS),test-airflow-$(minor))

# What depends on Airflow's version, 4-5 min a row: the unit suites that touch it (timing, what a parse loads), the
# hook (provider discovery; connections from a variable, the metadata database and a secrets backend, in the worker
# and deferred), the trigger (serialisation, shared polling), dag.test() of the operator, the sensor, the examples and
# the extra link. Left to the full rows (`make test`, `make test-airflow2`): the end-to-end stack and the browser
# (tests/test_e2e_*), the emulator's own suites and the SDK's (no Airflow in them), Node, role credentials, the
# control plane, the exactly-once driver, the fault matrix, the property tests, bad input and the benchmark counts
# (the fault matrix and bad input also rewrite docs/).
MATRIX_SUITES := tests/test_timing.py tests/test_parse_imports.py tests/test_hook.py tests/test_connection_sources.py \
	tests/test_shared_polling.py tests/test_dags.py tests/test_links.py tests/test_instance_types.py \
	tests/test_asset_watcher.py

.PHONY: test-airflow-matrix $(MATRIX_TESTS)

$(MATRIX_INSTALLED): .venv-airflow-%/.installed: pyproject.toml $(AIRFLOW_PINS_FILE)
	$(PYTHON) -m venv $(@D)
	$(@D)/bin/pip install -q --upgrade uv
	pins="$$($(AIRFLOW_PINS) $*)" && $(@D)/bin/uv pip install -q --python $(@D)/bin/python $$pins -e ".[dev]"
	touch $@

$(MATRIX_TESTS): test-airflow-%: .venv-airflow-%/.installed
	.venv-airflow-$*/bin/python -m pytest -q -p no:cacheprovider $(MATRIX_SUITES)

test-airflow-matrix: $(MATRIX_TESTS)
