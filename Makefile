# ActionHub: `make run` to start it, `make test` to run the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Two processes, each test file on one of them (module fixtures such as a live site are set up once).
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run sandbox test lint format bench install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e "./clients/python[mcp,langgraph,agents,test]"
	touch $(STAMP)

install: $(STAMP)

# Skills need the sandbox image: built once (as root, ~80 s; debootstrap installed if missing), a
# quick check afterwards. Without root or Docker it says what is missing and runs anyway.
run: $(STAMP)
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	@DJANGO_DEBUG=$${DJANGO_DEBUG:-1} PYTHON=$(BIN)/python bash skills/sandbox-setup.sh
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py serve $(SERVE_ARGS)

sandbox: $(STAMP)
	@DJANGO_DEBUG=$${DJANGO_DEBUG:-1} PYTHON=$(BIN)/python bash skills/sandbox-setup.sh

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	bash bench/run.sh
