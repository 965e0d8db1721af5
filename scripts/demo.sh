#!/usr/bin/env bash
# The main job on the embedded default: a spoken-style command goes through the whole
# pipeline (ToolRAG, the shipped 0.5B planner with its adapter, the streaming executor)
# to the simulated robot. TINYAGENT_DEMO_COMMAND sets the command; extra arguments go
# to `tinyagent run` (e.g. --time-scale 0.1 --timeline-png timeline.png).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh
# Both shipped adapters merged into the planner model: 2-3x faster, about the same robot
# plans and more right mac ones (docs/planner.md, Sessions 11-13); half a minute per
# catalog once, a no-op after.
.venv/bin/tinyagent models merge --quiet

# Keep DDS discovery on this machine (no multicast to other hosts).
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"

COMMAND="${TINYAGENT_DEMO_COMMAND:-Hey, could you grab my red cup from the kitchen and bring it over to me?}"
exec .venv/bin/tinyagent run "$COMMAND" --backend sim "$@"
