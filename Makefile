# Two commands set up everything on a fresh machine with Python 3.10+:
#   make demo   # creates .venv, installs gantool, runs the pipeline on scikit-learn's digits
#   make test   # creates .venv, installs gantool + test deps, runs the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.gantool-installed

.PHONY: install demo test bench clean help

help:
	@echo "make demo | make test | make bench | make clean"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/digits.sh

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/prep_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
