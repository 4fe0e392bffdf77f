# The two commands of the README: `make demo` and `make test`. Everything else serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench system-demo system-test clean

demo: system-demo $(STAMP)
	$(BIN)/station demo

test: system-test $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q --durations=15 -n auto --dist loadfile

bench: system-test $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

system-demo:
	@scripts/setup-system.sh demo

system-test:
	@scripts/setup-system.sh test

$(STAMP): pyproject.toml setup.py station/checks/_splitjpeg.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
