#!/usr/bin/env bash
# Packs NVIDIA cuEquivariance (triangle kernels) for the device machine, which has no internet.
# Run here, in the repository root, once per session that has a GPU lent:
#
#   bench/gpu/h100_prepare.sh          → .cueq/site.tar.xz (~29 MB; the four wheels are 74 MB)
#
# then name `.cueq` in the device run's `carry`. The wheels are for that machine's Python 3.12 and
# CUDA 13 PyTorch (2.11+cu130, see /work/.library/device/KINDS.md); for CUDA 12 set CUDA=cu12.
# They are unpacked (a wheel is a zip) and recompressed with xz so that they fit the 64 MiB
# that may travel with a call. Nothing here is committed (.cueq/ is in .gitignore).
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION="${CUEQ_VERSION:-0.13.0}"
CUDA="${CUDA:-cu13}"
PY="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$work/wheels" \
    "cuequivariance==$VERSION" "cuequivariance-torch==$VERSION" \
    "cuequivariance-ops-$CUDA==$VERSION" "cuequivariance-ops-torch-$CUDA==$VERSION" \
    platformdirs  # required by cuequivariance-ops and absent from the device image
mkdir -p "$work/site" .cueq
for wheel in "$work"/wheels/*.whl; do
    "$PY" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$wheel" "$work/site"
done
tar -C "$work/site" -cf - . | xz -T0 -6 > .cueq/site.tar.xz
ls -l .cueq/site.tar.xz
