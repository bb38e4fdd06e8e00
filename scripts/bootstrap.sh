#!/usr/bin/env bash
# Create .venv and install pmpath with its development tools at the tested versions of
# requirements.lock (pip constraints; scripts/lock.sh regenerates it); reinstall only when
# pyproject.toml or the lock changed since the last install (so a second run does nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: pmpath needs Python >= 3.11 ($python is $("$python" --version 2>&1))" >&2
    exit 2
fi
stamp=.venv/.pmpath-installed
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -c requirements.lock -e '.[dev]'
    touch "$stamp"
fi
