"""Does llama.cpp's prefix reuse pay? Plan commands with the evaluated prompt kept between
commands (what the node does) and with it reset before each command (a cold prompt).

    python benchmarks/prefix_cache.py                       # 20 natural robot commands
    python benchmarks/prefix_cache.py --dataset test/data/natural_mac.jsonl --json

Every prompt shares the instructions and catalog rules before the selected skills, so
llama.cpp evaluates only the rest when the previous prompt is still in its cache.
Both passes plan the same commands in the same order with the default planner
(ToolRAG, shipped adapter, retrieved examples); the plans must come out identical.
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

from tqdm import tqdm

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.dataset import load_cases
from tinyagent_ros.planner import build_planner


def measure(planner: Any, queries: list[str], reset: bool) -> dict[str, Any]:
    """Latency and time to the first task per command, and the plans written."""
    latency, first, plans = [], [], []
    for query in tqdm(queries, desc="reset" if reset else "kept", leave=False):
        if reset:
            planner.reset_cache()
        outcome = planner.plan(query)
        latency.append(outcome.latency_s)
        first.append(outcome.first_task_s or outcome.latency_s)
        plans.append(outcome.text)
    return {"latency_p50_s": statistics.median(latency),
            "latency_mean_s": statistics.fmean(latency),
            "first_task_p50_s": statistics.median(first), "plans": plans}


def main() -> None:
    """Plan the commands twice, print a table (and JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="test/data/natural_robot.jsonl")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="End with one JSON object.")
    args = parser.parse_args()
    cases = load_cases(args.dataset, args.limit)
    planner = build_planner(load_catalog(cases[0].catalog))
    queries = [c.query for c in cases if c.catalog == cases[0].catalog]
    planner.plan(queries[0])  # load and touch the weights once
    kept = measure(planner, queries, reset=False)
    cold = measure(planner, queries, reset=True)
    same = sum(a == b for a, b in zip(kept.pop("plans"), cold.pop("plans"), strict=True))
    print(f"{len(queries)} commands of {args.dataset}")
    print("| prompt cache | latency p50 s | latency mean s | first task p50 s |")
    print("|---|---:|---:|---:|")
    for name, r in (("kept between commands", kept), ("reset before each", cold)):
        print(f"| {name} | {r['latency_p50_s']:.2f} | {r['latency_mean_s']:.2f} "
              f"| {r['first_task_p50_s']:.2f} |")
    print(f"identical plans: {same}/{len(queries)}")
    if args.json:
        print(json.dumps({"commands": len(queries), "kept": kept, "reset": cold,
                          "identical_plans": same}))


if __name__ == "__main__":
    main()
