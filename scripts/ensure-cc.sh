#!/usr/bin/env bash
# Make sure a C compiler is on the machine: pmpath builds the off-target letter scan's native
# loop with it (src/pmpath/evidence/offtarget/native.py), and its tests compare that loop with
# numba's. pmpath works without one (numba's copy runs; those tests are skipped), so when cc is
# missing and this does not run as root it only says so. As root it installs Debian's gcc.
set -euo pipefail
if command -v "${CC:-cc}" >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "note: no C compiler (${CC:-cc}); the native off-target loop's tests will be skipped (sudo apt-get install gcc)" >&2
    exit 0
fi
echo "installing Debian's gcc ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null
