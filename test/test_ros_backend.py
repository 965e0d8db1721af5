"""The ``ros`` backend against a fake robot over DDS: actions, services, topics, failures."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import yaml

pytest.importorskip("rclpy")

from tinyagent_ros.backends.base import SkillFailed  # noqa: E402
from tinyagent_ros.catalog import load_catalog  # noqa: E402
from tinyagent_ros.ros.bindings import BindingsBackend, load_bindings  # noqa: E402
from tinyagent_ros.ros.testing import pick_domain  # noqa: E402

pytestmark = pytest.mark.ros
ROBOT = load_catalog("robot")

BINDINGS = {
    "catalog": "robot",
    "defaults": {"server_timeout_s": 2},
    "skills": {
        "say": {"action": "tinyagent_interfaces/action/Say", "name": "fake/say",
                "goal": {"text": "{text}"}, "result": "spoken", "message": "message",
                "feedback": "status", "timeout_s": 0.5},
        "dock": {"service": "std_srvs/srv/SetBool", "name": "fake/switch",
                 "goal": {"data": False}, "success": "success", "message": "message"},
        "rotate": {"service": "std_srvs/srv/SetBool", "name": "fake/switch",
                   "goal": {"data": True}, "success": "success", "result": "message"},
        "send_message": {"topic": "std_msgs/msg/String", "name": "fake/outbox",
                         "goal": {"data": "{recipient}: {text}"}},
        "take_photo": {"action": "tinyagent_interfaces/action/TakePhoto", "name": "fake/none",
                       "goal": {"subject": "{subject}"}, "server_timeout_s": 0.2},
    },
}


class FakeRobot:
    """Say: 'no' is rejected, 'hang' runs until cancelled, 'slow' takes 0.3 s; a switch service."""

    def __init__(self, node):
        from rclpy.action import ActionServer, CancelResponse, GoalResponse
        from rclpy.callback_groups import ReentrantCallbackGroup
        from std_msgs.msg import String
        from std_srvs.srv import SetBool

        from tinyagent_interfaces.action import Say

        self.cancelled: list[float] = []
        self.outbox: list[str] = []
        self.Say = Say
        group = ReentrantCallbackGroup()
        ActionServer(node, Say, "fake/say", self.execute, callback_group=group,
                     goal_callback=lambda g: GoalResponse.REJECT if g.text == "no"
                     else GoalResponse.ACCEPT,
                     cancel_callback=lambda h: CancelResponse.ACCEPT)
        node.create_service(SetBool, "fake/switch", self.switch, callback_group=group)
        node.create_subscription(String, "fake/outbox", lambda m: self.outbox.append(m.data), 10,
                                 callback_group=group)

    def execute(self, handle):
        handle.publish_feedback(self.Say.Feedback(status=f"saying {handle.request.text}"))
        end = time.monotonic() + (0.3 if handle.request.text == "slow" else 0.0)
        while handle.request.text == "hang" or time.monotonic() < end:
            if handle.is_cancel_requested:
                self.cancelled.append(time.monotonic())
                handle.canceled()
                return self.Say.Result(message="cancelled")
            time.sleep(0.005)
        handle.succeed()
        return self.Say.Result(spoken=handle.request.text)

    def switch(self, request, response):
        response.success = request.data
        response.message = "ok" if request.data else "the switch refused"
        return response


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    import rclpy
    from rclpy.executors import MultiThreadedExecutor

    path = tmp_path_factory.mktemp("bindings") / "fake.yaml"
    path.write_text(yaml.safe_dump(BINDINGS))
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=pick_domain(4))
    robot_node = rclpy.create_node("fake_robot", context=context)
    agent_node = rclpy.create_node("agent", context=context)
    robot = FakeRobot(robot_node)
    bindings = load_bindings(path, ROBOT, list(BINDINGS["skills"]))
    backend = BindingsBackend(agent_node, ROBOT, bindings)
    executor = MultiThreadedExecutor(num_threads=6, context=context)
    executor.add_node(robot_node)
    executor.add_node(agent_node)
    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()
    yield backend, robot
    backend.destroy()
    rclpy.shutdown(context=context)
    spin.join(5)
    executor.shutdown()


def call(backend, skill, *args, feedback=None):
    return asyncio.run(backend.call(ROBOT[skill], list(args), feedback or (lambda text: None)))


def test_action_result_and_feedback(backend):
    backend, _ = backend
    progress: list[str] = []
    assert call(backend, "say", "hello", feedback=progress.append) == "hello"
    assert progress == ["saying hello"]


def test_rejected_goal_and_missing_server_fail_with_the_reason(backend):
    backend, _ = backend
    with pytest.raises(SkillFailed, match="fake/say rejected the goal"):
        call(backend, "say", "no")
    with pytest.raises(SkillFailed, match="action server fake/none not available"):
        call(backend, "take_photo", "the cat")


def test_timeout_cancels_the_goal(backend):
    backend, robot = backend
    before = len(robot.cancelled)
    with pytest.raises(SkillFailed, match="no result from fake/say within 0.5 s"):
        call(backend, "say", "hang")
    deadline = time.monotonic() + 2
    while len(robot.cancelled) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(robot.cancelled) == before + 1


def test_asyncio_cancellation_cancels_the_goal_promptly(backend):
    backend, robot = backend
    before = len(robot.cancelled)

    async def run():
        task = asyncio.create_task(backend.call(ROBOT["say"], ["hang"], lambda text: None))
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return t0, time.monotonic() - t0

    t0, unwound = asyncio.run(run())
    assert unwound < 0.1
    deadline = time.monotonic() + 2
    while len(robot.cancelled) == before and time.monotonic() < deadline:
        time.sleep(0.005)
    assert robot.cancelled[-1] - t0 < 0.1


def test_independent_goals_are_in_flight_together(backend):
    backend, _ = backend

    async def run():
        start = time.monotonic()
        results = await asyncio.gather(*(backend.call(ROBOT["say"], ["slow"], lambda t: None)
                                         for _ in range(3)))
        return results, time.monotonic() - start

    results, took = asyncio.run(run())
    assert results == ["slow"] * 3
    assert took < 0.6  # three 0.3 s goals at once, not 0.9 s one after the other


def test_services_and_topics(backend):
    backend, robot = backend
    assert call(backend, "rotate", 90) == "ok"
    with pytest.raises(SkillFailed, match="the switch refused"):
        call(backend, "dock")
    assert call(backend, "send_message", "alice", "Hi", "") == "published on fake/outbox"
    deadline = time.monotonic() + 2
    while not robot.outbox and time.monotonic() < deadline:
        time.sleep(0.01)
    assert robot.outbox == ["alice: Hi"]


def test_clients_made_while_the_node_spins_do_not_kill_the_executor(tmp_path):
    """A lifecycle configure arrives while the executor spins (ros2/rclpy#1589)."""
    import rclpy
    from rclpy.executors import MultiThreadedExecutor

    path = tmp_path / "fake.yaml"
    path.write_text(yaml.safe_dump(BINDINGS))
    bindings = load_bindings(path, ROBOT, ["say", "take_photo"])
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=pick_domain(7))
    node = rclpy.create_node("agent", context=context)
    executor = MultiThreadedExecutor(num_threads=8, context=context)
    executor.add_node(node)
    died: list[BaseException] = []

    def spin():
        try:
            executor.spin()
        except BaseException as err:  # noqa: BLE001 - the test reports what killed it
            died.append(err)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            BindingsBackend(node, ROBOT, bindings).destroy()
        time.sleep(0.1)
        assert not died and thread.is_alive()
    finally:
        rclpy.shutdown(context=context)
        thread.join(5)
        executor.shutdown()
