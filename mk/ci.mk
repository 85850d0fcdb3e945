# CI (.ci/run): set everything up first, downloads side by side, then run the suites in lanes.
.PHONY: ci-setup ci-lane-older ci-lane-package

# apt-get takes a lock: Chromium, Node (if missing), PostgreSQL and Redis one after the other; the virtualenvs side
# by side.
ci-setup:
	$(MAKE) $(CHROMIUM)
	$(MAKE) $(NODE_CLIENT)
	$(MAKE) stack-services
	$(MAKE) -j4 $(VENV)/.installed $(VENV2)/.installed $(VENV_SDK_OLDEST)/.installed $(MATRIX_INSTALLED)
	$(MAKE) $(DOCS_INSTALLED)

# Beside `make test` (Airflow 3.3, the end-to-end stack, the browser): Airflow 2.11 and the oldest SDK ...
ci-lane-older: test-airflow2 test-sdk-oldest

# ... and the other Airflow minors and the built wheel (.ci/run runs each lane's rows side by side: make -j).
ci-lane-package: test-airflow-matrix test-wheel
