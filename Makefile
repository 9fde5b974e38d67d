# Every target sets up what it needs from the repo alone: a fresh clone runs `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck layers unit notebook notebooks docs bench bench-peers clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m intacct_sync.cli demo

# JupyterLab and what the notebooks need, installed into the project's own environment, then
# the notebooks opened (they run against the embedded sandbox: no credentials needed).
notebook: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[jupyter]"
	$(BIN)/jupyter lab notebooks/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

# A throwaway PostgreSQL on loopback for the PostgreSQL state store's tests (never a mock).
unit: $(STAMP)
	scripts/pg_test_server.sh $(BIN)/pytest --cov --cov-report=term

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

test: lint typecheck layers unit docs

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --group bench
	$(BIN)/python -m benchmarks

bench-peers: $(STAMP)
	$(BIN)/python -m pip install --quiet --group bench
	$(BIN)/python -m benchmarks --peers

clean:
	rm -rf $(VENV) docs/_build .mypy_cache .ruff_cache
