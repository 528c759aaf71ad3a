# posekit: `make test` and `make demo` work on a fresh machine; both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,video,export,synth,demo

.PHONY: test demo lint typecheck install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch: the CPU build (`pip install torch==2.13.0` finds a local CPU wheel here) unless a torch
# is already importable. GPU users: install your CUDA torch into .venv first (see README).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e ".[$(EXTRAS)]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check posekit tests benchmarks
	$(BIN)/ruff format --check posekit tests benchmarks

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/pytest -q

demo: install
	$(BIN)/posekit demo --out runs/demo

clean:
	rm -rf $(VENV) runs .mypy_cache .ruff_cache .pytest_cache
