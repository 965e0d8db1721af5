"""Base skills for any robot with ``cmd_vel`` and ``odom`` (``tinyagent-base-skills``).

For a Gazebo robot (through ``ros_gz_bridge``) or any differential drive without
Nav2: ``navigate_to`` (a named place of a world YAML, through the room graph's
doorways), ``navigate_to_pose``, ``drive`` and ``rotate`` as the typed
``tinyagent_interfaces`` actions, ``base_skills/<skill>``. Each runs a
go-to-goal controller on the odometry pose (odom frame = map frame: no
localisation, no obstacle avoidance; use Nav2 bindings for that). A base that
makes no progress for ``stall_s`` seconds of odometry time fails the goal with
"the way is blocked"; a cancel stops the base.

Example::

    tinyagent-base-skills --ros-args -p world:=home -r cmd_vel:=/model/robot/cmd_vel
"""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import Any

import rclpy
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from tinyagent_ros.ros.process import shut_down, spin_until_signal
from tinyagent_ros.sim.control import angle_diff, clip, go_to_goal
from tinyagent_ros.sim.world import World, load_world


class BaseFailed(Exception):
    """The base could not do it; the message is the one-line reason."""


class Cancelled(Exception):
    """The goal was cancelled."""


class BaseSkillsNode(Node):
    """Drive, rotate and go to places or poses with cmd_vel, watching odom."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("base_skills", **kwargs)
        for name, default in (("world", "home"), ("max_speed", 0.5), ("max_turn", 1.0),
                              ("rate_hz", 20.0), ("tolerance_m", 0.05),
                              ("tolerance_deg", 2.0), ("stall_s", 3.0)):
            self.declare_parameter(name, default)
        param = self.get_parameter
        self.world: World = load_world(param("world").value)
        self.max_speed = float(param("max_speed").value)
        self.max_turn = float(param("max_turn").value)
        self.period = 1.0 / float(param("rate_hz").value)
        self.tolerance_m = float(param("tolerance_m").value)
        self.tolerance_rad = math.radians(float(param("tolerance_deg").value))
        self.stall_s = float(param("stall_s").value)
        self._pose: tuple[float, float, float, float] | None = None  # x, y, yaw, stamp s
        self._pose_lock = threading.Lock()
        self._base_lock = threading.Lock()
        group = ReentrantCallbackGroup()
        self._cmd = self.create_publisher(Twist, "cmd_vel", 10)
        self.create_subscription(Odometry, "odom", self._on_odom, 20, callback_group=group)
        from tinyagent_interfaces.action import Drive, NavigateTo, NavigateToPose, Rotate

        self._servers = [
            self._serve(NavigateTo, "navigate_to", self._navigate_to, "place", group),
            self._serve(NavigateToPose, "navigate_to_pose", self._navigate_to_pose, "pose",
                        group),
            self._serve(Drive, "drive", self._drive, "distance_m", group),
            self._serve(Rotate, "rotate", self._rotate, "angle_deg", group),
        ]
        self.get_logger().info(f"base skills on {self.resolve_topic_name('cmd_vel')} / "
                               f"{self.resolve_topic_name('odom')}, places of "
                               f"{self.world.name!r}")

    # ------------------------------------------------------------ odometry

    def _on_odom(self, msg: Odometry) -> None:
        q = msg.pose.pose.orientation
        yaw = math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        with self._pose_lock:
            self._pose = (msg.pose.pose.position.x, msg.pose.pose.position.y, yaw, stamp)

    def pose(self) -> tuple[float, float, float, float]:
        """The latest odometry pose (x, y, yaw, stamp); waits up to 5 s for the first."""
        deadline = time.monotonic() + 5.0
        while True:
            with self._pose_lock:
                if self._pose is not None:
                    return self._pose
            if time.monotonic() > deadline:
                raise BaseFailed(f"no odometry on {self.resolve_topic_name('odom')}")
            time.sleep(0.02)

    # ------------------------------------------------------------ control

    def _send(self, linear: float, angular: float) -> None:
        msg = Twist()
        msg.linear.x, msg.angular.z = linear, angular
        self._cmd.publish(msg)

    def _loop(self, goal: Any, step: Any) -> None:
        """Call ``step(pose) -> (linear, angular) | None`` every period until it returns None."""
        best, best_at = math.inf, self.pose()[3]
        try:
            while True:
                if goal.is_cancel_requested:
                    raise Cancelled
                pose = self.pose()
                command = step(pose)
                if command is None:
                    return
                linear, angular, remaining = command
                if remaining < best - 0.01:
                    best, best_at = remaining, pose[3]
                elif pose[3] - best_at > self.stall_s:
                    raise BaseFailed("the way is blocked")
                self._send(linear, angular)
                time.sleep(self.period)
        finally:
            self._send(0.0, 0.0)

    def _turn_to(self, goal: Any, yaw: float) -> None:
        def step(pose: tuple[float, ...]) -> tuple[float, float, float] | None:
            error = angle_diff(yaw - pose[2])
            if abs(error) < self.tolerance_rad:
                return None
            return 0.0, clip(2.5 * error, self.max_turn), abs(error)

        self._loop(goal, step)

    def _go_to(self, goal: Any, x: float, y: float, backwards: bool = False) -> None:
        start = self.pose()
        if math.hypot(x - start[0], y - start[1]) < self.tolerance_m:
            return
        if not backwards:
            self._turn_to(goal, math.atan2(y - start[1], x - start[0]))

        def step(pose: tuple[float, ...]) -> tuple[float, float, float] | None:
            command = go_to_goal(pose[0], pose[1], pose[2], x, y, backwards=backwards,
                                 max_speed=self.max_speed, max_turn=self.max_turn,
                                 turn_gain=2.5)
            return None if command[2] < self.tolerance_m else command

        self._loop(goal, step)

    # ------------------------------------------------------------ skills

    def _navigate_to(self, goal: Any, feedback: Any, location: str) -> str:
        target = self.world.place(location) or self.world.person_place(location)
        if target is None:
            raise BaseFailed(f"unknown place: {location}")
        x, y, _, _ = self.pose()
        legs = self.world.route(self.world.nearest_place(x, y).room, target.room) or []
        for conn, entered in legs:
            feedback(f"driving to the {entered}")
            self._go_to(goal, conn.x, conn.y)
        self._go_to(goal, target.x, target.y)
        return target.name

    def _navigate_to_pose(self, goal: Any, feedback: Any, x: float, y: float,
                          yaw_deg: float) -> str:
        self._go_to(goal, x, y)
        self._turn_to(goal, math.radians(yaw_deg))
        return f"x={x:g} y={y:g} yaw={yaw_deg:g}"

    def _drive(self, goal: Any, feedback: Any, distance_m: float) -> float:
        x, y, yaw, _ = self.pose()
        self._go_to(goal, x + distance_m * math.cos(yaw), y + distance_m * math.sin(yaw),
                    backwards=distance_m < 0)
        return distance_m

    def _rotate(self, goal: Any, feedback: Any, angle_deg: float) -> float:
        self._turn_to(goal, self.pose()[2] + math.radians(angle_deg))
        return angle_deg

    def _serve(self, action: Any, name: str, run: Any, result_field: str,
               group: ReentrantCallbackGroup) -> ActionServer:
        fields = [f for f in action.Goal.get_fields_and_field_types()]

        def execute(goal: Any) -> Any:
            result = action.Result()

            def feedback(text: str) -> None:
                goal.publish_feedback(action.Feedback(status=text))

            args = [getattr(goal.request, f) for f in fields]
            if not self._base_lock.acquire(blocking=False):
                result.message = "the base is busy with another goal"
                goal.abort()
                return result
            try:
                setattr(result, result_field, run(goal, feedback, *args))
            except Cancelled:
                goal.canceled()
                result.message = "cancelled"
                return result
            except BaseFailed as err:
                result.message = str(err)
                goal.abort()
                return result
            finally:
                self._base_lock.release()
            goal.succeed()
            return result

        return ActionServer(self, action, f"~/{name}", execute_callback=execute,
                            goal_callback=lambda g: GoalResponse.ACCEPT,
                            cancel_callback=lambda g: CancelResponse.ACCEPT,
                            callback_group=group)


def main(args: list[str] | None = None) -> None:
    """Serve the base skills until SIGINT or SIGTERM."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        node = BaseSkillsNode()
    except (ValueError, OSError) as err:
        print(f"tinyagent-base-skills: {err}", file=sys.stderr)
        rclpy.shutdown()
        sys.exit(1)
    executor = MultiThreadedExecutor(num_threads=6)
    executor.add_node(node)
    stop = threading.Event()
    spin = spin_until_signal(executor, stop)
    stop.wait()
    shut_down(spin, executor)


if __name__ == "__main__":
    main()
