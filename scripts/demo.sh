#!/usr/bin/env bash
# Run the fetch-the-cup demo against the simulated backend.
# Extra arguments go to `tinyagent run`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh

# Keep DDS discovery on this machine (no multicast to other hosts).
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"

exec .venv/bin/tinyagent run --plan-text examples/plans/fetch_cup.txt --backend sim "$@"
