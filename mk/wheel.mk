# make test-wheel: the package as users get it. Builds the sdist and the wheel into dist/ (python -m build), checks
# their metadata (twine check --strict) and that the sdist leaves the tests out, installs the built wheel (not
# editable) with Airflow 3.3 (its row of constraints/airflow.ini) into a new .venv-wheel, and runs
# tests/system/test_wheel_smoke.py against it from a temporary directory: airflow providers list / get, the README
# walkthrough (dataworks-emulator from the wheel, airflow db migrate, airflow dags test of an example), airflow
# connections test.
VENV_WHEEL ?= .venv-wheel
AIRFLOW_WHEEL ?= 3.3
DIST ?= dist

.PHONY: test-wheel

test-wheel: install
	rm -rf $(DIST) $(VENV_WHEEL)
	$(PY) -m build -q --outdir $(DIST) .
	$(VENV)/bin/twine check --strict $(DIST)/*
	! tar tzf $(DIST)/*.tar.gz | grep -E '/tests/|/conftest.py$$'
	$(VENV)/bin/uv venv -q --python $(PY) $(VENV_WHEEL)
	pins="$$($(AIRFLOW_PINS) $(AIRFLOW_WHEEL))" && \
		$(VENV)/bin/$(UV_INSTALL) --python $(VENV_WHEEL)/bin/python $$pins $(DIST)/*.whl
	WHEEL_VENV=$(abspath $(VENV_WHEEL)) $(PY) -m pytest -q -p no:cacheprovider tests/system/test_wheel_smoke.py
