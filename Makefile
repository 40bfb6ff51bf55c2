# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU build of torch by default (no multi-GB CUDA download). For a GPU build, e.g.:
#   make demo TORCH_SPEC="torch==2.13.0" TORCH_INDEX=<PyTorch's CUDA or ROCm wheel index URL>
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: demo warm test test-fast docker-test lint ui bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs are stamped so a second `make` is quick; pyproject.toml changes re-run them.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/seedsieve warm --generator java_lcg --draw mod:1000
	$(BIN)/python -m prng_assets.demo

# Kernels are compiled once per machine into the user's cache folder (SEEDSIEVE_KERNEL_CACHE
# overrides it), a pair per process on every core; later processes load them. Without
# arguments: the demo's pair and the README examples' pairs.
warm: $(VENV)/.installed
	$(BIN)/seedsieve warm

# Every test has a time limit (pytest-timeout, set in pyproject.toml); the 25 slowest are listed.
# The pairs the suite scans are warmed first, on every core, so no test compiles them.
test: $(VENV)/.installed-dev $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/ruff check .
	$(BIN)/seedsieve warm --pairs-file tests/kernel_pairs.txt
	$(BIN)/python -m pytest -q --durations=25

# The edit loop: everything not marked slow (the whole-graph, Postgres, browser and 50 MB tests).
# No warm step: an edit to the engine starts a new kernel cache, and the tests compile only what
# they use.
test-fast: $(VENV)/.installed-dev $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pytest -q -m "not slow" --durations=10

# Docker for real (scripts/docker_test.sh): builds the images, then a case through the run
# launcher, the docker executor and the daemon, with containers killed. Root starts dockerd.
docker-test: $(VENV)/.installed-dev
	PYTHON=$(BIN)/python scripts/docker_test.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ui: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/sieve_bench.py

clean:
	rm -rf $(VENV) $(DAGSTER_HOME) artefacts data/demo
