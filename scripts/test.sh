#!/usr/bin/env bash
# Lint and run the test suite. Extra arguments go to pytest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh --with-train

# Keep DDS discovery on this machine, on a test-only domain.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-87}"
export PYTHONHASHSEED=0
export MPLBACKEND=Agg

# Lint first, but run the tests even when lint fails (more to see per CI run).
lint_rc=0
lint_dirs=()
for d in tinyagent_ros test benchmarks; do
    if [ -d "$d" ]; then lint_dirs+=("$d"); fi
done
if [ "${#lint_dirs[@]}" -gt 0 ]; then
    echo "[test] ruff check ${lint_dirs[*]}"
    .venv/bin/ruff check "${lint_dirs[@]}" || lint_rc=$?
fi

echo "[test] pytest"
rc=0
.venv/bin/python -m pytest -q -p no:cacheprovider test "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "[test] FAIL: pytest collected no tests" >&2
fi
if [ "$rc" -eq 0 ] && [ "$lint_rc" -ne 0 ]; then
    echo "[test] FAIL: tests passed but ruff check failed" >&2
    exit "$lint_rc"
fi
exit "$rc"
