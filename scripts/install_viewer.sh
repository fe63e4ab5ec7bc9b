#!/usr/bin/env bash
# Install the 3Dmol.js viewer that `remyfold report` inlines into its HTML page.
#
# Runs `npm ci` at the repository root (the version is pinned in package.json and
# package-lock.json), then copies the minified browser build and its licence into
# src/remyfold/report/assets/ (git-ignored; shipped as package data in a wheel).
# Needs node + npm. Safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
assets="$root/src/remyfold/report/assets"
build="$root/node_modules/3dmol/build"

if ! command -v npm >/dev/null 2>&1; then
    echo "install_viewer.sh: error: npm not found; install Node.js (e.g. apt-get install -y nodejs npm) and run again" >&2
    exit 1
fi

cd "$root"
npm ci --ignore-scripts --no-audit --no-fund

mkdir -p "$assets"
for f in "$build/3Dmol-min.js" "$root/node_modules/3dmol/LICENSE"; do
    if [[ ! -f "$f" ]]; then
        echo "install_viewer.sh: error: $f missing after npm ci; check package.json pins 3dmol" >&2
        exit 1
    fi
done
version="$(node -p "require('$root/node_modules/3dmol/package.json').version")"
cp "$build/3Dmol-min.js" "$assets/3Dmol-min.js"
cp "$root/node_modules/3dmol/LICENSE" "$assets/3Dmol-LICENSE.txt"
printf '%s\n' "$version" > "$assets/3Dmol-VERSION.txt"
echo "install_viewer.sh: 3Dmol.js $version installed in $assets"
