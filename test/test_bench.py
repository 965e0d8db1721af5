"""The benchmark harness (tool selection; planning with a stand-in planner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyagent_ros.bench import CONTRACT_KEYS, BenchError, markdown_table, run_bench, run_tool_bench
from tinyagent_ros.dataset import load_cases
from tinyagent_ros.encoder import encoder_available
from tinyagent_ros.planner import PlanOutcome
from tinyagent_ros.prompt import Prompt

DATA = Path(__file__).parent / "data"
CASES = load_cases(DATA / "gold_plans.jsonl")
ROBOT_CASES = [c for c in CASES if c.catalog == "robot"]
NO_ENCODER = encoder_available()
needs_encoder = pytest.mark.skipif(NO_ENCODER is not None,
                                   reason=f"MiniLM encoder not installed ({NO_ENCODER})")


def chars(prompt: Prompt) -> int:
    """A stand-in token counter (the real one needs llama.cpp and the planner GGUF)."""
    return len(prompt.system) + len(prompt.user)


class Everything:
    def __init__(self, names):
        self.names = names

    def select(self, query):
        return list(self.names)


def test_tool_bench_all_skills_has_contract_keys():
    result = run_tool_bench(CASES, None, counter=chars)
    assert set(CONTRACT_KEYS) <= set(result)
    assert result["cases"] == len(CASES)
    assert result["dag_success"] is None and result["strict_success"] is None
    assert result["tool_recall"] == 1.0
    assert result["avg_tools"] == 16.0
    assert result["prompt_tokens_mean"] > 1000
    assert 0 <= result["latency_p50_s"] <= result["latency_p95_s"]
    json.dumps(result)


def test_selector_mapping_and_no_counter():
    from tinyagent_ros.catalog import load_catalog

    sel = {name: Everything(load_catalog(name).names[:2]) for name in ("robot", "mac")}
    result = run_tool_bench(CASES, sel, counter=None)
    assert result["prompt_tokens_mean"] is None
    assert result["avg_tools"] == 2.0
    assert result["tool_recall"] < 1.0


class GoldPlanner:
    """Returns the gold plan (or garbage for every second case)."""

    def __init__(self, catalog, garbage_every=0):
        self.catalog = catalog
        self.garbage_every = garbage_every
        self.calls = 0
        self.gold = {c.query: c.plan for c in CASES}

    def plan(self, query, today=None, skills=None):
        from tinyagent_ros.plan import PlanError, parse_plan
        from tinyagent_ros.prompt import build_prompt

        self.calls += 1
        text = self.gold[query]
        if self.garbage_every and self.calls % self.garbage_every == 0:
            text = "1. fly_away()\n2. join()<END_OF_PLAN>"
        try:
            plan, error = parse_plan(text, self.catalog), None
        except PlanError as err:
            plan, error = None, str(err)
        prompt = build_prompt(self.catalog, query, skills, [], today)
        return PlanOutcome(query=query, prompt=prompt, text=text, plan=plan, error=error,
                           prompt_tokens=123, completion_tokens=10, latency_s=0.5,
                           first_task_s=0.1)


def test_bench_with_planner():
    from tinyagent_ros.catalog import load_catalog

    catalog = load_catalog("robot")
    result = run_bench(ROBOT_CASES, None, GoldPlanner(catalog))
    assert result["dag_success"] == 1.0 and result["strict_success"] == 1.0
    assert result["prompt_tokens_mean"] == 123
    assert result["latency_p50_s"] >= 0.5
    assert result["parse_failures"] == 0
    half = run_bench(ROBOT_CASES, None, {"robot": GoldPlanner(catalog, garbage_every=2)})
    assert half["parse_failures"] == len(ROBOT_CASES) // 2
    assert half["dag_success"] == pytest.approx(1 - (len(ROBOT_CASES) // 2) / len(ROBOT_CASES))


def test_empty_and_table():
    with pytest.raises(BenchError):
        run_tool_bench([], None, counter=None)
    a = run_tool_bench(ROBOT_CASES[:3], None, counter=chars)
    table = markdown_table({"all": a, "again": a})
    lines = table.splitlines()
    assert lines[0].startswith("| setting | cases | tool recall")
    assert len(lines) == 4
    assert "DAG success" not in table


@needs_encoder
def test_classifier_bench_beats_all_skills_on_prompt_size():
    from tinyagent_ros.bench import make_selector

    result = run_tool_bench(CASES, lambda name: make_selector("classifier", name), counter=chars)
    full = run_tool_bench(CASES, None, counter=chars)
    assert set(CONTRACT_KEYS) <= set(result)
    assert result["avg_tools"] < 6
    assert result["tool_recall"] >= 0.9
    assert result["prompt_tokens_mean"] * 1.5 < full["prompt_tokens_mean"]


@needs_encoder
def test_bench_main_json(capsys):
    from tinyagent_ros.bench import bench_main

    out: list[str] = []
    result = bench_main(DATA / "gold_plans.jsonl", tools_only=True, limit=5, as_json=True,
                        progress=False, echo=out.append)
    assert json.loads(out[-1])["cases"] == 5
    assert set(CONTRACT_KEYS) <= set(result)
    with pytest.raises(BenchError):
        bench_main(DATA / "gold_plans.jsonl", tools_only=False, limit=2, progress=False,
                   echo=out.append)


def test_real_prompt_counter_if_available():
    from tinyagent_ros.bench import BenchError, PromptTokenCounter
    from tinyagent_ros.catalog import load_catalog
    from tinyagent_ros.prompt import build_prompt

    try:
        counter = PromptTokenCounter()
    except BenchError as err:
        pytest.skip(f"planner tokenizer unavailable: {err}")
    catalog = load_catalog("robot")
    full = counter(build_prompt(catalog, "go to Alice"))
    small = counter(build_prompt(catalog, "go to Alice", ["navigate_to", "locate_person"]))
    assert 0 < small < full
    assert counter.render(build_prompt(catalog, "x")).rstrip().endswith("assistant")


def test_classify_says_where_a_plan_went_wrong():
    from tinyagent_ros.bench import classify
    from tinyagent_ros.catalog import load_catalog
    from tinyagent_ros.plan import parse_plan

    robot = load_catalog("robot")
    gold = parse_plan('1. locate_person("alice")\n2. navigate_to("$1")\n3. say("hi")\n'
                      '4. join()<END_OF_PLAN>', robot)

    def verdict(text: str) -> str:
        return classify(parse_plan(text, robot), gold, robot)

    assert classify(None, gold, robot) == "invalid"
    assert verdict('1. locate_person("Alice")\n2. navigate_to("$1")\n3. say("hi.")\n'
                   '4. join()<END_OF_PLAN>') == "correct"  # case and final period do not count
    assert verdict('1. locate_person("bob")\n2. navigate_to("$1")\n3. say("hi")\n'
                   '4. join()<END_OF_PLAN>') == "wrong_arguments"
    assert verdict('1. locate_person("alice")\n2. navigate_to("kitchen")\n3. say("hi")\n'
                   '4. join()<END_OF_PLAN>') == "wrong_dependencies"
    assert verdict('1. locate_person("alice")\n2. navigate_to("$1")\n'
                   '3. join()<END_OF_PLAN>') == "wrong_skills"


def test_examples_follow_the_shipped_adapter_entry(tmp_path, monkeypatch):
    """adapters.json's "examples" sets the default count with that adapter; else 3."""
    from tinyagent_ros.planner import DEFAULT_EXAMPLES, default_examples

    index = tmp_path / "models" / "adapters" / "adapters.json"
    index.parent.mkdir(parents=True)
    index.write_text(json.dumps({"robot": {"file": "r.gguf", "sha256": "0", "examples": 0},
                                 "mac": {"file": "m.gguf", "sha256": "0"}}))
    monkeypatch.setattr("tinyagent_ros.paths.share_path",
                        lambda *parts: tmp_path.joinpath(*parts))
    assert default_examples("robot", True) == 0
    assert default_examples("robot", False) == DEFAULT_EXAMPLES  # base model: examples
    assert default_examples("mac", True) == DEFAULT_EXAMPLES  # entry without a count
    assert default_examples("bfcl", True) == DEFAULT_EXAMPLES  # no entry
