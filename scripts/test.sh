#!/usr/bin/env bash
# The test command (README's second command, and what .ci/run calls): installs what the tests
# need (Debian packages, npm ci), builds with tsc -b, prepares the cached test guest and
# container template, runs every test and ends with `N passed, N failed[, N skipped]`.
# Extra arguments go to ava (e.g. a file glob). As root, on Debian 12.
# Real-component tests are required when CI=true or CORRAL_REQUIRE_REAL=1 (a missing
# component fails); elsewhere they are a clear skip.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-debian-packages.sh
npm ci --no-audit --no-fund
npx tsc -b
scripts/prepare-test-env.sh
npm test --silent -- "$@"
