# remyfold set-up. Two commands do everything on a fresh machine:
#   make run    install, then fold examples/ (writes predictions/ and predictions/report.html)
#   make test   install with test extras, then run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Pinned so pip takes the CPU wheel where one is provided; on a GPU machine use e.g.
#   make run TORCH_SPEC="torch>=2.2"   (or preinstall the CUDA build you want)
TORCH_SPEC ?= torch==2.13.0
WEIGHTS ?= facebook/esmfold_v1
OUT ?= predictions

.PHONY: run test install install-test viewer

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python viewer
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e .

install-test: install
	$(BIN)/python -m pip install -q -e ".[test]"

viewer:
	bash scripts/install_viewer.sh

run: install
	$(BIN)/remyfold predict examples/remyelination_targets.fasta --out $(OUT) --weights $(WEIGHTS) --report

# The suite runs on every core (up to 4; pytest-xdist), one test file per worker at a time, so a file's
# module-scoped fixtures are built once.
test: install-test
	$(BIN)/python -m pytest -n logical --maxprocesses 4 --dist loadfile
