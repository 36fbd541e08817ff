# The two commands of README.md. Each makes its own virtualenv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test test-fast venv lint clean-data manage

# Installs again whenever a requirements file changed.
$(VENV)/.installed-%: requirements/*.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/$*.txt -c requirements/constraints.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

## make run: the whole platform on this machine (data in .relay/, Ctrl-C stops it).
run: $(VENV)/.installed-test
	$(PY) -m relay.embedded.run

## make test: the test suite against real servers it starts in throwaway folders.
test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

## make test-fast: the suite without the real worker and without training (about a minute).
test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -m "not worker and not slow" $(PYTEST_ARGS)

venv: $(VENV)/.installed-test

clean-data:
	rm -rf .relay

## make lint: ruff (style, imports, likely bugs) and the import contract (tests/import_contract.py).
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m tests.import_contract

## make manage ARGS="create_tenant acme": a manage.py command against the stack of make run.
manage: $(VENV)/.installed-test
	@test -f .relay/env || { echo "No .relay/env: start the stack with make run first."; exit 1; }
	@set -a; . ./.relay/env; set +a; $(PY) manage.py $(ARGS)
