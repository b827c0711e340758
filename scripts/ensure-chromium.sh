#!/usr/bin/env bash
# Browser tests drive Debian's chromium (Playwright cannot download its own browsers here).
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "noto.*cjk"; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "chromium is missing: run 'apt-get install chromium fonts-noto-cjk' as root" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
echo "installed $(/usr/bin/chromium --version 2>/dev/null)"
