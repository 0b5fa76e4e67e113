#!/usr/bin/env bash
# Debian packages for the browser tests (chromium). Needs root; otherwise says what is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
else
  echo "warning: /usr/bin/chromium is missing; install Debian's 'chromium' package for the browser tests" >&2
fi
