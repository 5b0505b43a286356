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

# two workers, whole files each (a module's fixtures are built once), longest files first
# (tests/conftest.py LONGEST_FIRST; xdist would reorder them by test count); plain `pytest` stays serial
test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

# PyTorch only for the comparison in bench/train_bench.py; never a gantool dependency
TORCH_VENV := bench/.torch-venv
$(TORCH_VENV)/.ok:
	test -x $(TORCH_VENV)/bin/python || $(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet torch==2.13.0 numpy
	touch $@

bench: install $(TORCH_VENV)/.ok
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(TORCH_VENV) build *.egg-info .pytest_cache
