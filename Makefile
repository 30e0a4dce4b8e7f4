# budget-assist: `make run` starts the service, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
ACTUAL_CACHE ?= $(HOME)/.cache/budget-assist/actual-server
AXE_CACHE ?= $(HOME)/.cache/budget-assist/axe
# pytest-xdist processes; each test module runs whole in one of them (its stack is started once)
TEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile
export ACTUAL_CACHE AXE_CACHE

.PHONY: run test venv test-deps migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(BIN)/python -m wiring.manage migrate

run: migrate
	@echo "budget-assist: open http://$${HOST:-127.0.0.1}:$(PORT)/ (Ctrl-C stops web and worker)"
	@echo "admin command: $(BIN)/budget-assist doctor | jobs list | budgets | workers | --help"
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start --port $(PORT)

test-deps: $(VENV)/.installed-test
	bash scripts/install-actual-server.sh "$(ACTUAL_CACHE)"
	bash scripts/install-test-packages.sh
	bash scripts/install-axe.sh "$(AXE_CACHE)"

test: test-deps
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q $(PYTEST_PARALLEL)
	@echo "--- the integration suite again on PostgreSQL + Redis (BA_TEST_BACKEND=scaleout; the Actual connector and the page do not depend on the backend)"
	PATH="$(abspath $(BIN)):$$PATH" BA_TEST_BACKEND=scaleout $(BIN)/python -m pytest -q $(PYTEST_PARALLEL) -m "not scaleout and not actual" tests/integration
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m bench --quick --json test-output/bench-quick.json

bench: $(VENV)/.installed-bench
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m bench

clean:
	rm -rf $(VENV) data test-output .pytest_cache
