#!/usr/bin/env bash
# Install the 3Dmol.js viewer that `remyfold report` inlines into its HTML page, and the
# Swagger UI that `remyfold serve` shows at /docs (served from the package, no CDN).
#
# Runs `npm ci` at the repository root (the versions are pinned in package.json and
# package-lock.json), then copies the minified browser builds and their licences into
# src/remyfold/report/assets/ and src/remyfold/serve/static/vendor/ (git-ignored; shipped
# as package data in a wheel).
# Needs node + npm. Safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
assets="$root/src/remyfold/report/assets"
build="$root/node_modules/3dmol/build"
swagger="$root/node_modules/swagger-ui-dist"
vendor="$root/src/remyfold/serve/static/vendor"

if ! command -v npm >/dev/null 2>&1; then
    echo "install_viewer.sh: error: npm not found; install Node.js (e.g. apt-get install -y nodejs npm) and run again" >&2
    exit 1
fi

cd "$root"
npm ci --ignore-scripts --no-audit --no-fund

mkdir -p "$assets"
for f in "$build/3Dmol-min.js" "$root/node_modules/3dmol/LICENSE" "$swagger/swagger-ui-bundle.js" "$swagger/swagger-ui.css"; do
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

mkdir -p "$vendor"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE; do
    cp "$swagger/$f" "$vendor/$f"
done
node -p "require('$swagger/package.json').version" > "$vendor/swagger-ui-VERSION.txt"
echo "install_viewer.sh: Swagger UI $(cat "$vendor/swagger-ui-VERSION.txt") installed in $vendor"
