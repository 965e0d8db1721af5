"""The tinyagent node over real DDS: commands, goals, estop, errors, lifecycle.

The agent (``tinyagent-node``, backend ``ros``) and the simulated robot
(``tinyagent-sim-skills``) run as processes, as a user starts them; the test
talks to them through a probe node. Plans come from a stored plan file (the
node's ``plan_text_file``), so these tests do not depend on the model; the
``llm`` test at the end runs the shipped model end to end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("rclpy")

from tinyagent_ros.ros.testing import NodeProcess, Probe, pcm16, pick_domain  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.ros

#: Simulated time runs five times faster than real time.
TIME_SCALE = 0.2
NAMESPACE = "robot1"

PLANS = {
    # Four independent tasks: they all run at once.
    "report in": """1. get_battery_level()
2. locate_person("alice")
3. say("Hello")
4. send_message("user", "On my way", "")
5. join()""",
    # Base motions in order, a people lookup beside them, a photo result passed on.
    "send me a photo of the room": """1. rotate(90)
2. drive(1)
3. locate_person("user")
4. take_photo("the room")
5. send_message("user", "Here is the room", "$4")
6. join()""",
    # what whisper hears in test/data/audio/battery.wav
    "go charge yourself": """1. dock()
2. join()""",
    # Three tasks at once, then a drive that waits for the base. Five turns take 30 s of
    # simulated time (6 s here), so a stop or cancel that comes late under load still finds
    # them running (a search for a missing object gave up after 1 s, and the queued command
    # then started before the estop arrived).
    "long errand": """1. rotate(1800)
2. locate_person("alice")
3. send_message("user", "Busy for a while", "")
4. navigate_to("garage")
5. join()""",
}


@pytest.fixture(scope="module")
def domain() -> int:
    return pick_domain()


@pytest.fixture(scope="module")
def ros_graph(domain, tmp_path_factory):
    """The simulated robot, the agent and a probe, on this module's private domain."""
    plans = tmp_path_factory.mktemp("plans") / "plans.yaml"
    plans.write_text(yaml.safe_dump(PLANS), encoding="utf-8")
    # in a namespace, as on a robot: every name of the agent and the bindings is relative
    sim = NodeProcess("tinyagent-sim-skills", {"time_scale": TIME_SCALE}, domain,
                      namespace=NAMESPACE)
    agent = NodeProcess("tinyagent-node", {"backend": "ros", "plan_text_file": str(plans),
                                           "queue_policy": "queue", "max_replans": 0,
                                           "confirm_skills": ["send_message"],
                                           "confirm_timeout_s": 3.0},
                        domain, params_file=ROOT / "config" / "agent.yaml", namespace=NAMESPACE)
    probe = Probe(domain, agent=f"/{NAMESPACE}/tinyagent", sim=f"/{NAMESPACE}/sim_robot")
    serve_confirmations(probe)
    try:
        probe.wait_ready(30.0)
        yield probe, agent, sim
    finally:
        probe.close()
        codes = agent.stop(), sim.stop()
        print("\n--- agent ---\n" + agent.output()[-3000:] + "\n--- sim ---\n"
              + sim.output()[-2000:])
        assert codes == (0, 0), "a node did not exit cleanly"


def serve_confirmations(probe):
    """Answer the agent's ~/confirm questions with ``probe.answer`` (yes unless a test says no)."""
    from tinyagent_interfaces.srv import Confirm

    probe.answer, probe.questions = (True, ""), []

    def confirm(request, response):
        probe.questions.append(request.question)
        response.confirmed, response.reason = probe.answer
        return response

    probe.node.create_service(Confirm, f"/{NAMESPACE}/tinyagent/confirm", confirm)


@pytest.fixture
def probe(ros_graph):
    probe = ros_graph[0]
    probe.reset()
    probe.answer = (True, "")
    return probe


def goals_of(world, *skills):
    return [g for g in world["goals"] if not skills or g["skill"] in skills]


def test_text_command_runs_to_the_end_with_independent_goals_in_parallel(probe):
    t0 = time.monotonic()
    cid = probe.command("report in")
    finished = probe.finished(cid, timeout=10)
    assert finished["value"] is True, finished["message"]
    world = probe.world()
    goals = goals_of(world)
    assert sorted(g["skill"] for g in goals) == [
        "get_battery_level", "locate_person", "say", "send_message"]
    assert all(g["outcome"] == "succeeded" for g in goals)
    by = {g["skill"]: g for g in goals}
    # say (0.4 s) and send_message (0.2 s) ran at the same time, and so did the others
    assert by["send_message"]["received"] < by["say"]["ended"]
    assert by["say"]["received"] < by["send_message"]["ended"]
    span = max(g["ended"] for g in goals) - min(g["received"] for g in goals)
    assert span < 0.8 * sum(g["ended"] - g["received"] for g in goals)
    assert world["world"]["spoken"] == ["Hello"]
    assert probe.questions[-1] == 'May I send_message("user", "On my way", "")?'
    assert probe.plans and "send_message" in probe.plans[-1]
    first_goal = min(g["received"] for g in goals) - t0
    print(f"command published -> first goal at the robot: {first_goal * 1000:.1f} ms")
    assert first_goal < 1.0


def test_action_goal_runs_to_the_end_with_feedback_and_results(probe):
    from action_msgs.msg import GoalStatus

    feedback: list[dict] = []
    handle = probe.send_goal("send me a photo of the room", feedback)
    assert handle.accepted
    response = probe.result(handle, timeout=15)
    result = response.result
    assert response.status == GoalStatus.STATUS_SUCCEEDED, result.summary
    assert result.success
    assert "take_photo" in result.plan
    assert len(result.task_results) == 5
    assert "delivered to user" in result.summary
    # feedback and result travel on different topics, and rclpy drops feedback that comes
    # after the result: the last events may be missing here
    kinds = [e["kind"] for e in feedback]
    assert "command_started" in kinds and "task_started" in kinds
    world = probe.world()
    message = world["world"]["messages"][-1]
    assert message["attachment"].endswith(".png") and Path(message["attachment"]).is_file()
    by = {g["skill"]: g for g in goals_of(world)}
    # the people lookup ran while the base turned; the base motions ran one after the other
    assert by["locate_person"]["received"] < by["rotate"]["ended"]
    assert by["rotate"]["ended"] <= by["drive"]["received"]


def test_goal_cancel_stops_every_task(probe):
    from action_msgs.msg import GoalStatus

    feedback: list[dict] = []
    handle = probe.send_goal("long errand", feedback)
    assert probe.wait_until(lambda: sum(e["kind"] == "task_started" for e in feedback) >= 3, 5)
    time.sleep(0.05)
    cancel = handle.cancel_goal_async()
    response = probe.result(handle, timeout=5)
    assert cancel.done()
    assert response.status == GoalStatus.STATUS_CANCELED
    assert not response.result.success
    world = probe.world()
    assert "navigate_to" not in {g["skill"] for g in goals_of(world)}
    assert goals_of(world, "rotate")[0]["outcome"] == "canceled"


def test_estop_cancels_running_and_pending_tasks_of_every_command(probe):
    from action_msgs.msg import GoalStatus

    running = probe.command("long errand")
    queued = probe.command("report in")
    queued_goal = probe.send_goal("report in")
    assert probe.wait_until(
        lambda: sum(e["kind"] == "task_started" for e in probe.of(running)) >= 3, 5)
    time.sleep(0.1)  # the goals reach the robot
    t_stop = probe.estop()
    assert probe.finished(running, timeout=5)["value"] is False
    assert probe.wait_until(lambda: probe.find("command_cancelled", command=queued), 5)
    response = probe.result(queued_goal, timeout=5)
    assert response.status == GoalStatus.STATUS_ABORTED
    assert "emergency stop" in response.result.summary
    events = probe.of(running)
    cancelled = {e["task"] for e in events if e["kind"] == "task_cancelled"}
    succeeded = {e["task"] for e in events if e["kind"] == "task_succeeded"}
    # the long turn and the drive waiting for it are stopped; the short tasks may have
    # finished just before the stop, and every task either finished or was cancelled
    assert {1, 4} <= cancelled
    assert cancelled | succeeded == {1, 2, 3, 4}
    world = probe.world()
    goals = goals_of(world)
    assert {g["skill"] for g in goals} <= {"rotate", "locate_person", "send_message"}
    stopped = [g for g in goals if g["outcome"] == "canceled"]
    assert "rotate" in {g["skill"] for g in stopped}
    # a goal that was not cancelled had ended by the time the stop reached it (or finished
    # on its own as the cancel request came in)
    reached = max(g["cancel_requested"] for g in stopped)
    for g in goals:
        if g["outcome"] != "canceled":
            assert g["ended"] <= (g.get("cancel_requested") or reached) + 0.2, g
    latency = max(g["ended"] for g in stopped) - t_stop
    print(f"estop -> every goal stopped at the robot: {latency * 1000:.1f} ms "
          f"({len(stopped)} goals)")
    assert latency < 1.0  # a bound that catches a stop that only lands at a timeout


def test_malformed_commands_give_error_events_and_the_node_keeps_serving(probe):
    from action_msgs.msg import GoalStatus

    for text, reason in (("", "empty"), ("   ", "empty"), ("go " * 2000, "the limit is 1000"),
                         ("stop\x1b[2Jnow", "control characters")):
        cid = probe.command(text)
        error = probe.find("command_error", command=cid)
        assert error is not None and reason in error["message"]
    handle = probe.send_goal("")
    response = probe.result(handle, timeout=5)
    assert response.status == GoalStatus.STATUS_ABORTED
    assert "empty" in response.result.summary
    unplanned = probe.command("do a backflip")  # the stored plans have none for it
    assert probe.finished(unplanned, timeout=5)["value"] is False
    cid = probe.command("report in")
    assert probe.finished(cid, timeout=10)["value"] is True


def test_a_refused_confirmation_fails_the_task(probe):
    probe.answer = (False, "the user is asleep")
    cid = probe.command("report in")
    finished = probe.finished(cid, timeout=10)
    assert finished["value"] is False
    failed = probe.find("task_failed", command=cid)
    assert failed["skill"] == "send_message"
    assert failed["message"] == "not confirmed: the user is asleep"
    assert "send_message" not in {g["skill"] for g in goals_of(probe.world())}


def test_tool_services_run_one_skill_each_through_the_queue(probe):
    battery = probe.call_tool("get_battery_level")
    assert battery.success, battery.error
    assert 0 <= json.loads(battery.result) <= 100
    where = probe.call_tool("locate_person", {"name": "alice"})
    assert where.success and isinstance(json.loads(where.result), str)
    positional = probe.call_tool("rotate", [90])
    assert positional.success, positional.error
    assert [g["skill"] for g in goals_of(probe.world())] == [
        "get_battery_level", "locate_person", "rotate"]
    started = [e for e in probe.events if e["kind"] == "command_started"]
    assert [e["message"].splitlines()[0] for e in started] == [
        "1. get_battery_level()", '1. locate_person("alice")', "1. rotate(90)"]


def test_tool_services_refuse_bad_arguments_without_running_anything(probe):
    for skill, arguments, reason in (
            ("navigate_to", {"location": 5}, "expected str, got int 5"),
            ("navigate_to", {}, "argument 'location' is missing"),
            ("navigate_to", {"place": "kitchen"}, "no parameter 'place'"),
            ("navigate_to", '{"location": ', "bad arguments for navigate_to"),
            ("rotate", [90, 1], "takes 1 argument(s), got 2"),
            ("pick_up", {"object_id": "$1"}, "no $N references"),
            ("dock", "[1]", "takes 0 argument(s)")):
        response = probe.call_tool(skill, arguments)
        assert not response.success and response.result == ""
        assert reason in response.error and "\n" not in response.error
    assert goals_of(probe.world()) == []
    assert probe.call_tool("dock", "{}").success  # and the node still serves


def test_tool_services_ask_for_confirmation_like_plans_do(probe):
    probe.answer = (False, "not now")
    response = probe.call_tool("send_message", {"recipient": "user", "text": "hi",
                                                "attachment": ""})
    assert not response.success and "not confirmed: not now" in response.error
    assert goals_of(probe.world(), "send_message") == []
    probe.answer = (True, "")
    response = probe.call_tool("send_message", ["user", "hi", ""])
    assert response.success, response.error
    assert len(goals_of(probe.world(), "send_message")) == 1


def spoken(name: str):
    """A test clip as int16 samples and its rate."""
    return pcm16(ROOT / "test" / "data" / "audio" / f"{name}.wav")


def test_spoken_command_on_audio_is_transcribed_and_runs(probe):
    import numpy as np

    samples, rate = spoken("battery")
    silence = np.zeros(rate, np.int16)
    t0 = time.monotonic()
    probe.speak(np.concatenate([silence[: rate // 2], samples, silence]), rate)
    assert probe.wait_until(lambda: probe.transcripts, 30), "no transcript"
    assert probe.transcripts[-1].lower().rstrip("!.") == "go charge yourself"
    assert probe.wait_until(lambda: probe.find("command_queued", value="speech"), 5)
    queued = probe.find("command_queued", value="speech")
    assert queued["message"] == probe.transcripts[-1]
    assert probe.finished(queued["command"], timeout=15)["value"] is True
    assert [g["skill"] for g in goals_of(probe.world())] == ["dock"]
    print(f"end of speech -> transcript: {probe.find('transcript')['message']}; "
          f"published audio -> command finished {time.monotonic() - t0:.1f} s")


def test_bad_audio_gives_events_mute_silences_and_the_node_keeps_listening(probe):
    import numpy as np

    probe.chunk([1, 2, 3], 0, 1)            # no sample rate
    probe.chunk([1, 2, 3], 16000, 0)        # no channels
    probe.chunk([1, 2, 3], 16000, 2)        # half a frame
    probe.chunk([], 16000, 1)               # empty
    probe.chunk(np.full(16000, 32767), 16000, 1)  # a clipped square second
    assert probe.wait_until(lambda: sum(e["kind"] == "speech_bad_chunk"
                                        for e in probe.events) >= 3, 5)
    samples, rate = spoken("battery")
    assert probe.mute(True).success
    probe.speak(np.concatenate([samples, np.zeros(rate, np.int16)]), rate)
    time.sleep(2.0)
    assert probe.transcripts == [] and probe.find("speech_muted") is not None
    assert probe.mute(False).success
    probe.speak(np.concatenate([samples, np.zeros(rate, np.int16)]), rate)
    assert probe.wait_until(lambda: probe.transcripts, 30), "no transcript after unmute"


# ---------------------------------------------------------------- configure failures


@pytest.mark.parametrize("model", ["path", "name"])
def test_configure_fails_with_the_reason_when_the_model_is_missing(tmp_path, model):
    missing = tmp_path / "planner.gguf"
    value, reason = {
        "path": (str(missing), f"planner model not found: {missing}"),
        "name": ("7b", "planner model '7b' does not exist: not a file, nor a model name (0.5b"),
    }[model]
    node = NodeProcess("tinyagent-node", {"model_path": value}, pick_domain(1))
    try:
        node.proc.wait(30)
    finally:
        node.stop()
    assert node.proc.returncode == 1
    assert f"configure failed: {reason}" in node.output()


def test_lifecycle_configure_fails_on_a_missing_interface_then_succeeds(tmp_path):
    """A manager drives the node: a bad bindings file fails configure, a good one passes."""
    from lifecycle_msgs.msg import State, Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"catalog": "robot", "skills": {
        "say": {"action": "no_such_pkg/action/Speak", "name": "speak", "goal": {}}}}))
    plan = tmp_path / "plan.txt"
    plan.write_text('1. say("Hi")\n2. join()\n')
    domain = pick_domain(2)
    node = NodeProcess("tinyagent-node", {
        "autostart": False, "backend": "ros", "bindings_file": str(bad),
        "allowed_skills": ["say"], "plan_text_file": str(plan), "listen": False,
    }, domain)
    probe = Probe(domain)
    try:
        change = probe.node.create_client(ChangeState, "/tinyagent/change_state")
        get = probe.node.create_client(GetState, "/tinyagent/get_state")
        params = probe.node.create_client(SetParameters, "/tinyagent/set_parameters")
        assert change.wait_for_service(20.0)

        def call(client, request):
            return _call(client, request)

        configure = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_CONFIGURE))
        assert call(change, configure).success is False
        assert node.wait_for_line("interface package 'no_such_pkg' not found", 5)
        assert call(get, GetState.Request()).current_state.id == State.PRIMARY_STATE_UNCONFIGURED
        good = Parameter(name="bindings_file", value=ParameterValue(
            type=ParameterType.PARAMETER_STRING, string_value="robot_sim"))
        assert call(params, SetParameters.Request(parameters=[good])).results[0].successful
        assert call(change, configure).success is True
        assert call(get, GetState.Request()).current_state.id == State.PRIMARY_STATE_INACTIVE
        for transition, state in ((Transition.TRANSITION_ACTIVATE, State.PRIMARY_STATE_ACTIVE),
                                  (Transition.TRANSITION_DEACTIVATE,
                                   State.PRIMARY_STATE_INACTIVE),
                                  (Transition.TRANSITION_CLEANUP,
                                   State.PRIMARY_STATE_UNCONFIGURED)):
            request = ChangeState.Request(transition=Transition(id=transition))
            assert call(change, request).success is True
            assert call(get, GetState.Request()).current_state.id == state
    finally:
        probe.close()
        code = node.stop()
        print(node.output())
    assert code == 0, node.output()


def _call(client, request, timeout=30.0):
    future = client.call_async(request)
    deadline = time.monotonic() + timeout
    while not future.done():
        assert time.monotonic() < deadline, "service call timed out"
        time.sleep(0.01)
    return future.result()


# ---------------------------------------------------------------- the real model


@pytest.mark.llm
def test_shipped_model_plans_and_runs_a_command_end_to_end():
    pytest.importorskip("llama_cpp")
    from tinyagent_ros.planner import PlannerError, default_model_path

    try:
        default_model_path()
    except PlannerError as err:
        pytest.skip(str(err))
    domain = pick_domain(3)
    node = NodeProcess("tinyagent-node", {
        "backend": "sim", "time_scale": TIME_SCALE,
        # a short prompt keeps this test fast; planning quality is measured elsewhere
        "allowed_skills": ["get_battery_level", "say"],
    }, domain, params_file=ROOT / "config" / "agent.yaml")
    probe = Probe(domain)
    try:
        probe.wait_ready(60.0, sim=False)
        cid = probe.command("What is your battery level?")
        finished = probe.finished(cid, timeout=60)
        assert finished["value"] is True, finished["message"]
        assert "get_battery_level()" in probe.plans[-1]
        assert "80" in finished["message"].split("answer:")[-1]  # the battery level
        plans = len(probe.plans)
        cid = probe.command("Could you mow the lawn and then do the laundry?")
        finished = probe.finished(cid, timeout=60)
        assert finished["value"] is False
        assert finished["message"].startswith("declined: no skill of the robot catalog fits")
        declined = [e for e in probe.of(cid) if e.get("kind") == "declined"]
        assert len(declined) == 1
        started = [e for e in probe.of(cid) if e.get("kind") == "task_started"]
        assert [e["skill"] for e in started] == ["say"]  # config/agent.yaml's decline_reply
        assert len(probe.plans) == plans  # nothing was planned
    finally:
        probe.close()
        code = node.stop()
        print(node.output())
    assert code == 0, node.output()
