# `make run` and `make test` set everything up themselves, from nothing, every time it is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Test processes (pytest-xdist): most tests wait on sockets, databases and subprocesses, so more than the cores.
TEST_WORKERS ?= 4
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

.PHONY: install run test lint typecheck unit migrate bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,embeddings]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/plaint db migrate

run: migrate
	$(BIN)/plaint serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS)

bench: install
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/nlp.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
