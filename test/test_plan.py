"""Plan language: parsing, streaming, validation errors, and render/parse round-trips."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.plan import (
    END_OF_PLAN,
    Join,
    Plan,
    PlanError,
    PlanLoopError,
    PlanParser,
    Task,
    bind_arguments,
    iter_plan,
    looping_block,
    parse_plan,
    resolve_value,
)

ROBOT = load_catalog("robot")
MAC = load_catalog("mac")
DATA = Path(__file__).parent / "data"

FETCH = (
    'Thought: she may have moved\n'
    '1. locate_person("Alice")\n'
    "2. navigate_to($1)\n"
    '3. say("Dinner is ready, ${1}")\n'
    f"4. join(){END_OF_PLAN}"
)


def test_parse_contract_example():
    plan = parse_plan(FETCH, ROBOT)
    assert plan.names == ["locate_person", "navigate_to", "say"]
    assert plan.tasks[0].thought == "she may have moved"
    assert plan.tasks[1].args == ("$1",)
    assert plan.tasks[1].refs == {1}
    assert plan.tasks[2].refs == {1}
    assert plan.join.idx == 4


def test_literals_of_every_type():
    text = (
        '1. create_reminder("Call mom", "", "", "", -5, True)\n'
        '2. get_email_address("Ann")\n'
        '3. compose_new_email(["a@x.org", "$2"], [], "Hi", "Body", [])\n'
        "4. join()"
    )
    plan = parse_plan(text, MAC)
    assert plan.tasks[0].args == ("Call mom", "", "", "", -5, True)
    assert plan.tasks[2].args[0] == ["a@x.org", "$2"]


def test_end_marker_is_optional_but_join_is_not():
    assert parse_plan('1. dock()\n2. join()', ROBOT).names == ["dock"]
    with pytest.raises(PlanError, match="no join"):
        parse_plan('1. dock()\n', ROBOT)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('1. fly("x")\n2. join()', 1, "unknown skill 'fly'"),
        ('1. navigate_to("a", "b")\n2. join()', 1, "takes 1 argument"),
        ("1. dock(1)\n2. join()", 1, "takes 0 argument"),
        ('1. drive("far")\n2. join()', 1, "expected float, got str"),
        ("1. rotate(True)\n2. join()", 1, "expected float, got bool"),
        ('1. send_message("bob", "hi", 3)\n2. join()', 1, "argument 3 (attachment)"),
        ('1. say("x")\n2. navigate_to("$3")\n3. join()', 2, "refers to a later task"),
        ('1. navigate_to("$1")\n2. join()', 1, "refers to its own task"),
        ('1. navigate_to("$0")\n2. join()', 1, "refers to no task"),
        ('1. say("a")\n1. say("b")\n2. join()', 2, "task number 1 repeated"),
        ('1. say("a")\n3. say("b")\n4. join()', 2, "task number 3 skips ahead"),
        ('1. say("a")\n2. join()\n3. say("b")', 3, "text after join()"),
        (f"1. join(){END_OF_PLAN}\ngarbage", 2, "text after <END_OF_PLAN>"),
        ("Sure! Here is the plan:\n1. join()", 1, "not a numbered task"),
        ("1. say(hello)\n2. join()", 1, "bare name 'hello'"),
        ('1. say(text="hi")\n2. join()', 1, "keyword arguments"),
        ('1. say("unclosed)\n2. join()', 1, "not valid literals"),
        ("1. join(1)", 1, "join() takes no arguments"),
        (f'1. say("a"){END_OF_PLAN}', 1, "before join()"),
        ("1. say 'a'\n2. join()", 1, "not a call"),
    ],
)
def test_errors_name_line_and_reason(text, line, reason):
    with pytest.raises(PlanError) as err:
        parse_plan(text, ROBOT)
    assert err.value.line == line
    assert reason in err.value.reason
    assert "\n" not in str(err.value)


def test_streaming_emits_each_task_when_its_line_completes():
    parser = PlanParser(ROBOT)
    seen: list[tuple[int, str]] = []
    for pos, ch in enumerate(FETCH):
        for item in parser.feed(ch):
            seen.append((pos, type(item).__name__))
    # task 1 comes out at the newline ending its line, long before the text ends
    first_newline_after_task1 = FETCH.index("\n", FETCH.index("1. locate"))
    assert seen[0] == (first_newline_after_task1, "Task")
    assert [kind for _, kind in seen] == ["Task", "Task", "Task", "Join"]
    assert parser.finish() == parse_plan(FETCH, ROBOT)


def test_streaming_stops_at_the_first_bad_line():
    items = iter_plan(['1. say("ok")\n', '2. fly("x")\n', "3. dock()\n4. join()"], ROBOT)
    assert isinstance(next(items), Task)
    with pytest.raises(PlanError, match="line 2"):
        next(items)


def test_iter_plan_flushes_join_without_newline():
    items = list(iter_plan(['1. dock()\n2. jo', "in()"], ROBOT))
    assert [type(i) for i in items] == [Task, Join]


def test_resolve_whole_embedded_and_list_references():
    results = {1: "kitchen", 2: 42, 3: "/tmp/p.png"}
    assert resolve_value("$1", results) == "kitchen"
    assert resolve_value("${2}", results) == 42
    assert resolve_value("Photo from $1 at ${2}", results) == "Photo from kitchen at 42"
    assert resolve_value(["$3", "x"], results) == ["/tmp/p.png", "x"]


# ---------------------------------------------------------------- properties

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r$"),
    max_size=12,
)
_scalar = st.one_of(
    _text,
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
)
_value = st.one_of(_scalar, st.lists(_text, max_size=3))


@st.composite
def plans(draw) -> Plan:
    n = draw(st.integers(0, 6))
    tasks = []
    for idx in range(1, n + 1):
        args = list(draw(st.lists(_value, max_size=3)))
        if idx > 1 and draw(st.booleans()):
            args.append(f"${draw(st.integers(1, idx - 1))}")
        name = draw(st.sampled_from(["a", "b_2", "skill"]))
        thought = draw(st.one_of(st.none(), st.text(string.ascii_letters + " ,.", min_size=1,
                                                       max_size=20).map(str.strip)
                                 .filter(bool)))
        tasks.append(Task(idx, name, tuple(args), thought))
    return Plan(tuple(tasks), Join(n + 1))


@settings(max_examples=300, deadline=None)
@given(plans())
def test_render_parse_round_trip(plan):
    assert parse_plan(plan.render()) == plan


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_raises_only_plan_errors(text):
    try:
        parse_plan(text, ROBOT)
    except PlanError:
        pass


_plan_alphabet = st.sampled_from(
    list('0123456789.()"$,[] \n') + ["join()", END_OF_PLAN, "say(", "dock()", "1. ", "Thought: "]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_plan_alphabet, max_size=40).map("".join))
def test_plan_like_text_raises_only_plan_errors(text):
    try:
        parse_plan(text, ROBOT)
    except PlanError:
        pass


def test_bind_arguments_takes_objects_or_lists_and_checks_them_like_a_plan():
    invite = MAC["create_calendar_event"]
    names = [p.name for p in invite.params]
    values = ["Sync", "2026-11-23 10:00:00", "2026-11-23 11:00:00", "Room 1", ["a@b.c"], "",
              "Work"]
    assert bind_arguments(invite, dict(zip(names, values, strict=True))) == values
    assert bind_arguments(invite, values) == values
    assert bind_arguments(ROBOT["dock"], None) == [] == bind_arguments(ROBOT["dock"], {})
    go = ROBOT["navigate_to"]
    for bad, why in (({"location": 1}, "expected str, got int 1"),
                     ({}, "'location' is missing"),
                     ({"location": "x", "speed": 2}, "no parameter 'speed'"),
                     (["x", "y"], "takes 1 argument(s), got 2"),
                     ({"location": "$2"}, "no $N references"),
                     ("kitchen", "must be an object or a list")):
        with pytest.raises(ValueError, match=re.escape(why)):
            bind_arguments(go, bad)


ERRAND = ('1. navigate_to("kitchen")\n2. find_object("cup")\n3. pick_up("$2")\n'
         '4. locate_person("user")\n5. navigate_to("{to}")\n6. hand_over("$3", "user")\n'
         '7. join()<END_OF_PLAN>')


def test_a_reference_to_the_wrong_kind_of_result_is_refused_with_one_line():
    with pytest.raises(PlanError) as err:
        parse_plan(ERRAND.format(to="$3"), ROBOT)
    assert str(err.value) == ("line 5: task 5 navigate_to: argument 1 (location): $3 is "
                              "pick_up's result; it takes locate_person result")
    with pytest.raises(PlanError, match=r"\$1 is get_email_address's result; it takes "
                                        r"get_phone_number result"):
        parse_plan('1. get_email_address("Emily")\n2. send_sms(["$1"], "Hi")\n3. join()', MAC)


def test_retarget_moves_a_slipped_reference_to_the_nearest_task_of_the_right_kind():
    plan = parse_plan(ERRAND.format(to="$3"), ROBOT, retarget=True)
    assert plan.tasks[4].args == ("$4",)
    assert plan.render() == parse_plan(ERRAND.format(to="$4"), ROBOT).render()
    # lists too, and a right reference is left alone
    text = ('1. get_phone_number("Ann")\n2. get_email_address("Bo")\n'
            '3. send_sms(["$2", "$1"], "Hi")\n4. join()')
    assert parse_plan(text, MAC, retarget=True).tasks[2].args == (["$1", "$1"], "Hi")


def test_retarget_without_a_fitting_task_still_refuses():
    text = '1. find_object("cup")\n2. navigate_to("$1")\n3. join()'
    with pytest.raises(PlanError, match="it takes locate_person result"):
        parse_plan(text, ROBOT, retarget=True)


def test_streaming_retargets_before_the_task_is_handed_on():
    items = list(iter_plan(iter(ERRAND.format(to="$3")), ROBOT, retarget=True))
    assert items[4].args == ("$4",)


def test_a_catalog_cannot_name_an_unknown_skill_in_refs():
    from pydantic import ValidationError

    from tinyagent_ros.catalog import Catalog, Param, Skill

    with pytest.raises(ValidationError, match="refs names unknown skill 'find'"):
        Catalog(name="x", skills=(Skill(name="grab", description="d", params=(
            Param(name="obj", type="str", refs=("find",)),)),))


def _plan_text(*calls: str) -> str:
    return "".join(f"{i}. {c}\n" for i, c in enumerate(calls, 1)) + f"{len(calls) + 1}. join()"


def _tasks(*calls: str) -> list[Task]:
    return list(parse_plan(_plan_text(*calls)).tasks)


def test_a_block_written_three_times_in_a_row_is_a_loop():
    nav, find = 'navigate_to("table")', 'find_object("plate")'
    assert looping_block(_tasks(nav, nav, nav)) == 1
    assert looping_block(_tasks("dock()", nav, find, nav, find, nav, find)) == 2
    assert looping_block(_tasks(nav, find, nav, find, nav)) == 0
    assert looping_block(_tasks(nav, nav)) == 0
    # Three hand-overs each locate the user again: the same call, not a loop.
    deliveries = [c for obj in ("cup", "book", "key") for c in (
        f'find_object("{obj}")', 'locate_person("user")', 'navigate_to("$2")')]
    assert looping_block(_tasks(*deliveries)) == 0


def test_a_looping_model_plan_stops_before_the_repeat_runs():
    text = _plan_text(*['navigate_to("table")', 'find_object("plate")'] * 4)
    assert len(parse_plan(text, ROBOT).tasks) == 8  # a person may write that
    items = iter_plan(iter(text.splitlines(keepends=True)), ROBOT, stop_loops=True)
    handed = [next(items) for _ in range(5)]
    with pytest.raises(PlanLoopError, match="task 6 find_object writes the last 2 calls a third"):
        next(items)
    assert [t.idx for t in handed] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("name", ["gold_plans", "natural_robot", "natural_robot_2",
                                  "natural_mac"])
def test_no_hand_written_gold_plan_loops(name):
    for line in (DATA / f"{name}.jsonl").read_text().splitlines():
        tasks = parse_plan(json.loads(line)["plan"]).tasks
        assert not any(looping_block(tasks[:end]) for end in range(1, len(tasks) + 1)), line
