#!/bin/sh
# Download the source archives whose test data hold redocking complexes (6WQA, 4CUP: biopython; 4JSV: pdbfixer).
# Run from the repo root (PYTHON overrides the interpreter). Nothing is unpacked or committed: complexes.py reads the files from the archives.
set -e
dir="${REMYFOLD_REDOCK_SDISTS:-$HOME/.cache/remyfold/redock-sdists}"
mkdir -p "$dir"
"${PYTHON:-.venv/bin/python}" -m pip download --no-deps --no-binary :all: --no-build-isolation -d "$dir" biopython==1.88 pdbfixer==1.12.0
