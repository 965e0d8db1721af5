"""The tinyagent command line, run as a user runs it (a subprocess of the console script)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "test" / "data"


def tinyagent(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tinyagent_ros.cli", *args],
        input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )


@pytest.mark.parametrize("name", ["gold_plans", "natural_robot", "natural_robot_2", "natural_mac",
                                  "out_of_scope_robot", "out_of_scope_mac"])
def test_check_accepts_the_hand_written_sets(name):
    out = tinyagent("check", "--dataset", str(DATA / f"{name}.jsonl"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("OK ")


def test_gold_set_covers_all_32_skills():
    from tinyagent_ros.catalog import load_catalog
    from tinyagent_ros.dataset import load_cases

    used = {(c.catalog, t.name) for c in load_cases(DATA / "gold_plans.jsonl")
            for t in c.gold(load_catalog(c.catalog))}
    for catalog in ("robot", "mac"):
        names = set(load_catalog(catalog).names)
        assert {n for c, n in used if c == catalog} == names
    assert sum(1 for _ in open(DATA / "gold_plans.jsonl")) >= 40


CORRUPTIONS = {
    "unknown": ('navigate_to("kitchen")', 'teleport("kitchen")', "unknown skill 'teleport'"),
    "arity": ('navigate_to("kitchen")', 'navigate_to("kitchen", 2)', "takes 1 argument"),
    "type": ('rotate(90)', 'rotate("ninety")', "expected float, got str"),
    "later": ('navigate_to("$1")', 'navigate_to("$9")', "refers to a later task"),
    "join": ("join()<END_OF_PLAN>", "say(\"bye\")", "no join()"),
}


def test_check_rejects_corrupted_variants_with_reasons(tmp_path):
    lines = []
    for name, (old, new, _) in CORRUPTIONS.items():
        plan = {
            "unknown": '1. navigate_to("kitchen")\n2. join()<END_OF_PLAN>',
            "arity": '1. navigate_to("kitchen")\n2. join()<END_OF_PLAN>',
            "type": "1. rotate(90)\n2. join()<END_OF_PLAN>",
            "later": '1. locate_person("bob")\n2. navigate_to("$1")\n3. join()<END_OF_PLAN>',
            "join": '1. dock()\n2. join()<END_OF_PLAN>',
        }[name]
        assert old in plan
        lines.append({"id": name, "catalog": "robot", "query": "q", "plan": plan.replace(old, new)})
    lines.append({"id": "fine", "catalog": "robot", "query": "q", "plan": "1. join()"})
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = tinyagent("check", "--dataset", str(path))
    assert out.returncode == 1
    report = dict(line.split(": ", 1) for line in out.stdout.strip().splitlines())
    assert set(report) == set(CORRUPTIONS)
    for name, (_, _, reason) in CORRUPTIONS.items():
        assert reason in report[name], report[name]
    as_json = json.loads(tinyagent("check", "--dataset", str(path), "--json").stdout)
    assert as_json["cases"] == 6 and as_json["ok"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--dataset", "/no/such.jsonl"], "cannot read"),
        (["run"], "give a QUERY or --plan-text"),
        (["run", "--plan-text", "/no/such.txt"], "cannot read"),
        (["run", "--plan-text", "-", "--catalog", "nope"], "no catalog named 'nope'"),
        (["nonsense"], "No such command"),
        (["bench", "--dataset", "/no/such.jsonl", "--tools-only"], "cannot read"),
        (["run", "--plan-text", "-", "--catalog", "mac", "--backend", "macos"], "needs macOS"),
        (["run", "--plan-text", "-", "--backend", "macos"], "runs the mac catalog"),
        (["plan", "hi", "--adapter", "/no/such.gguf"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(args, message):
    out = tinyagent(*args, stdin="")
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert message in out.stderr


def test_bench_tools_only_json_has_the_contract_keys():
    out = tinyagent("bench", "--dataset", str(DATA / "natural_mac.jsonl"), "--tools-only",
                    "--json", "--limit", "6")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("cases", "dag_success", "strict_success", "tool_recall", "avg_tools",
                "prompt_tokens_mean", "latency_p50_s", "latency_p95_s"):
        assert key in result
    assert result["cases"] == 6 and result["dag_success"] is None
    assert result["tool_recall"] > 0.8 and result["avg_tools"] < 8


def test_bad_plan_text_executes_nothing():
    out = tinyagent("run", "--plan-text", "-", "--time-scale", "0",
                    stdin='1. say("first")\n2. fly("away")\n3. join()')
    assert out.returncode == 2
    assert "line 2" in out.stderr and "unknown skill 'fly'" in out.stderr
    assert "first" not in out.stdout


def test_malformed_dataset_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a", "catalog": "robot", "query": "q"}\n')
    out = tinyagent("check", "--dataset", str(path))
    assert out.returncode == 2 and ":1: plan" in out.stderr


def test_run_plan_text_streams_json_and_draws(tmp_path):
    dag, timeline = tmp_path / "dag.png", tmp_path / "timeline.png"
    out = tinyagent("run", "--plan-text", "examples/plans/fetch_cup.txt", "--time-scale", "0.01",
                    "--json", "--dag-png", str(dag), "--timeline-png", str(timeline))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.strip().splitlines()]
    events, final = rows[:-1], rows[-1]
    assert {"task_started", "task_succeeded"} <= {e["kind"] for e in events}
    assert final["success"] and final["world"]["objects"]["red_cup"]["holder"] == "user"
    for png in (dag, timeline):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_human_output_shows_timeline_and_world():
    out = tinyagent("run", "--plan-text", "examples/plans/fetch_cup.txt", "--time-scale", "0.01")
    assert out.returncode == 0, out.stderr
    assert "hand_over" in out.stdout and "world state:" in out.stdout


def test_failed_task_exits_non_zero_with_reason():
    out = tinyagent("run", "--plan-text", "-", "--time-scale", "0",
                    stdin='1. navigate_to("the moon")\n2. say("hi")\n3. join()')
    assert out.returncode == 1
    assert "unknown place" in out.stdout


@pytest.mark.llm
def test_a_request_no_skill_serves_is_declined_and_nothing_runs():
    pytest.importorskip("llama_cpp")
    out = tinyagent("run", "Could you mow the lawn and then do the laundry?", "--json",
                    "--time-scale", "0")
    if "not installed" in out.stderr:
        pytest.skip(out.stderr.strip())
    assert out.returncode == 1, out.stdout + out.stderr
    lines = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [e["kind"] for e in lines[:-1]] == ["declined"]
    assert lines[-1]["success"] is False and lines[-1]["tasks"] == []
    assert lines[-1]["declined"].startswith("no skill of the robot catalog fits")
    assert lines[-1]["error"] == lines[-1]["declined"] and lines[-1]["world"]["robot"]
    planned = tinyagent("plan", "Could you mow the lawn and then do the laundry?", "--json",
                        "--no-decline")
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["declined"] is False
