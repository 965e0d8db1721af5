"""The physics simulator's robot topics: what a driver on a real base would publish.

``odom`` (nav_msgs/Odometry), ``joint_states`` (sensor_msgs/JointState), ``scan``
(sensor_msgs/LaserScan), ``camera/image_raw`` (sensor_msgs/Image, rgb8) and
``/clock`` (rosgraph_msgs/Clock, the simulated time every stamp uses); the base
obeys ``cmd_vel`` (geometry_msgs/Twist) while no skill is driving it.
``tf`` is not published: no PyPI wheel carries tf2_msgs (odom holds the pose).
Optionally saves overview frames (PNG) for a recording of the run.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState, LaserScan

from tinyagent_ros.backends.mujoco import CONTROL_S, MujocoBackend

SCAN_RAYS = 90
SCAN_RANGE_M = 8.0


def _stamp(seconds: float) -> Time:
    sec = int(seconds)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


class SimSensors:
    """Publishes a :class:`MujocoBackend`'s sensors on each tick of its clock."""

    def __init__(self, node: Any, loop: asyncio.AbstractEventLoop, *, scan_hz: float = 5.0,
                 camera_hz: float = 1.0, record_dir: str = "", record_hz: float = 2.0) -> None:
        self.backend: MujocoBackend | None = None
        self._loop = loop
        self._pubs = {
            "odom": node.create_publisher(Odometry, "odom", 10),
            "joints": node.create_publisher(JointState, "joint_states", 10),
            "scan": node.create_publisher(LaserScan, "scan", 10),
            "image": node.create_publisher(Image, "camera/image_raw", 2),
            "clock": node.create_publisher(Clock, "/clock", 10),
        }
        self._sub = node.create_subscription(Twist, "cmd_vel", self._on_cmd_vel, 10)
        self._every = {name: max(1, round(1.0 / (hz * CONTROL_S))) for name, hz in
                       (("scan", scan_hz), ("image", camera_hz), ("record", record_hz))}
        self._record = Path(record_dir) if record_dir else None
        if self._record is not None:
            self._record.mkdir(parents=True, exist_ok=True)
        self._ticks = 0
        self.frames = 0

    def _on_cmd_vel(self, msg: Twist) -> None:
        backend = self.backend
        if backend is not None:  # the physics belongs to the simulation loop's thread
            self._loop.call_soon_threadsafe(backend.set_cmd_vel, msg.linear.x, msg.angular.z)

    def on_tick(self) -> None:
        """Publish what is due this tick (runs on the simulation loop)."""
        backend = self.backend
        if backend is None:
            return
        self._ticks += 1
        stamp = _stamp(float(backend.data.time))
        self._pubs["clock"].publish(Clock(clock=stamp))
        self._publish_odom(backend, stamp)
        joints = backend.joint_positions()
        self._pubs["joints"].publish(JointState(
            header=self._header(stamp, "base_link"), name=list(joints),
            position=list(joints.values())))
        if self._ticks % self._every["scan"] == 0:
            ranges = backend.scan(SCAN_RAYS, SCAN_RANGE_M)
            self._pubs["scan"].publish(LaserScan(
                header=self._header(stamp, "base_link"), angle_min=0.0,
                angle_max=2 * math.pi * (SCAN_RAYS - 1) / SCAN_RAYS,
                angle_increment=2 * math.pi / SCAN_RAYS, range_min=0.05,
                range_max=SCAN_RANGE_M, ranges=ranges))
        if self._ticks % self._every["image"] == 0:
            width, height, pixels = backend.render_rgb()
            self._pubs["image"].publish(Image(
                header=self._header(stamp, "camera"), height=height, width=width,
                encoding="rgb8", is_bigendian=0, step=width * 3, data=pixels))
        if self._record is not None and self._ticks % self._every["record"] == 0:
            self.frames += 1
            (self._record / f"frame_{self.frames:05d}.png").write_bytes(
                backend.render_png("overview", (640, 480)))

    @staticmethod
    def _header(stamp: Time, frame: str) -> Any:
        from std_msgs.msg import Header

        return Header(stamp=stamp, frame_id=frame)

    def _publish_odom(self, backend: MujocoBackend, stamp: Time) -> None:
        robot = backend.world.robot
        yaw = math.radians(robot.yaw_deg)
        msg = Odometry(header=self._header(stamp, "odom"), child_frame_id="base_link")
        msg.pose.pose.position.x, msg.pose.pose.position.y = robot.x, robot.y
        msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(
            yaw / 2)
        msg.twist.twist.linear.x, msg.twist.twist.angular.z = backend.base_velocity()
        self._pubs["odom"].publish(msg)
