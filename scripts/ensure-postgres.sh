#!/usr/bin/env bash
# Make sure PostgreSQL server binaries are on the machine (Debian's postgresql package).
# The tests start their own throwaway server from them (tests/postgres.py); nothing is left running.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || command -v pg_ctl >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: PostgreSQL server binaries are missing; install them: sudo apt-get install postgresql" >&2
    exit 2
fi
echo "installing Debian's postgresql server binaries ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
