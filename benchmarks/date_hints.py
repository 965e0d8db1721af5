"""How many of a dataset's gold dates and times does the prompt's date line spell out?

    python benchmarks/date_hints.py --dataset test/data/natural_mac.jsonl
    python benchmarks/date_hints.py --dataset /tmp/syn/mac_val.jsonl --show 10 --json

For every case with a ``today``, each "YYYY-MM-DD HH:MM:SS" of the gold plan
should appear among the values :func:`tinyagent_ros.datetimes.mentions` gives
for the command: then the planner only has to copy it. Misses are printed.
"""

from __future__ import annotations

import argparse
import json
import re

from tinyagent_ros.dataset import load_cases
from tinyagent_ros.datetimes import mentions

_ISO = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def main() -> None:
    """Count, print the misses, and with --json end with one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--show", type=int, default=5, help="Misses to print.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    found = total = 0
    misses = []
    for case in load_cases(args.dataset):
        if case.today is None:
            continue
        values = " ".join(m.value for m in mentions(case.query, case.today))
        for gold in _ISO.findall(case.plan):
            total += 1
            if gold in values:
                found += 1
            else:
                misses.append((case.id, case.query, gold, values))
    for miss in misses[: args.show]:
        print("miss:", *miss, sep="\n  ")
    print(f"{found}/{total} gold dates and times spelled out ({found / max(total, 1):.1%})")
    if args.json:
        print(json.dumps({"dataset": args.dataset, "found": found, "total": total}))


if __name__ == "__main__":
    main()
