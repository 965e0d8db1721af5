"""The real planner: llama.cpp with the shipped 4-bit model, grammar-constrained and streamed."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.planner import (
    Planner,
    PlannerError,
    PlannerSettings,
    build_planner,
    default_model_path,
    default_tools,
    is_shipped_model,
    merge_hint,
    resolve_model,
    shipped_adapter,
)

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.llm

ROBOT = load_catalog("robot")


@pytest.fixture(scope="module")
def planner():
    try:
        default_model_path()
    except PlannerError as err:
        pytest.skip(str(err))
    return Planner(ROBOT)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(PlannerError, match="planner model not found"):
        Planner(ROBOT, PlannerSettings(model_path=tmp_path / "nope.gguf"))


def test_corrupt_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(PlannerError, match="cannot load planner model"):
        Planner(ROBOT, PlannerSettings(model_path=bad))


def test_grammar_constrained_plan_is_always_valid(planner):
    for query in ["where is emma?", "go to the kitchen and take a photo of the fridge"]:
        outcome = planner.plan(query)
        assert outcome.error is None, outcome.text
        assert outcome.plan is not None
        assert outcome.prompt_tokens > 100
        assert outcome.text.rstrip().endswith("join()<END_OF_PLAN>")


def test_a_command_that_asks_for_something_never_gets_an_empty_plan(planner):
    from tinyagent_ros.toolrag import ToolClassifier

    gated = copy.copy(planner)
    gated.gate = ToolClassifier.load("robot")
    query = "how much juice you got left?"
    prompt = gated.prompt_for(query, skills=["get_battery_level"])
    assert prompt.must_act and not planner.prompt_for(query, skills=["get_battery_level"]).must_act
    outcome = gated.plan(query, skills=["get_battery_level"])
    assert outcome.plan is not None and outcome.plan.names == ["get_battery_level"], outcome.text
    # small talk may still be answered with nothing
    assert not gated.prompt_for("thanks robot!", skills=["say"]).must_act


def test_streamed_plan_dispatches_before_generation_ends(planner):
    from tinyagent_ros.agent import Agent
    from tinyagent_ros.backends.sim import SimBackend

    last_piece: list[float] = []
    real_stream = planner.stream

    def timed_stream(*args, **kwargs):
        for piece in real_stream(*args, **kwargs):
            last_piece.append(time.monotonic())
            yield piece

    planner.stream = timed_stream
    started: list[float] = []
    try:
        agent = Agent(planner, SimBackend(time_scale=0.001), max_replans=0,
                      on_event=lambda e: e.kind == "task_started"
                      and started.append(time.monotonic()))
        outcome = asyncio.run(agent.run("drive forward two metres, then turn left, then say done"))
    finally:
        del planner.stream
    assert outcome.result.error is None, outcome.plan_text
    tasks = outcome.plan_text.count("\n")
    assert tasks >= 2, outcome.plan_text
    assert started and started[0] < last_piece[-1]


def test_plan_command_json(planner, capsys):
    from tinyagent_ros.cli import main

    main(["plan", "what is your battery level?", "--json"])  # returns normally on success
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["valid"] and out["plan"].endswith("join()<END_OF_PLAN>")
    assert Path(default_model_path()).exists()


def test_built_planner_offers_the_classifiers_skills_with_the_shipped_adapter(planner,
                                                                               tmp_path):
    built = build_planner(ROBOT, examples=2, tools="classifier")
    assert built.settings.lora_path == shipped_adapter("robot")
    outcome = built.plan("please drive to the kitchen")
    assert "navigate_to" in outcome.prompt.skills and len(outcome.prompt.skills) <= 6
    assert len(outcome.prompt.examples) == 2
    assert outcome.error is None and outcome.plan.names[0] == "navigate_to", outcome.text
    named = build_planner(ROBOT, PlannerSettings(model_path=resolve_model("0.5b")), tools="all")
    assert named.settings.lora_path == shipped_adapter("robot") and named.selector is None
    assert is_shipped_model(None) and is_shipped_model(default_model_path())
    assert not is_shipped_model(tmp_path / "own.gguf")  # an adapter fits one base
    # the shipped adapter unmerged gets a line saying how to merge it; others get none
    assert "tinyagent models merge --catalog robot" in merge_hint(built)
    for lora in (None, tmp_path / "own.gguf"):
        other = copy.copy(built)
        other.settings = replace(built.settings, lora_path=lora)
        assert merge_hint(other) is None


def test_auto_selection_is_what_the_adapter_was_trained_for(tmp_path):
    # Both shipped adapters plan best with every skill listed (adapters.json "tools").
    assert default_tools("robot", shipped_adapter("robot")) == "grammar"
    assert default_tools("mac", shipped_adapter("mac")) == "grammar"
    other = tmp_path / "other.gguf"
    other.write_bytes(b"another adapter")
    assert default_tools("robot", other) == "classifier"
    assert default_tools("robot", None) == "classifier"
    auto = build_planner(ROBOT)
    assert auto.list_all and auto.selector is not None
    plain = build_planner(ROBOT, adapter=None)
    assert not plain.list_all and plain.selector is not None


def test_grammar_selection_lists_every_skill_and_allows_only_the_pick(planner):
    built = build_planner(ROBOT, tools="grammar")
    query = "please drive to the kitchen"
    outcome = built.plan(query)
    assert outcome.prompt.skills == tuple(ROBOT.names)
    pick = set(built.selector.select(query))
    assert set(outcome.prompt.allowed) == pick and len(pick) < len(ROBOT.names)
    assert outcome.error is None and set(outcome.plan.names) <= pick | {"join"}, outcome.text
    # The prompt is the same for every command (all of it stays cached) ...
    other = built.plan("take a photo of the garden", skills=["navigate_to"])
    assert other.prompt.system == outcome.prompt.system
    # ... and the grammar, not the prompt, keeps a listed skill out of the plan.
    assert "take_photo" in other.prompt.skills and other.prompt.allowed == ("navigate_to",)
    assert other.error is None and set(other.plan.names) <= {"navigate_to", "join"}, other.text


def test_a_plan_that_loops_is_written_again_with_every_skill_allowed():
    built = build_planner(ROBOT, tools="grammar")
    query = "Could you go to the dining table and pick up the plate, please?"
    # With pick_up refused the shipped model goes back and forth between table and
    # plate; the loop is cut at its third round and the plan written again.
    outcome = built.plan(query, skills=["navigate_to", "find_object"])
    assert outcome.loop_error and "the planner is looping" in outcome.loop_error, outcome.text
    assert outcome.prompt.allowed is None and outcome.error is None, outcome.text
    assert "pick_up" in outcome.plan.names and len(outcome.plan.tasks) < 6, outcome.text


def test_shipped_adapter_is_checked_by_sha256(tmp_path, monkeypatch):
    adapters = tmp_path / "models" / "adapters"
    adapters.mkdir(parents=True)
    (adapters / "robot.gguf").write_bytes(b"GGUF tampered")
    (adapters / "adapters.json").write_text(json.dumps({"robot": {"file": "robot.gguf",
                                                                  "sha256": "0" * 64}}))
    monkeypatch.setenv("TINYAGENT_SHARE", str(tmp_path))
    with pytest.raises(PlannerError, match="corrupt"):
        shipped_adapter("robot")
    assert shipped_adapter("mac") is None
    with pytest.raises(PlannerError, match="unknown tool selection"):
        build_planner(ROBOT, tools="magic", adapter=None)
    with pytest.raises(PlannerError, match="works through the plan grammar"):
        build_planner(ROBOT, PlannerSettings(use_grammar=False), tools="grammar", adapter=None)


def test_bench_command_plans_and_reports_the_contract_keys(planner, capsys):
    from tinyagent_ros.cli import main

    data = Path(__file__).parent / "data" / "natural_robot.jsonl"
    main(["bench", "--dataset", str(data), "--limit", "2", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["cases"] == 2 and 0 <= out["dag_success"] <= 1 and out["tool_recall"] > 0
    assert out["avg_tools"] < len(ROBOT.names) and out["latency_p50_s"] > 0


def test_warm_up_evaluates_a_prompt_later_commands_share(planner):
    planner.reset_cache()
    assert planner._llm.n_tokens == 0
    n = planner.warm_up("thanks!")  # declined small talk still warms the model
    assert n > 300 and planner._llm.n_tokens == n
    cached = list(planner._llm._input_ids[:n])
    later = planner._llm.tokenize(planner.render(planner.prompt_for("go to the kitchen"))
                                  .encode("utf-8"), add_bos=True, special=True)
    shared = next(i for i, (a, b) in enumerate(zip(cached, later, strict=False)) if a != b)
    assert shared > 300  # instructions and rules: evaluated once, reused by the command
    outcome = planner.plan("go to the kitchen")
    assert outcome.plan is not None and "navigate_to" in outcome.plan.names
