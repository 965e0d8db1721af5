#!/usr/bin/env bash
# The main job on the embedded default: a spoken-style command goes through the whole
# pipeline (ToolRAG, the shipped 0.5B planner with its adapter, the streaming executor)
# to the simulated robot. TINYAGENT_DEMO_COMMAND sets the command; extra arguments go
# to `tinyagent run` (e.g. --time-scale 0.1 --timeline-png timeline.png).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh
# The robot adapter merged into the planner model: about the same plans, 2-3x faster
# (docs/planner.md, Session 11); half a minute once, a no-op after.
.venv/bin/tinyagent models merge --catalog robot --quiet

# Keep DDS discovery on this machine (no multicast to other hosts).
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"

COMMAND="${TINYAGENT_DEMO_COMMAND:-Hey, could you grab my red cup from the kitchen and bring it over to me?}"
exec .venv/bin/tinyagent run "$COMMAND" --backend sim "$@"
