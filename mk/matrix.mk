# The Airflow version matrix: the minors between 2.11 (`make test-airflow2`) and 3.3 (`make test`), run in full.
# `make test-airflow-3.0` (3.1, 3.2) creates .venv-airflow-3.0 with that row of constraints/airflow.ini (the Airflow
# release and its pins) and runs the tests marked every_airflow; `make test-airflow-matrix` runs the three, and with
# -j side by side (own virtualenv, own temporary AIRFLOW_HOME and SQLite file, emulators on free ports).
AIRFLOW_PINS_FILE := constraints/airflow.ini
AIRFLOW_PINS := $(PYTHON) devtools/airflow_pins.py
MATRIX_MINORS := 3.0 3.1 3.2
MATRIX_INSTALLED := $(foreach minor,$(MATRIX_MINORS),.venv-airflow-$(minor)/.installed)
MATRIX_TESTS := $(foreach minor,$(MATRIX_MINORS),test-airflow-$(minor))

# What depends on Airflow's version (marker every_airflow), 5-10 min a row: the time arithmetic, what a parse loads,
# the hook (provider discovery; connections from a variable, the metadata database and a secrets backend, in the
# worker and deferred), the trigger (serialisation, shared polling), dag.test() of the operator, the sensor, the
# examples and the extra link, a task's error as Airflow prints it, the asset watcher. Left to the full rows
# (`make test`, `make test-airflow2`): the rest, the provider's own logic among it (which instance a run names).

.PHONY: test-airflow-matrix $(MATRIX_TESTS)

$(MATRIX_INSTALLED): .venv-airflow-%/.installed: pyproject.toml $(AIRFLOW_PINS_FILE)
	$(PYTHON) -m venv $(@D)
	$(@D)/bin/pip install -q --upgrade uv
	pins="$$($(AIRFLOW_PINS) $*)" && $(@D)/bin/$(UV_INSTALL) --python $(@D)/bin/python $$pins -e ".[dev]"
	touch $@

$(MATRIX_TESTS): test-airflow-%: .venv-airflow-%/.installed
	.venv-airflow-$*/bin/python -m pytest -q -p no:cacheprovider tests --ignore=tests/system -m every_airflow

test-airflow-matrix: $(MATRIX_TESTS)
