#!/usr/bin/env bash
# Make sure Debian's Chromium is on the machine (/usr/bin/chromium): the browser tests
# (tests/server/web/) drive it with Playwright's executable_path, since Playwright's own
# browser download is not reachable. Installs it with apt-get when missing and run as root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: /usr/bin/chromium is missing; install it: sudo apt-get install chromium" >&2
    exit 2
fi
echo "installing Debian's chromium ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
