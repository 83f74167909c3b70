#!/usr/bin/env bash
# The README's quick start: installs what is needed (Debian packages, npm packages), builds,
# and runs the demo node. As root on Debian 12. Usage: bash scripts/quickstart.sh [dataDir]
# (default: ./data in the checkout). Running it again reuses the data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-debian-packages.sh --quick
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -b
exec node examples/quickstart/dist/src/demo.js "$@"
