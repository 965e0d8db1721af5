"""Benchmark the executor: parallel speed-up, per-task overhead and cancel latency.

    python benchmarks/executor.py            # tables
    python benchmarks/executor.py --json     # tables, then one JSON object on the last line

(a) makespan of parallel vs forced-sequential execution of robot plans on the
simulated home; (b) executor overhead per task on a backend that does nothing;
(c) latency of ``Executor.cancel`` called from another thread, until ``run()``
has returned and every running skill has observed its cancellation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from tinyagent_ros.backends.base import Backend, Feedback
from tinyagent_ros.backends.sim import SimBackend
from tinyagent_ros.catalog import Catalog, Skill, load_catalog
from tinyagent_ros.executor import Executor
from tinyagent_ros.plan import Join, Plan, Task, parse_plan

PLANS = {
    "two equal branches": [
        'say("Dinner is ready")',
        'say("Please wash your hands")',
        "describe_scene()",
        'take_photo("the living room")',
    ],
    "bring me the red cup": [
        'navigate_to("kitchen")',
        'find_object("red cup")',
        'pick_up("$2")',
        'locate_person("user")',
        'navigate_to("$4")',
        'hand_over("$3", "user")',
    ],
    "kitchen photo to alice": [
        'navigate_to("kitchen")',
        'take_photo("the kitchen")',
        'send_message("alice", "Here is the kitchen", "$2")',
        "get_battery_level()",
    ],
    "status report": [
        'locate_person("emma")',
        'locate_person("bob")',
        "get_battery_level()",
        "describe_scene()",
        'say("Status check done")',
    ],
    "keys to the desk": [
        'navigate_to("dining table")',
        'find_object("keys")',
        'pick_up("$2")',
        'navigate_to("desk")',
        'place("$3", "desk")',
        'send_message("bob", "Your keys are on the desk", "")',
    ],
    "tea for grandma": [
        'locate_person("grandma")',
        'navigate_to("$1")',
        'say("Your tea is ready")',
        'take_photo("grandma")',
        'send_message("user", "Grandma has her tea", "$4")',
    ],
}

CANCEL_PLAN = [
    'say("This is a long announcement")',  # speaker
    "describe_scene()",  # camera, alongside
    'send_message("alice", "On my way", "")',  # no resources, alongside
    'navigate_to("garage")',  # waits for the base
    'take_photo("garage")',  # waits for 4
]


def robot_plan(calls: list[str], catalog: Catalog) -> Plan:
    """Parse a list of calls as a numbered plan."""
    lines = [f"{i}. {call}" for i, call in enumerate(calls, 1)]
    return parse_plan("\n".join([*lines, f"{len(calls) + 1}. join()<END_OF_PLAN>"]), catalog)


# ---------------------------------------------------------------- (a) makespan


def bench_makespan(time_scale: float) -> list[dict[str, Any]]:
    """Run every plan in parallel and sequentially on a fresh simulated home."""
    robot = load_catalog("robot")
    rows = []
    with tempfile.TemporaryDirectory() as photos:
        for name, calls in PLANS.items():
            plan = robot_plan(calls, robot)
            spans = {}
            for sequential in (True, False):
                sim = SimBackend(time_scale=time_scale, photo_dir=photos)
                result = asyncio.run(Executor(robot, sim, sequential=sequential).run(plan))
                if not result.success:
                    raise RuntimeError(f"{name}: {result.summary()}")
                spans[sequential] = result.makespan_s
            rows.append(
                {
                    "plan": name,
                    "tasks": len(plan),
                    "sequential_s": round(spans[True], 4),
                    "parallel_s": round(spans[False], 4),
                    "speedup": round(spans[True] / spans[False], 3),
                }
            )
    return rows


# ---------------------------------------------------------------- (b) overhead


class InstantBackend:
    """Returns at once without awaiting: whatever time a run takes is the executor's."""

    name = "instant"

    def __init__(self, catalog: str) -> None:
        self.catalog = catalog

    async def call(self, skill: Skill, args: list[Any], feedback: Feedback) -> Any:
        """Return a constant."""
        return "x"


def overhead_cases(n: int) -> dict[str, tuple[Catalog, Any]]:
    """Plan shapes of n tasks: wide, a data chain, a resource chain, and a streamed wide one."""
    mac, robot = load_catalog("mac"), load_catalog("robot")
    wide = Plan(
        tuple(Task(i, "get_phone_number", (f"p{i}",)) for i in range(1, n + 1)), Join(n + 1)
    )
    chain = Plan(
        (Task(1, "get_email_address", ("a",)),)
        + tuple(Task(i, "get_email_address", (f"${i - 1}",)) for i in range(2, n + 1)),
        Join(n + 1),
    )
    turns = Plan(tuple(Task(i, "rotate", (1,)) for i in range(1, n + 1)), Join(n + 1))

    async def streamed() -> AsyncIterator[Task | Join]:
        for item in (*wide.tasks, wide.join):
            yield item

    return {
        "independent": (mac, lambda: wide),
        "data chain": (mac, lambda: chain),
        "resource chain (rotate)": (robot, lambda: turns),
        "independent, streamed": (mac, streamed),
    }


def bench_overhead(n: int, repeats: int) -> list[dict[str, Any]]:
    """Microseconds of executor time per task for each plan shape (best and median of repeats)."""
    rows = []
    for shape, (catalog, source) in overhead_cases(n).items():
        per_task = []
        for _ in range(repeats):
            executor = Executor(catalog, InstantBackend(catalog.name))
            t0 = time.perf_counter()
            result = asyncio.run(executor.run(source()))
            per_task.append((time.perf_counter() - t0) / n * 1e6)
            if not result.success or len(result.results) != n:
                raise RuntimeError(f"{shape}: run failed: {result.error}")
        rows.append(
            {
                "shape": shape,
                "tasks": n,
                "us_per_task_best": round(min(per_task), 1),
                "us_per_task_median": round(statistics.median(per_task), 1),
            }
        )
    return rows


# ---------------------------------------------------------------- (c) cancel latency


class CancelProbe:
    """Wraps a backend and notes when each call observes its cancellation."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.catalog = inner.catalog
        self.started = 0
        self.cancelled_at: list[float] = []

    async def call(self, skill: Skill, args: list[Any], feedback: Feedback) -> Any:
        """Forward the call; time a cancellation."""
        self.started += 1
        try:
            return await self.inner.call(skill, args, feedback)
        except asyncio.CancelledError:
            self.cancelled_at.append(time.perf_counter())
            raise


def cancel_trial(catalog: Catalog, plan: Plan, running: int) -> float:
    """Cancel from this thread while ``running`` skills run in another; seconds until all stop."""
    probe = CancelProbe(SimBackend(time_scale=1.0))
    executor = Executor(catalog, probe)
    returned: list[float] = []

    async def main() -> None:
        await executor.run(plan)
        returned.append(time.perf_counter())

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    deadline = time.monotonic() + 5.0
    while probe.started < running and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(0.05)  # let the skills get going
    t0 = time.perf_counter()
    executor.cancel("benchmark")
    thread.join(5.0)
    if not returned or len(probe.cancelled_at) != running:
        raise RuntimeError(f"cancel trial: {len(probe.cancelled_at)}/{running} calls cancelled")
    return max(returned[0], *probe.cancelled_at) - t0


def bench_cancel(trials: int) -> dict[str, Any]:
    """Cancel latency over several trials (three skills running, two pending)."""
    robot = load_catalog("robot")
    plan = robot_plan(CANCEL_PLAN, robot)
    ms = [cancel_trial(robot, plan, running=3) * 1e3 for _ in range(trials)]
    return {
        "trials": trials,
        "running": 3,
        "pending": len(plan) - 3,
        "p50_ms": round(statistics.median(ms), 3),
        "max_ms": round(max(ms), 3),
    }


# ---------------------------------------------------------------- report


def table(rows: list[dict[str, Any]]) -> str:
    """Rows of dicts as an aligned text table."""
    keys = list(rows[0])
    cells = [[str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = "  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line, "-" * len(line), *body])


def main(argv: list[str] | None = None) -> int:
    """Run the three benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.05,
                        help="simulated seconds -> real seconds for (a) (default 0.05)")
    parser.add_argument("--tasks", type=int, default=2000, help="plan size for (b)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per shape for (b)")
    parser.add_argument("--trials", type=int, default=20, help="cancel trials for (c)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args(argv)

    makespan = bench_makespan(args.time_scale)
    print(f"(a) makespan on the sim backend, time_scale {args.time_scale:g}")
    print(table(makespan), end="\n\n")
    overhead = bench_overhead(args.tasks, args.repeats)
    print("(b) executor overhead per task (zero-duration backend)")
    print(table(overhead), end="\n\n")
    cancel = bench_cancel(args.trials)
    print("(c) cancel latency from another thread until run() returned and all skills stopped")
    print(table([cancel]))
    if args.json:
        print(json.dumps({"makespan": makespan, "overhead": overhead, "cancel": cancel}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
