"""The agent pipeline with a scripted planner: streaming into the executor, replanning, cancel."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest

from tinyagent_ros.agent import Agent
from tinyagent_ros.backends.sim import SimBackend
from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.plan import parse_plan
from tinyagent_ros.planner import Planner
from tinyagent_ros.prompt import build_prompt

ROBOT = load_catalog("robot")


class ScriptedPlanner:
    """A planner that 'writes' given plan texts chunk by chunk, with a delay per chunk."""

    def __init__(self, *plans: str, delay: float = 0.0) -> None:
        self.catalog = ROBOT
        self.plans = list(plans)
        self.delay = delay
        self.previous: list[str | None] = []
        self.prompts: list = []
        self.finished_at: list[float] = []

    widened = staticmethod(Planner.widened)

    def select_skills(self, query):
        return ROBOT.names

    def prompt_for(self, query, today=None, skills=None):
        return build_prompt(ROBOT, query, skills)

    def stream(self, prompt, stop=None, previous=None):
        self.previous.append(previous)
        self.prompts.append(prompt)
        text = self.plans.pop(0)
        for line in text.splitlines(keepends=True):
            if stop is not None and stop.is_set():
                return
            time.sleep(self.delay)
            yield line
        self.finished_at.append(time.monotonic())


def run(agent, query="q"):
    return asyncio.run(agent.run(query))


def test_first_task_starts_while_the_plan_is_still_being_written():
    planner = ScriptedPlanner(
        '1. get_battery_level()\n2. locate_person("user")\n3. say("Hello")\n4. join()',
        delay=0.15,
    )
    started: list[float] = []
    agent = Agent(planner, SimBackend(time_scale=0.001),
                  on_event=lambda e: e.kind == "task_started" and started.append(time.monotonic()))
    outcome = run(agent)
    assert outcome.success
    assert started[0] < planner.finished_at[0] - 0.2  # dispatched before the last lines arrived
    assert outcome.attempts[0].first_dispatch_s < 0.3


def test_failed_task_triggers_one_replan_with_the_observation():
    planner = ScriptedPlanner(
        '1. navigate_to("moon base")\n2. say("Arrived")\n3. join()',
        '1. navigate_to("kitchen")\n2. say("Arrived")\n3. join()',
    )
    outcome = run(Agent(planner, SimBackend(time_scale=0.001), max_replans=1))
    assert outcome.success and len(outcome.attempts) == 2
    assert planner.previous[0] is None
    assert "Previous Plan:" in planner.previous[1]
    assert "moon base" in planner.previous[1] and "failed" in planner.previous[1]


def test_replanning_is_bounded_and_failure_reported():
    bad = '1. navigate_to("moon base")\n2. join()'
    outcome = run(Agent(ScriptedPlanner(bad, bad, bad), SimBackend(time_scale=0.001),
                        max_replans=1))
    assert not outcome.success and len(outcome.attempts) == 2
    assert "moon base" in outcome.result.summary()


def test_a_looping_plan_stops_before_the_repeat_and_the_replan_may_call_any_skill():
    loop = "".join(f"{i}. {c}\n" for i, c in enumerate(
        ['navigate_to("kitchen")', 'find_object("cup")'] * 8, 1)) + "17. join()"
    planner = ScriptedPlanner(loop, '1. navigate_to("kitchen counter")\n'
                              '2. find_object("red cup")\n3. pick_up("$2")\n4. join()')
    narrow = dataclasses.replace(
        build_prompt(ROBOT, "q", list(ROBOT.names)), allowed=("navigate_to", "find_object"))
    planner.prompt_for = lambda query, today=None, skills=None: narrow
    outcome = run(Agent(planner, SimBackend(time_scale=0.001), max_replans=1))
    first = outcome.attempts[0].result
    assert "the planner is looping" in first.error
    assert sorted(first.results) == [1, 2, 3, 4, 5]  # task 6 closed the third copy
    assert planner.prompts[0].allowed == ("navigate_to", "find_object")
    assert planner.prompts[1].allowed is None and "Previous Plan:" in planner.previous[1]
    assert outcome.success and "pick_up" in outcome.plan_text, outcome.result.summary()


def test_invalid_streamed_line_runs_nothing_after_it():
    planner = ScriptedPlanner('1. get_battery_level()\n2. teleport("mars")\n3. join()')
    outcome = run(Agent(planner, SimBackend(time_scale=0.001), max_replans=0))
    assert not outcome.success
    assert "unknown skill 'teleport'" in outcome.result.error
    assert 2 not in outcome.result.results


def test_cancel_stops_planning_and_execution():
    planner = ScriptedPlanner('1. navigate_to("garage")\n2. rotate(90)\n3. join()', delay=0.05)
    agent = Agent(planner, SimBackend(time_scale=1.0), max_replans=3)
    timer = threading.Timer(0.4, agent.cancel)
    timer.start()
    t0 = time.monotonic()
    outcome = run(agent)
    assert time.monotonic() - t0 < 1.5
    assert not outcome.success and len(outcome.attempts) == 1
    assert outcome.result.results[1].outcome.value == "cancelled"


def test_execute_runs_a_given_plan_without_planning_or_replanning():
    planner = ScriptedPlanner()  # no plans: execute must not ask it for one
    agent = Agent(planner, SimBackend(time_scale=0.001), max_replans=3)
    ok = asyncio.run(agent.execute(parse_plan('1. get_battery_level()\n2. join()', ROBOT)))
    assert ok.success and ok.skills == ["get_battery_level"]
    assert ok.result.answer and 0 <= ok.result.answer[0] <= 100
    failed = asyncio.run(agent.execute(parse_plan('1. navigate_to("moon base")\n2. join()',
                                                  ROBOT)))
    assert not failed.success and len(failed.attempts) == 1
    assert planner.previous == []


def test_a_command_no_skill_fits_is_declined_without_planning_or_acting():
    class Declining(ScriptedPlanner):
        def prompt_for(self, query, today=None, skills=None):
            return dataclasses.replace(super().prompt_for(query, today, skills), allowed=(),
                                       must_act=True)  # a request nothing serves

    planner = Declining()  # no plans: stream must not be asked for one
    backend = SimBackend(time_scale=0.001)
    before = backend.world.to_dict()
    events = []
    agent = Agent(planner, backend, on_event=events.append)
    outcome = run(agent, "make me a sandwich")
    assert not outcome.success and outcome.attempts == [] and planner.previous == []
    assert outcome.declined == "no skill of the robot catalog fits this request; nothing was done"
    assert [e.kind for e in events] == ["declined"] and events[0].message == outcome.declined
    assert backend.world.to_dict() == before
    # with a reply, the robot says so, and the command still counts as declined
    events.clear()
    agent = Agent(planner, backend, on_event=events.append, decline_reply="Sorry, I can't.")
    outcome = run(agent, "make me a sandwich")
    assert outcome.declined and outcome.attempts == [] and not outcome.success
    kinds = [e.kind for e in events]
    assert kinds[0] == "declined" and "task_succeeded" in kinds
    assert backend.world.spoken == ["Sorry, I can't."]


@pytest.mark.llm
def test_small_talk_is_declined_in_silence_a_request_with_an_apology():
    pytest.importorskip("llama_cpp")
    from tinyagent_ros.planner import PlannerError, build_planner

    try:  # the shipped planner: its classifier declines both and tells them apart
        planner = build_planner(ROBOT)
    except PlannerError as err:
        pytest.skip(str(err))
    backend = SimBackend(time_scale=0.001)
    agent = Agent(planner, backend, decline_reply="Sorry, I can't do that.")
    assert run(agent, "thanks, that's all").declined and backend.world.spoken == []
    assert run(agent, "make me a sandwich").declined
    assert backend.world.spoken == ["Sorry, I can't do that."]
