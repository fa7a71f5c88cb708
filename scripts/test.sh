#!/usr/bin/env bash
# Set up with the test extras, then run the whole test suite (extra args go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
# The HTML report is checked in a real browser: Debian's chromium, installed when we can.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test: installing Debian's chromium for the HTML report's browser test"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
        >/dev/null; } || echo "test: apt could not install chromium; the browser test is skipped"
  else
    echo "test: no chromium and not root; the HTML report's browser test is skipped"
  fi
fi
# Types: mypy (strict, configured in pyproject.toml) checks the whole package beside the
# tests (its ~12 s overlap their start-up, when the cores are not yet busy); its verdict is
# read after them, and type errors fail the run whatever the tests say.
echo "test: mypy --strict converter/ (beside the tests)"
types="$(mktemp)"
.venv/bin/python -m mypy >"$types" 2>&1 &
mypy_pid=$!
# Tests run in parallel workers (pytest-xdist), one per core up to 4, each module's tests on
# one worker, longest modules first (tests/conftest.py orders them; xdist's own reorder
# would put the modules with the most tests first), each worker importing TensorFlow and
# starting its own task servers (~1.5 GiB);
# TEST_WORKERS overrides, 0 runs them all in this process.
workers="${TEST_WORKERS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}"
parallel=()
if [ "$workers" -gt 1 ]; then
  parallel=(-n "$workers" --dist loadscope --no-loadscope-reorder)
fi
status=0
.venv/bin/python -m pytest "${parallel[@]}" "$@" || status=$?
typed=0
wait "$mypy_pid" || typed=$?
if [ "$typed" -ne 0 ]; then
  cat "$types" >&2
  echo "test: mypy found type errors" >&2
  rm -f "$types"
  exit 1
fi
echo "test: mypy: $(tail -n 1 "$types")"
rm -f "$types"
if [ "$status" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
exit "$status"
