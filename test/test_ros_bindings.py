"""Skill bindings, message filling and the command runner, without a ROS graph."""

from __future__ import annotations

import math
import time

import pytest
import yaml

pytest.importorskip("rclpy")

from tinyagent_ros.backends.sim import SimBackend  # noqa: E402
from tinyagent_ros.catalog import load_catalog  # noqa: E402
from tinyagent_ros.ros.bindings import BindingError, load_bindings  # noqa: E402
from tinyagent_ros.ros.interfaces import (  # noqa: E402
    InterfaceError,
    fill_message,
    get_interface,
    to_python,
)
from tinyagent_ros.ros.runner import CommandRunner, QueuePolicy, check_command  # noqa: E402
from tinyagent_ros.ros.scripted import ScriptedPlanner  # noqa: E402

ROBOT = load_catalog("robot")


# ---------------------------------------------------------------- messages


def test_interface_lookup_names_the_problem():
    assert get_interface("tinyagent_interfaces/action/NavigateTo").__name__ == "NavigateTo"
    with pytest.raises(InterfaceError, match="not an interface type name"):
        get_interface("NavigateTo")
    with pytest.raises(InterfaceError, match="interface package 'no_such_pkg' not found"):
        get_interface("no_such_pkg/msg/Thing")
    with pytest.raises(InterfaceError, match="has no 'Nope'"):
        get_interface("std_msgs/msg/Nope")


def test_fill_message_checks_types_and_fills_nested_fields():
    pose = fill_message(get_interface("geometry_msgs/msg/PoseStamped"), {
        "header": {"frame_id": "map", "stamp": {"sec": 3}},
        "pose": {"position": {"x": 1, "y": -2.5}},
    })
    assert pose.header.frame_id == "map" and pose.header.stamp.sec == 3
    assert pose.pose.position.x == 1.0 and isinstance(pose.pose.position.x, float)
    audio_cls = get_interface("tinyagent_interfaces/msg/AudioChunk")
    audio = fill_message(audio_cls, {"sample_rate": 16000, "channels": 1, "samples": [1, -2]})
    assert to_python(audio)["samples"] == [1, -2]
    cases = [
        ({"samples": [40000]}, "samples\\[0\\]: 40000 is out of range for int16"),
        ({"channels": -1}, "channels: -1 is out of range for uint16"),
        ({"sample_rate": "fast"}, "sample_rate: expected an integer"),
        ({"header": {"frame": "map"}}, "header.frame: no such field in Header"),
        ({"samples": "abc"}, "samples: expected a list"),
    ]
    for data, message in cases:
        with pytest.raises(InterfaceError, match=message):
            fill_message(audio_cls, data)
    goal_cls = get_interface("tinyagent_interfaces/action/NavigateToPose").Goal
    with pytest.raises(InterfaceError, match="x: expected a number"):
        fill_message(goal_cls, {"x": "kitchen"})
    with pytest.raises(InterfaceError, match="yaw_deg: expected a number"):
        fill_message(goal_cls, {"yaw_deg": True})
    say = get_interface("tinyagent_interfaces/action/Say").Goal
    assert fill_message(say, {"text": 85}).text == "85"  # a $N number into a text field


# ---------------------------------------------------------------- bindings


def write(tmp_path, skills, catalog="robot", defaults=None):
    path = tmp_path / "bindings.yaml"
    data = {"catalog": catalog, "skills": skills}
    if defaults:
        data["defaults"] = defaults
    path.write_text(yaml.safe_dump(data))
    return path


SAY = {"action": "tinyagent_interfaces/action/Say", "name": "say", "goal": {"text": "{text}"},
       "result": "spoken", "message": "message", "feedback": "status"}


def test_shipped_bindings_cover_the_robot_catalog():
    bindings = load_bindings("robot_sim", ROBOT)
    assert sorted(bindings) == sorted(ROBOT.names)
    goal = bindings["navigate_to_pose"].build([3, -2, 90])
    assert (goal.x, goal.y, goal.yaw_deg) == (3.0, -2.0, 90.0)
    assert bindings["send_message"].param_paths() == {
        "recipient": "recipient", "text": "text", "attachment": "attachment"}


def test_gazebo_bindings_load_for_the_base_skills_and_name_what_is_unbound():
    base = ["navigate_to", "navigate_to_pose", "drive", "rotate"]
    bindings = load_bindings("robot_gazebo", ROBOT.subset(base))
    assert {b.name for b in bindings.values()} == {f"base_skills/{s}" for s in base}
    with pytest.raises(BindingError, match="no binding for skill.*leave them out"):
        load_bindings("robot_gazebo", ROBOT)


def test_templates_fill_nested_fields_with_filters(tmp_path):
    path = write(tmp_path, {"navigate_to_pose": {
        "topic": "geometry_msgs/msg/PoseStamped", "name": "goal_pose",
        "goal": {"header": {"frame_id": "map"},
                 "pose": {"position": {"x": "{x}", "y": "{y}"},
                          "orientation": {"z": "{yaw_deg|yaw_qz}", "w": "{yaw_deg|yaw_qw}"}}}},
        "say": {**SAY, "goal": {"text": "Robot says: {text}"}}})
    bindings = load_bindings(path, ROBOT, ["navigate_to_pose", "say"])
    msg = bindings["navigate_to_pose"].build([1, 2, 90])
    assert msg.header.frame_id == "map" and msg.pose.position.y == 2.0
    assert math.isclose(msg.pose.orientation.z, math.sin(math.pi / 4))
    assert math.isclose(msg.pose.orientation.w, math.cos(math.pi / 4))
    assert bindings["say"].build(["hi"]).text == "Robot says: hi"


@pytest.mark.parametrize("skills, only, message", [
    ({"say": SAY}, None, "no binding for skill\\(s\\) navigate_to, navigate_to_pose"),
    ({"say": SAY, "fly": SAY}, ["say"], "skill 'fly': no such skill in catalog 'robot'"),
    ({"say": {**SAY, "goal": {"txt": "{text}"}}}, ["say"],
     "skill 'say': goal: txt: no such field in Say_Goal"),
    ({"say": {**SAY, "goal": {"text": "{words}"}}}, ["say"],
     "skill 'say': goal: placeholder {words} is not a parameter of say\\(text: str\\)"),
    ({"say": {**SAY, "goal": {"text": "{text|loud}"}}}, ["say"], "unknown filter 'loud'"),
    ({"say": {**SAY, "result": "said"}}, ["say"], "skill 'say': result: .*no field 'said'"),
    ({"say": {**SAY, "action": "no_such_pkg/action/Speak"}}, ["say"],
     "skill 'say': interface package 'no_such_pkg' not found"),
    ({"say": {**SAY, "service": "std_srvs/srv/Trigger"}}, ["say"],
     "give exactly one of action, service, topic"),
    ({"say": {**SAY, "timeout": 3}}, ["say"], "skill 'say': field timeout: Extra inputs"),
    ({"rotate": {"action": "tinyagent_interfaces/action/Say", "name": "r",
                 "goal": {"text": "{angle_deg}"}}}, ["rotate"], None),
    ({"say": {"action": "tinyagent_interfaces/action/Rotate", "name": "r",
              "goal": {"angle_deg": "{text}"}}}, ["say"],
     "skill 'say': goal: angle_deg: expected a number \\(double\\), got str"),
])
def test_bad_bindings_fail_at_load_naming_skill_and_field(tmp_path, skills, only, message):
    path = write(tmp_path, skills)
    if message is None:  # a number into a text field is fine
        load_bindings(path, ROBOT, only)
        return
    with pytest.raises(BindingError, match=message):
        load_bindings(path, ROBOT, only)


def test_bindings_file_for_another_catalog_is_refused(tmp_path):
    with pytest.raises(BindingError, match="binds catalog 'mac', not 'robot'"):
        load_bindings(write(tmp_path, {}, catalog="mac"), ROBOT)
    with pytest.raises(BindingError, match="cannot read bindings"):
        load_bindings(tmp_path / "missing.yaml", ROBOT)


# ---------------------------------------------------------------- the runner


PLANS = {
    "chat": '1. say("Hello")\n2. join()',
    "errand": '1. navigate_to("kitchen")\n2. say("Here")\n3. join()',
}


def make_runner(policy, queue_size=4, time_scale=0.05):
    from tinyagent_ros.agent import Agent

    planner = ScriptedPlanner(ROBOT, PLANS)
    backend = SimBackend(time_scale=time_scale)
    events: list[dict] = []

    def make_agent(on_event, on_plan):
        return Agent(planner, backend, max_replans=0, on_event=on_event)

    runner = CommandRunner(make_agent, policy=policy, queue_size=queue_size,
                           on_event=events.append)
    return runner, events


def test_queue_runs_commands_one_after_the_other():
    runner, events = make_runner(QueuePolicy.QUEUE)
    try:
        first, second = runner.submit("errand"), runner.submit("chat")
        assert first.done.result(10).success and second.done.result(10).success
        ends = [e for e in events if e["kind"] == "command_finished"]
        starts = [e for e in events if e["kind"] == "command_started"]
        assert [e["command"] for e in starts] == [first.id, second.id]
        assert ends[0]["command"] == first.id
        result = second.done.result()
        assert result.plan.startswith('1. say("Hello")')
        assert result.task_results[0].startswith('1. say("Hello") -> "Hello"')
    finally:
        runner.close()


def test_reject_and_full_queue_refuse_with_a_reason():
    runner, _ = make_runner(QueuePolicy.REJECT)
    try:
        first, second = runner.submit("errand"), runner.submit("chat")
        assert second.done.result(5).error == "busy with another command"
        assert first.done.result(10).success
    finally:
        runner.close()
    runner, _ = make_runner(QueuePolicy.QUEUE, queue_size=1)
    try:
        commands = [runner.submit("errand") for _ in range(3)]
        assert "queue is full" in commands[2].done.result(5).error
    finally:
        runner.close()


def test_preempt_cancels_the_running_command_for_the_new_one():
    runner, events = make_runner(QueuePolicy.PREEMPT, time_scale=0.5)
    try:
        first = runner.submit("errand")
        deadline = time.monotonic() + 5
        while not any(e["kind"] == "task_started" for e in events):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = runner.submit("chat")
        result = first.done.result(5)
        assert not result.success and "preempted by command" in result.error
        assert second.done.result(10).success
    finally:
        runner.close()


def test_estop_cancels_the_running_and_the_waiting_commands():
    runner, events = make_runner(QueuePolicy.QUEUE, time_scale=0.5)
    try:
        running, waiting = runner.submit("errand"), runner.submit("chat")
        time.sleep(0.2)
        t0 = time.monotonic()
        runner.estop()
        assert not running.done.result(2).success
        assert waiting.done.result(2).error == "emergency stop"
        assert time.monotonic() - t0 < 0.1
        assert any(e["kind"] == "task_cancelled" for e in events)
    finally:
        runner.close()


@pytest.mark.parametrize("text, reason", [
    ("", "empty"), ("\n\t ", "empty"), ("x" * 1001, "limit is 1000"),
    ("go\x1b[1m now", "control characters"), (None, "not text"),
])
def test_check_command_refuses_what_cannot_be_run(text, reason):
    with pytest.raises(ValueError, match=reason):
        check_command(text)


def test_scripted_planner_validates_its_plans(tmp_path):
    bad = tmp_path / "plans.yaml"
    bad.write_text(yaml.safe_dump({"fly": "1. fly()\n2. join()"}))
    with pytest.raises(ValueError, match="plan for 'fly'"):
        ScriptedPlanner.from_file(bad, ROBOT)
    planner = ScriptedPlanner(ROBOT, {"*": PLANS["chat"]})
    prompt = planner.prompt_for("Anything at all")
    assert "".join(planner.stream(prompt)).endswith("<END_OF_PLAN>")


def test_runner_survives_a_crashing_agent():
    def make_agent(on_event, on_plan):
        raise RuntimeError("boom")

    runner = CommandRunner(make_agent)
    try:
        result = runner.submit("chat").done.result(5)
        assert not result.success and "internal error: RuntimeError: boom" in result.error
    finally:
        runner.close()
