#!/usr/bin/env bash
# The whole test suite from a fresh machine: environment, PostgreSQL binaries, lint, types, tests.
# Extra arguments go to pytest (e.g. scripts/test.sh -k audit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure-postgres.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-cc.sh
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
.venv/bin/pytest "$@"
