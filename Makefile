# Every target sets up what it needs from the repo alone: a fresh clone runs `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# pytest's worker processes for `make unit`/`make test` (pytest-xdist; a file's tests stay in one
# worker): two, one per core of the machines CI runs on. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2

.PHONY: demo test lint typecheck layers unit static notebook notebooks docs bench bench-peers clean

# uv, where the machine has it, installs the same versions from the same package index several
# times faster (it downloads in parallel); pip (25.1 or newer, for --group) otherwise. uv is told
# to compile bytecode as pip does: with PYTHONDONTWRITEBYTECODE set, as on these machines, no
# process would write it later, and every test subprocess would recompile pandas on import.
UV := $(shell command -v uv 2>/dev/null)
INSTALL := $(if $(UV),$(UV) pip install --compile-bytecode --python $(BIN)/python,$(BIN)/python -m pip install)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(if $(UV),,$(INSTALL) --quiet --upgrade "pip>=25.1")
	$(INSTALL) --quiet -e . --group dev
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m intacct_sync.cli demo

# JupyterLab and what the notebooks need, installed into the project's own environment, then
# the notebooks opened (they run against the embedded sandbox: no credentials needed).
notebook: $(STAMP)
	$(INSTALL) --quiet -e ".[jupyter]"
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
	scripts/pg_test_server.sh $(BIN)/pytest -n $(PYTEST_WORKERS) --cov --cov-report=term

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# The single-threaded checks two at a time (mypy beside Sphinx), each one's output kept together,
# then pytest, which uses both cores itself. A failure stops `make test` either way.
static: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck layers docs

test: static
	$(MAKE) --no-print-directory unit

bench: $(STAMP)
	$(INSTALL) --quiet --group bench
	$(BIN)/python -m benchmarks

bench-peers: $(STAMP)
	$(INSTALL) --quiet --group bench
	$(BIN)/python -m benchmarks --peers

clean:
	rm -rf $(VENV) docs/_build .mypy_cache .ruff_cache
