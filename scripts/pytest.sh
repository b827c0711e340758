#!/usr/bin/env bash
# Runs pytest and refuses an empty selection: pytest exits 5 when no test ran.
# Tests are spread over PYTEST_WORKERS processes (pytest-xdist; default: one per core, at most 4;
# 0 runs in-process). Each worker has its own test database.
set -uo pipefail
cd "$(dirname "$0")/.."
workers=${PYTEST_WORKERS:-$(python3 -c 'import os; print(min(4, os.cpu_count() or 1))')}
args=()
if [ "$workers" != "0" ] && [ "$workers" != "1" ]; then
  args=(-n "$workers" --dist loadfile)
fi
.venv/bin/python -m pytest "${args[@]}" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as a failure" >&2
  exit 1
fi
exit "$rc"
