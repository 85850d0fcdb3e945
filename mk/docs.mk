# make docs: the documentation site (mkdocs.yml, docs/; MkDocs Material, mkdocstrings, pymdown-extensions, and
# devtools/docs_hooks.py for the CLI's help) built with --strict (a warning fails it) into site/ (git-ignored), then
# every internal link and anchor of the built pages checked by devtools/check_site_links.py (external links are
# listed, not fetched). make lint-workflows: actionlint on .github/workflows/*.yml. Both install the docs extra into
# $(VENV) (Airflow 3.3's pins kept).
SITE ?= site
DOCS_INSTALLED := $(VENV)/.docs-installed

.PHONY: docs lint-workflows

$(DOCS_INSTALLED): pyproject.toml $(VENV)/.installed
	pins="$$($(AIRFLOW_PINS) 3.3)" && $(VENV)/bin/$(UV_INSTALL) --python $(PY) $$pins -e ".[dev,stack,docs]"
	touch $@

docs: $(DOCS_INSTALLED)
	rm -rf $(SITE)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir $(SITE)
	$(PY) -m devtools.check_site_links $(SITE)

lint-workflows: $(DOCS_INSTALLED)
	$(VENV)/bin/actionlint -no-color .github/workflows/*.yml && echo "actionlint: .github/workflows/*.yml, no problem found"
