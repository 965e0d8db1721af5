"""The simulated robot's skill servers (``tinyagent-sim-skills``, ``tinyagent-sim``).

One node, ``sim_robot``, serves every action of a bindings file (default
``robot_sim``) on a simulated home: goals are decoded with the same templates
the agent's ``ros`` backend fills them with, the skill runs in the simulator,
feedback is its progress text, and a cancel stops it. ``physics`` picks the
simulator: ``kinematic`` (:class:`SimBackend`, ``tinyagent-sim-skills``'
default) or ``mujoco`` (:class:`MujocoBackend`, ``tinyagent-sim``'s default),
which also runs a clock and publishes the robot's topics
(:mod:`tinyagent_ros.ros.sim_sensors`). For tests and tools it also offers:

- ``~/get_world_state`` (``std_srvs/srv/Trigger``): ``message`` is JSON with the
  world (``world``) and one record per goal (``goals``: skill, args, outcome and
  ``time.monotonic()`` stamps of arrival, cancel request and end);
- ``~/reset`` (``std_srvs/srv/Trigger``): a fresh world and an empty goal log;
- ``~/world_state`` (``std_msgs/msg/String``, latched): the world after each goal.

With physics the world state has a ``physics`` key (body positions, joint angles).

Examples::

    tinyagent-sim-skills --ros-args -p time_scale:=0.5
    tinyagent-sim --record /tmp/frames --ros-args -p time_scale:=0.2
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import sys
import threading
import time
from typing import Any

import rclpy
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from rclpy.signals import SignalHandlerOptions
from std_msgs.msg import String
from std_srvs.srv import Trigger

from tinyagent_ros.backends.base import SkillFailed
from tinyagent_ros.backends.sim import SimBackend
from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.ros.bindings import SkillBinding, load_bindings
from tinyagent_ros.ros.interfaces import InterfaceError, get_field, set_field
from tinyagent_ros.ros.process import shut_down, spin_until_signal

#: How long a cancelled goal may wait for rclpy to mark it as cancelling.
_CANCEL_STATE_WAIT_S = 1.0


class SimSkillsNode(Node):
    """Serve the simulated robot's skills as ROS 2 actions."""

    def __init__(self, physics: str = "kinematic", record_dir: str = "", **kwargs: Any) -> None:
        super().__init__("sim_robot", **kwargs)
        self.declare_parameter("bindings_file", "robot_sim")
        self.declare_parameter("catalog", "robot")
        self.declare_parameter("world", "home")
        self.declare_parameter("time_scale", 1.0)
        self.declare_parameter("photo_dir", "")
        self.declare_parameter("physics", physics)
        self.declare_parameter("camera_hz", 1.0)
        self.declare_parameter("record_dir", record_dir)
        param = self.get_parameter
        self._physics = param("physics").value
        if self._physics not in ("kinematic", "mujoco"):
            raise ValueError(f"physics {self._physics!r}: use kinematic or mujoco")
        self._world_name = param("world").value
        self._time_scale = float(param("time_scale").value)
        self._photo_dir = param("photo_dir").value or None
        catalog = load_catalog(param("catalog").value)
        self._bindings = load_bindings(param("bindings_file").value, catalog)
        self._goals: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-skills",
                                        daemon=True)
        self._thread.start()
        self._sensors: Any = None
        self._physics_clock: concurrent.futures.Future[None] | None = None
        if self._physics == "mujoco":
            from tinyagent_ros.ros.sim_sensors import SimSensors

            self._sensors = SimSensors(self, self._loop,
                                       camera_hz=float(param("camera_hz").value),
                                       record_dir=str(param("record_dir").value))
        self._start(self._new_backend())
        group = ReentrantCallbackGroup()
        self._servers = []
        for binding in self._bindings.values():
            if binding.kind != "action":
                self.get_logger().warning(f"{binding.skill.name}: only actions are simulated; "
                                          f"skipping the {binding.kind} {binding.name}")
                continue
            self._servers.append(self._serve(binding, group))
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self._state_pub = self.create_publisher(String, "~/world_state", latched)
        self.create_service(Trigger, "~/get_world_state", self._get_state, callback_group=group)
        self.create_service(Trigger, "~/reset", self._reset, callback_group=group)
        self._publish_state()
        self.get_logger().info(
            f"serving {len(self._servers)} skills on world {self._world_name!r} "
            f"({self._physics} physics, time scale {self._time_scale:g})"
        )

    def _new_backend(self) -> SimBackend:
        if self._physics == "mujoco":
            from tinyagent_ros.backends.mujoco import MujocoBackend

            return MujocoBackend(self._world_name, time_scale=self._time_scale,
                                 photo_dir=self._photo_dir)
        return SimBackend(self._world_name, time_scale=self._time_scale,
                          photo_dir=self._photo_dir)

    def _start(self, backend: SimBackend) -> None:
        """Use ``backend`` from now on; with physics, run its clock on the simulation loop."""
        if self._physics_clock is not None:
            self._physics_clock.cancel()
        self.backend = backend
        if self._sensors is not None:
            self._sensors.backend = backend
            self._physics_clock = asyncio.run_coroutine_threadsafe(
                backend.run_clock(self._sensors.on_tick), self._loop)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Stop the simulation loop (running goals and the physics clock are cancelled)."""
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._loop.is_running():
            with contextlib.suppress(concurrent.futures.TimeoutError):
                asyncio.run_coroutine_threadsafe(cancel_all(), self._loop).result(2.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2.0)

    # ------------------------------------------------------------ actions

    def _serve(self, binding: SkillBinding, group: ReentrantCallbackGroup) -> ActionServer:
        skill = binding.skill
        paths = binding.param_paths()
        missing = [p.name for p in skill.params if p.name not in paths]
        if missing:
            raise InterfaceError(f"{skill.name}: the goal template has no plain field for "
                                 f"{', '.join(missing)}; the simulator cannot decode it")
        running: dict[bytes, tuple[concurrent.futures.Future[Any], dict[str, Any]]] = {}

        def execute(goal_handle: Any) -> Any:
            args = [get_field(goal_handle.request, paths[p.name]) for p in skill.params]
            record = {"skill": skill.name, "args": args, "received": time.monotonic(),
                      "cancel_requested": None, "ended": None, "outcome": None}
            self._goals.append(record)

            def feedback(text: str) -> None:
                msg = binding.feedback_class()
                if binding.spec.feedback:
                    set_field(msg, binding.spec.feedback, text)
                goal_handle.publish_feedback(msg)

            job = asyncio.run_coroutine_threadsafe(
                self.backend.call(skill, args, feedback), self._loop)
            key = bytes(goal_handle.goal_id.uuid)
            running[key] = (job, record)
            result = binding.result_class()
            try:
                value = job.result()
            except SkillFailed as err:
                outcome = "aborted"
                if binding.spec.message:
                    set_field(result, binding.spec.message, str(err))
            except Exception as err:  # noqa: BLE001 - cancelled, or a bug in the simulator
                outcome = "canceled" if job.cancelled() else "aborted"
                if outcome == "aborted" and binding.spec.message:
                    set_field(result, binding.spec.message,
                              f"simulator error: {type(err).__name__}: {err}")
            else:
                outcome = "succeeded"
                if binding.spec.result:
                    set_field(result, binding.spec.result, value)
            finally:
                running.pop(key, None)
            record["ended"], record["outcome"] = time.monotonic(), outcome
            if outcome == "canceled":
                # rclpy marks the goal as cancelling right after cancel_callback returns.
                deadline = time.monotonic() + _CANCEL_STATE_WAIT_S
                while not goal_handle.is_cancel_requested and time.monotonic() < deadline:
                    time.sleep(0.002)
                if goal_handle.is_cancel_requested:
                    goal_handle.canceled()
                else:
                    goal_handle.abort()
            elif outcome == "succeeded":
                goal_handle.succeed()
            else:
                goal_handle.abort()
            self._publish_state()
            return result

        def cancel(goal_handle: Any) -> CancelResponse:
            entry = running.get(bytes(goal_handle.goal_id.uuid))
            if entry is not None:
                job, record = entry
                record["cancel_requested"] = time.monotonic()
                job.cancel()
            return CancelResponse.ACCEPT

        return ActionServer(
            self, binding.interface, binding.name, execute_callback=execute,
            goal_callback=lambda goal: GoalResponse.ACCEPT, cancel_callback=cancel,
            callback_group=group,
        )

    # ------------------------------------------------------------ state

    def _state(self) -> dict[str, Any]:
        async def snapshot() -> dict[str, Any]:  # on the simulation loop: a consistent world
            state = {"world": self.backend.world.to_dict(),
                     "goals": [dict(g) for g in self._goals], "clock": "monotonic"}
            if hasattr(self.backend, "physics_state"):
                state["physics"] = self.backend.physics_state()
            return state

        return asyncio.run_coroutine_threadsafe(snapshot(), self._loop).result(5.0)

    def _publish_state(self) -> None:
        self._state_pub.publish(String(data=json.dumps(self._state()["world"])))

    def _get_state(self, request: Any, response: Any) -> Any:
        response.success = True
        response.message = json.dumps(self._state())
        return response

    def _reset(self, request: Any, response: Any) -> Any:
        async def reset() -> None:
            self._start(self._new_backend())
            self._goals.clear()

        asyncio.run_coroutine_threadsafe(reset(), self._loop).result(5.0)
        self._publish_state()
        response.success, response.message = True, "world reset"
        return response


def main(args: list[str] | None = None, physics: str = "kinematic") -> None:
    """Run the simulated skill servers until SIGINT or SIGTERM."""
    argv = list(sys.argv if args is None else args)
    record_dir = ""
    if "--record" in argv:  # tinyagent-sim --record DIR: overview frames, 2 per second
        at = argv.index("--record")
        if at + 1 >= len(argv):
            print("tinyagent-sim: --record needs a folder", file=sys.stderr)
            sys.exit(2)
        record_dir = argv[at + 1]
        del argv[at:at + 2]
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    try:
        node = SimSkillsNode(physics=physics, record_dir=record_dir)
    except (ValueError, OSError) as err:
        print(f"tinyagent-sim: {err}", file=sys.stderr)
        rclpy.shutdown()
        sys.exit(1)
    executor = MultiThreadedExecutor(num_threads=16)  # a thread per running goal
    executor.add_node(node)
    stop = threading.Event()
    spin = spin_until_signal(executor, stop)
    stop.wait()
    node.close()
    shut_down(spin, executor)


def main_physics() -> None:
    """``tinyagent-sim``: the simulated home on MuJoCo physics, with the robot's topics."""
    main(physics="mujoco")


if __name__ == "__main__":
    main()
