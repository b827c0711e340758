#!/usr/bin/env bash
# make prod serves through Debian's nginx package; install it when missing (as root or via sudo).
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "nginx is missing: run 'apt-get install nginx-light' (or nginx) as root" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends: no default site started by the package's own service on port 80.
$SUDO apt-get install -y -qq --no-install-recommends nginx >/dev/null
# The package may start its own daemon on :80 where a service manager runs; make prod does not use it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
echo "installed $(/usr/sbin/nginx -v 2>&1)"
