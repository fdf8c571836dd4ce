# mmm-lab: `make run` builds .venv and runs the whole pipeline; `make test` runs the tests.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export DO_NOT_TRACK := 1
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db
PYTEST_ARGS ?=

.PHONY: run test bench install lock clean

install: $(VENV)/.installed

# .python-version says 3.12, so pyenv's python3 is 3.12; fail clearly if it is not.
$(VENV)/.installed: pyproject.toml constraints.txt
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is needed (pyenv install 3.12)")'
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

run: install
	@[ -d .dvc ] || dvc init --quiet
	dvc repro

# one pytest worker per core; the end-to-end tests share one reproduced pipeline, so they run on one worker
test: install
	$(BIN)/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m mmmlab.benchmarks

lock: install
	$(BIN)/python -m pip freeze --exclude-editable | sed '1i # Exact versions resolved for pyproject.toml ranges (pip install -c constraints.txt); refresh with `make lock`.' > constraints.txt

clean:
	rm -rf $(VENV) mlflow.db mlruns mlartifacts
