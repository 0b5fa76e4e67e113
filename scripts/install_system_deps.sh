#!/usr/bin/env bash
# Debian packages the tests need: chromium (browser tests), docker-compose (validates docker-compose.yml) and
# npm with Node.js (tsc type-checks the dashboard's ES modules in `make lint`).
# Installed only when missing and when running as root; otherwise says what is missing.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "warning: missing Debian packages for the tests: ${need[*]} (install them as root)" >&2
fi
