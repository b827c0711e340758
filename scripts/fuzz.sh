#!/usr/bin/env bash
# Schemathesis over every API operation as an operator, a grid worker and anonymously
# (civicgrid/api/tests/test_fuzz.py): fixed seed, FUZZ_EXAMPLES examples per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${PYTEST_WORKERS:-2}
args=()
if [ "$workers" != "0" ] && [ "$workers" != "1" ]; then
  args=(-n "$workers")
fi
exec .venv/bin/python -m pytest -q -m fuzz "${args[@]}" civicgrid/api/tests/test_fuzz.py "$@"
