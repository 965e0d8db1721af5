"""Executor tests with a scripted fake backend (real asyncio sleeps, no mocks)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyagent_ros.backends.base import SkillFailed
from tinyagent_ros.catalog import Catalog, Skill, load_catalog, parse_catalog
from tinyagent_ros.executor import (
    Event,
    ExecutionResult,
    Executor,
    Outcome,
    format_timeline,
)
from tinyagent_ros.plan import Join, Plan, Task, iter_plan, parse_plan


def _skill(name: str, resources: dict[str, str], timeout_s: float = 5.0, ptype: str = "str"):
    return {
        "name": name,
        "description": name,
        "params": [{"name": "label", "type": ptype}],
        "resources": resources,
        "timeout_s": timeout_s,
    }


CATALOG = parse_catalog(
    {
        "name": "test",
        "skills": [
            _skill("work", {}),
            _skill("move", {"base": "exclusive"}),
            _skill("look", {"base": "shared", "camera": "exclusive"}),
            _skill("grab", {"base": "shared", "arm": "exclusive"}),
            _skill("speak", {"speaker": "exclusive"}),
            _skill("collect", {}, ptype="list[str]"),
            _skill("slow", {}, timeout_s=0.05),
        ],
    }
)
ROBOT = load_catalog("robot")


@dataclass
class Step:
    """What the fake backend does for a key: wait, then fail or return a value."""

    delay: float = 0.0
    fail: str | None = None
    value: Any = None


@dataclass
class Call:
    key: str
    skill: str
    args: list[Any]
    start: float
    end: float | None = None
    cancelled: bool = False


class FakeBackend:
    """Scripted by the first word of the first argument (or the skill name)."""

    name = "fake"

    def __init__(self, script: dict[str, Step] | None = None, catalog: str = "test") -> None:
        self.catalog = catalog
        self.script = script or {}
        self.calls: list[Call] = []

    async def call(self, skill: Skill, args: list[Any], feedback) -> Any:
        first = args[0] if args and isinstance(args[0], str) else ""
        key = first.split()[0] if first.split() else skill.name
        step = self.script.get(key) or self.script.get(skill.name) or Step()
        rec = Call(key, skill.name, list(args), time.monotonic())
        self.calls.append(rec)
        feedback(f"working on {key}")
        try:
            await asyncio.sleep(step.delay)
        except asyncio.CancelledError:
            rec.cancelled = True
            raise
        finally:
            rec.end = time.monotonic()
        if step.fail == "crash":
            raise RuntimeError("boom")
        if step.fail:
            raise SkillFailed(step.fail)
        return step.value if step.value is not None else f"{skill.name}:{key}"

    def call_of(self, key: str) -> Call:
        return next(c for c in self.calls if c.key == key)


def plan_text(*calls: str) -> str:
    lines = [f"{i}. {c}" for i, c in enumerate(calls, 1)]
    return "\n".join([*lines, f"{len(calls) + 1}. join()<END_OF_PLAN>"])


def execute(
    backend: FakeBackend, *calls: str, catalog: Catalog = CATALOG, **options: Any
) -> ExecutionResult:
    plan = parse_plan(plan_text(*calls), catalog)
    return asyncio.run(Executor(catalog, backend, **options).run(plan))


def overlap(a: Call, b: Call) -> bool:
    assert a.end is not None and b.end is not None
    return a.start < b.end and b.start < a.end


# ---------------------------------------------------------------- parallelism and resources


def test_independent_tasks_really_overlap():
    backend = FakeBackend({"a": Step(0.2), "b": Step(0.2)})
    t0 = time.monotonic()
    result = execute(backend, 'work("a")', 'work("b")')
    assert time.monotonic() - t0 < 0.35
    assert result.success and result.makespan_s < 0.35
    assert overlap(backend.call_of("a"), backend.call_of("b"))


def test_shared_base_with_different_exclusive_resources_overlaps():
    backend = FakeBackend({"find_object": Step(0.1), "say": Step(0.1)}, catalog="robot")
    execute(backend, 'find_object("cup")', 'say("hello")', catalog=ROBOT)
    assert overlap(backend.calls[0], backend.calls[1])


@pytest.mark.parametrize(
    "calls",
    [
        ('rotate(90)', 'rotate(-90)'),
        ('find_object("cup")', 'take_photo("cup")'),
        ('navigate_to("kitchen")', 'say("hello")'),
    ],
)
def test_conflicting_skills_never_overlap(calls):
    backend = FakeBackend({s.name: Step(0.05) for s in ROBOT}, catalog="robot")
    result = execute(backend, *calls, catalog=ROBOT)
    first, second = backend.calls
    assert result.success
    assert first.end is not None and first.end <= second.start


def test_data_dependency_waits_and_gets_the_value():
    backend = FakeBackend({"a": Step(0.1, value="kitchen")})
    result = execute(backend, 'work("a")', 'work("$1")')
    first, second = backend.call_of("a"), backend.calls[1]
    assert first.end is not None and first.end <= second.start
    assert second.args == ["kitchen"]
    assert result.results[2].args == ["kitchen"]


def test_references_are_substituted_inside_strings_and_lists():
    backend = FakeBackend({"a": Step(value="cup"), "n": Step(value=42)})
    result = execute(
        backend,
        'work("a")',
        'work("n")',
        'work("photo of $1 number ${2}")',
        'collect(["$1", "x $2", "plain"])',
    )
    assert result.results[3].args == ["photo of cup number 42"]
    assert result.results[4].args == [["cup", "x 42", "plain"]]


def test_whole_reference_passes_the_raw_value():
    backend = FakeBackend({"a": Step(value=["x", "y"])})
    result = execute(backend, 'work("a")', "collect($1)")
    assert result.results[2].args == [["x", "y"]]


# ---------------------------------------------------------------- failures


def test_failure_skips_dependents_but_not_independent_branches():
    backend = FakeBackend({"a": Step(0.02, fail="door closed on the way: bedroom door")})
    result = execute(
        backend,
        'move("a")',  # fails
        'work("$1")',  # data dependent: skipped
        'look("b")',  # base shared after an exclusive move: skipped by resource edge
        'work("$2 again")',  # skipped because 2 was skipped: names the root cause
        'work("c")',  # independent: runs
    )
    out = {i: r.outcome for i, r in result.results.items()}
    assert out == {
        1: Outcome.FAILED,
        2: Outcome.SKIPPED,
        3: Outcome.SKIPPED,
        4: Outcome.SKIPPED,
        5: Outcome.SUCCEEDED,
    }
    reason = "task 1 move failed: door closed on the way: bedroom door"
    assert result.results[2].message == reason
    assert result.results[3].message == reason
    assert result.results[4].message == reason
    assert not result.success and result.error is None
    assert [c.key for c in backend.calls] == ["a", "c"]
    assert result.answer == ["work:c"]


def test_timeout_cancels_the_skill_and_skips_dependents():
    backend = FakeBackend({"x": Step(5.0)})
    t0 = time.monotonic()
    result = execute(backend, 'slow("x")', 'work("$1")')
    assert time.monotonic() - t0 < 1.0
    assert result.results[1].outcome is Outcome.TIMED_OUT
    assert result.results[1].message == "no result within 0.05 s"
    assert result.results[2].outcome is Outcome.SKIPPED
    assert result.results[2].message.startswith("task 1 slow timed out")
    assert backend.call_of("x").cancelled


def test_backend_crash_is_a_failed_task_not_a_crash(caplog):
    backend = FakeBackend({"x": Step(fail="crash")})
    result = execute(backend, 'work("x")', 'work("y")')
    assert result.results[1].outcome is Outcome.FAILED
    assert result.results[1].message == "internal error: RuntimeError: boom"
    assert result.results[2].outcome is Outcome.SUCCEEDED
    assert "crashed" in caplog.text


def test_sequential_runs_one_at_a_time_in_plan_order():
    backend = FakeBackend({"a": Step(0.05), "b": Step(0.05), "c": Step(0.05)})
    result = execute(backend, 'work("a")', 'work("b")', 'work("c")', sequential=True)
    assert [c.key for c in backend.calls] == ["a", "b", "c"]
    for before, after in zip(backend.calls, backend.calls[1:], strict=False):
        assert before.end is not None and before.end <= after.start
    assert result.makespan_s >= 0.15


# ---------------------------------------------------------------- cancel


def test_cancel_from_another_thread_stops_everything_within_100ms():
    backend = FakeBackend({"long": Step(10.0)})
    plan = parse_plan(
        plan_text('work("long 1")', 'move("long 2")', 'look("long 3")', 'work("$1")'), CATALOG
    )
    events: list[Event] = []
    executor = Executor(CATALOG, backend, on_event=events.append)
    box: dict[str, Any] = {}

    async def main() -> None:
        box["result"] = await executor.run(plan)
        box["returned"] = time.monotonic()

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    deadline = time.monotonic() + 2.0
    while len(backend.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(backend.calls) == 2  # 3 waits for the move, 4 for task 1
    t0 = time.monotonic()
    executor.cancel("emergency stop")
    thread.join(2.0)
    assert not thread.is_alive()
    assert box["returned"] - t0 < 0.1
    for call in backend.calls:
        assert call.cancelled and call.end is not None and call.end - t0 < 0.1
    result: ExecutionResult = box["result"]
    assert {r.outcome for r in result.results.values()} == {Outcome.CANCELLED}
    assert {r.message for r in result.results.values()} == {"emergency stop"}
    assert result.error == "emergency stop" and not result.success
    assert sum(e.kind == "task_cancelled" for e in events) == 4


def test_cancel_without_a_run_does_nothing():
    Executor(CATALOG, FakeBackend()).cancel()


# ---------------------------------------------------------------- streaming


def test_stream_first_task_starts_before_the_last_arrives():
    backend = FakeBackend({"a": Step(0.05)})

    async def stream():
        for item in parse_plan(plan_text('work("a")', 'work("b")', 'work("$1")'), CATALOG).tasks:
            yield item
            await asyncio.sleep(0.1)

    result = asyncio.run(Executor(CATALOG, backend).run(stream()))
    assert result.success
    started = next(e.t for e in result.events if e.kind == "task_started" and e.task == 1)
    last_in = next(e.t for e in result.events if e.kind == "task_received" and e.task == 3)
    assert started < last_in - 0.1
    assert result.results[3].args == ["work:a"]


def test_blocking_text_stream_is_read_without_stalling_running_tasks():
    backend = FakeBackend({"a": Step(0.05)})
    text = plan_text('work("a")', 'work("b")', 'work("$1")')

    def chunks():
        for line in text.splitlines(keepends=True):
            time.sleep(0.05)  # a planner writing tokens, blocking
            yield line

    result = asyncio.run(Executor(CATALOG, backend).run(iter_plan(chunks(), CATALOG)))
    assert result.success
    first_end = backend.call_of("a").end
    assert first_end is not None and first_end < backend.calls[-1].start


def test_plan_error_mid_stream_cancels_running_tasks_and_never_runs_the_bad_one():
    backend = FakeBackend({"long": Step(5.0)})

    async def stream():
        yield Task(1, "work", ("long",))
        await asyncio.sleep(0.05)
        yield Task(2, "teleport", ("mars",))
        yield Task(3, "work", ("never",))

    t0 = time.monotonic()
    result = asyncio.run(Executor(CATALOG, backend).run(stream()))
    assert time.monotonic() - t0 < 0.5
    assert result.error is not None and "unknown skill 'teleport'" in result.error
    assert [c.key for c in backend.calls] == ["long"] and backend.calls[0].cancelled
    assert result.results[1].outcome is Outcome.CANCELLED
    assert 2 not in result.results and 3 not in result.results
    assert [e.kind for e in result.events].count("plan_error") == 1


def test_plan_error_raised_by_the_source_stops_the_run():
    backend = FakeBackend({"long": Step(5.0)})
    text = '1. work("long")\n2. work(oops)\n3. join()<END_OF_PLAN>'
    lines = iter_plan(text.splitlines(keepends=True), CATALOG)
    result = asyncio.run(Executor(CATALOG, backend).run(lines))
    assert result.error is not None and "bare name 'oops'" in result.error
    assert result.results[1].outcome is Outcome.CANCELLED and backend.calls[0].cancelled


def test_unknown_skill_in_a_whole_plan_never_reaches_the_backend():
    backend = FakeBackend()
    plan = Plan((Task(1, "work", ("a",)), Task(2, "teleport", ("x",))), Join(3))
    result = asyncio.run(Executor(CATALOG, backend).run(plan))
    assert backend.calls == []
    assert result.error == "task 2: unknown skill 'teleport'"
    assert result.results[1].outcome is Outcome.CANCELLED


@pytest.mark.parametrize(
    "items, why",
    [
        ([Task(1, "work", ("$2",))], "refers to no earlier task"),
        ([Task(1, "work", ("a",)), Task(1, "work", ("b",))], "repeated"),
        ([Task(1, "work", (3,))], "expected str"),
        ([Join(1), Task(2, "work", ("a",))], "after join()"),
    ],
)
def test_bad_items_are_plan_errors(items, why):
    backend = FakeBackend()
    result = asyncio.run(Executor(CATALOG, backend).run(items))
    assert result.error is not None and why in result.error
    assert backend.calls == []


def test_source_bug_propagates_after_draining():
    backend = FakeBackend({"long": Step(5.0)})

    async def stream():
        yield Task(1, "work", ("long",))
        await asyncio.sleep(0.02)
        raise RuntimeError("planner crashed")

    with pytest.raises(RuntimeError, match="planner crashed"):
        asyncio.run(Executor(CATALOG, backend).run(stream()))
    assert backend.calls[0].cancelled


def test_cancelling_the_run_coroutine_drains_the_skills_then_propagates():
    backend = FakeBackend({"long": Step(5.0)})
    plan = parse_plan(plan_text('work("long")'), CATALOG)

    async def main() -> None:
        job = asyncio.create_task(Executor(CATALOG, backend).run(plan))
        await asyncio.sleep(0.02)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(main())
    assert backend.calls[0].cancelled


def test_backend_for_another_catalog_is_rejected():
    with pytest.raises(ValueError, match="serves catalog 'robot'"):
        Executor(CATALOG, FakeBackend(catalog="robot"))


# ---------------------------------------------------------------- reporting


def test_events_summary_and_timeline():
    backend = FakeBackend({"a": Step(0.01, value="kitchen"), "b": Step(fail="no way")})
    seen: list[Event] = []
    result = execute(backend, 'work("a")', 'work("$1")', 'move("b")', on_event=seen.append)
    assert seen == result.events
    kinds = [e.kind for e in result.events]
    assert kinds[0] == "task_received" and kinds[-1] == "run_finished"
    assert {"task_started", "task_feedback", "task_succeeded", "task_failed"} <= set(kinds)
    json.dumps([e.to_dict() for e in result.events])
    times = [e.t for e in result.events]
    assert times == sorted(times)
    lines = result.summary().splitlines()  # durations vary with the machine's load
    assert re.fullmatch(r'1\. work\("a"\) -> "kitchen" \(\d+\.\d\d s\)', lines[0]), lines[0]
    assert re.fullmatch(r'3\. move\("b"\) failed \(\d+\.\d\d s\): no way', lines[2]), lines[2]
    assert result.answer == ["work:kitchen"]
    timeline = format_timeline(result, width=40).splitlines()
    assert len(timeline) == 5 and "failed" in timeline[3] and "|" in timeline[1]


def test_feedback_from_another_thread_and_a_failing_listener(caplog):
    class ThreadedBackend:
        name, catalog = "threaded", "test"

        async def call(self, skill: Skill, args: list[Any], feedback) -> Any:
            await asyncio.to_thread(feedback, "from a thread")
            return "ok"

    def listener(event: Event) -> None:
        raise ValueError("listener bug")

    result = asyncio.run(
        Executor(CATALOG, ThreadedBackend(), on_event=listener).run([Task(1, "work", ("a",))])
    )
    assert result.success
    kinds = [(e.kind, e.message) for e in result.events]
    assert kinds.index(("task_feedback", "from a thread")) < kinds.index(("task_succeeded", ""))
    assert "listener failed" in caplog.text


def test_event_values_are_json_safe():
    event = Event(0.1, "task_succeeded", 1, "work", "", {"p": (1, float("nan"), object())})
    data = json.loads(json.dumps(event.to_dict()))
    assert data["value"]["p"][:2] == [1, "nan"]


# ---------------------------------------------------------------- property


NAMES = ["work", "move", "look", "grab", "speak"]


@st.composite
def dag_plans(draw) -> tuple[Plan, dict[str, Step]]:
    n = draw(st.integers(1, 8))
    tasks, script = [], {}
    for i in range(1, n + 1):
        refs = draw(st.sets(st.integers(1, i - 1), max_size=2)) if i > 1 else set()
        label = " ".join([f"t{i}", *(f"${r}" for r in sorted(refs))])
        tasks.append(Task(i, draw(st.sampled_from(NAMES)), (label,)))
        script[f"t{i}"] = Step(draw(st.sampled_from([0.0, 0.001, 0.004])))
    return Plan(tuple(tasks), Join(n + 1)), script


@settings(max_examples=40, deadline=None)
@given(dag_plans(), st.booleans())
def test_no_conflicting_overlap_and_deps_end_before_start(case, sequential):
    plan, script = case
    backend = FakeBackend(script)
    result = asyncio.run(Executor(CATALOG, backend, sequential=sequential).run(plan))
    assert result.success
    calls = {int(c.key[1:]): c for c in backend.calls}
    assert sorted(calls) == [t.idx for t in plan.tasks]
    for later in plan.tasks:
        deps = set(later.refs) | {
            t.idx
            for t in plan.tasks[: later.idx - 1]
            if CATALOG[t.name].conflicts_with(CATALOG[later.name])
        }
        if sequential:
            deps = set(range(1, later.idx))
        for dep in deps:
            assert calls[dep].end <= calls[later.idx].start
            assert result.results[dep].ended <= result.results[later.idx].started
