"""Benchmark the tinyagent node over DDS: command latency, estop latency, idle cost.

    python benchmarks/ros_node.py                 # scripted plans and the shipped model
    python benchmarks/ros_node.py --no-model      # scripted plans only
    python benchmarks/ros_node.py --json          # ..., then one JSON object on the last line

Runs ``tinyagent-sim-skills`` and ``tinyagent-node`` (backend ros) as processes on a
private localhost domain and measures, with ``time.monotonic()`` (one clock for all
processes of the machine):

(a) command published -> first goal received by the simulated robot, with stored
    plans (the ROS and executor overhead) and with the shipped model (planning too);
(b) estop published -> every running goal stopped at the robot;
(c) the agent process's CPU use while idle and its resident memory, model loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from tinyagent_ros.ros.testing import NodeProcess, Probe, pick_domain

ROOT = Path(__file__).resolve().parent.parent
PARALLEL = """1. get_battery_level()
2. locate_person("alice")
3. say("Hello")
4. send_message("user", "On my way", "")
5. join()"""
LONG = """1. find_object("unicorn")
2. say("Looking for the unicorn")
3. send_message("user", "Busy for a while", "")
4. navigate_to("garage")
5. join()"""
MODEL_COMMANDS = ["What is your battery level?", "Where is Alice?", "Say hello to everyone",
                  "Text me that dinner is ready", "Turn around"]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def first_goal_latency(probe: Probe, command: str, timeout: float) -> float:
    """Publish a command and return the seconds until the robot received its first goal."""
    probe.reset()
    t0 = time.monotonic()
    cid = probe.command(command)
    probe.finished(cid, timeout)
    goals = probe.world()["goals"]
    if not goals:
        raise RuntimeError(f"no goal was sent for {command!r}")
    return min(g["received"] for g in goals) - t0


def estop_latency(probe: Probe) -> float:
    """Run the long plan, estop it mid-way; seconds until every running goal stopped."""
    probe.reset()
    cid = probe.command("long errand")
    probe.wait_until(lambda: sum(e["kind"] == "task_started" for e in probe.of(cid)) >= 3, 5)
    time.sleep(0.1)
    t_stop = probe.estop()
    probe.finished(cid, 5)
    stopped = [g for g in probe.world()["goals"] if g["outcome"] == "canceled"]
    return max(g["ended"] for g in stopped) - t_stop


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def idle_cost(pid: int, seconds: float) -> dict[str, float]:
    """CPU percent over ``seconds`` of idling, and resident memory."""
    before, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    cpu = (cpu_seconds(pid) - before) / (time.monotonic() - t0) * 100
    return {"idle_cpu_percent": round(cpu, 2), "rss_mib": round(rss_mib(pid), 1)}


def session(params: dict[str, Any], offset: int, work: Any) -> dict[str, Any]:
    """Start the simulator and the agent, run ``work(probe, agent)``, stop both."""
    domain = pick_domain(offset)
    sim = NodeProcess("tinyagent-sim-skills", {"time_scale": 0.2}, domain)
    agent = NodeProcess("tinyagent-node", {"backend": "ros", **params}, domain,
                        params_file=ROOT / "config" / "agent.yaml")
    probe = Probe(domain)
    try:
        probe.wait_ready(120.0)
        return work(probe, agent)
    finally:
        probe.close()
        agent.stop()
        sim.stop()


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="scripted commands to time")
    parser.add_argument("--estops", type=int, default=5, help="estops to time")
    parser.add_argument("--no-model", action="store_true", help="skip the shipped model")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    opts = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        plans = Path(tmp) / "plans.yaml"
        plans.write_text(yaml.safe_dump({"report in": PARALLEL, "long errand": LONG}))

        def scripted(probe: Probe, agent: NodeProcess) -> dict[str, Any]:
            lat = [first_goal_latency(probe, "report in", 10) for _ in range(opts.runs)]
            stops = [estop_latency(probe) for _ in range(opts.estops)]
            return {"first_goal_ms_p50": round(statistics.median(lat) * 1000, 1),
                    "first_goal_ms_p95": round(percentile(lat, 95) * 1000, 1),
                    "estop_ms_p50": round(statistics.median(stops) * 1000, 1),
                    "estop_ms_max": round(max(stops) * 1000, 1),
                    **idle_cost(agent.proc.pid, 10.0)}

        report["scripted"] = session({"plan_text_file": str(plans)}, 5, scripted)
        print(f"scripted plans: {report['scripted']}")
    if not opts.no_model:
        def model(probe: Probe, agent: NodeProcess) -> dict[str, Any]:
            idle = idle_cost(agent.proc.pid, 10.0)
            lat = [first_goal_latency(probe, c, 120) for c in MODEL_COMMANDS]
            return {"first_goal_s": [round(x, 2) for x in lat],
                    "first_goal_s_p50": round(statistics.median(lat), 2), **idle}

        report["model"] = session({}, 6, model)
        print(f"shipped model: {report['model']}")
    if opts.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
