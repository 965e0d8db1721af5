"""The robot catalog on MuJoCo physics: the simulated home, with bodies, joints and contacts.

It extends :class:`SimBackend`, whose world model keeps the names (places,
people, objects, doors) and the skills' rules (what is visible, who is
where); here motion and manipulation happen in MuJoCo instead of being
interpolated:

- time passes by stepping the physics (``_pass``), paced by ``time_scale``;
- the base drives with a go-to-goal (unicycle) controller on its velocity
  actuators, so it moves as a differential drive; a closed door stops it by
  contact, and a base that makes no progress fails the skill;
- the arm's lift and reach joints move the gripper to the object, and a weld
  constraint holds it (pick up) until it is released over a surface (it falls
  and rests there) or welded to a person's hand (hand over);
- doors and the fridge swing on hinges driven by position actuators;
- ``take_photo`` renders the head camera (offscreen, ``MUJOCO_GL=egl``).

``physics_state()`` reports body poses and joint angles for tests and the sim
node. The planner cannot tell this backend from the simple one: same skills,
same results, same failure messages for the same situations.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tinyagent_ros.backends.base import Feedback, SkillFailed
from tinyagent_ros.backends.sim import (
    BATTERY_PCT_PER_M,
    REACH_M,
    SPEED_M_S,
    TURN_DEG_S,
    SimBackend,
    _png,
    _wrap,
)
from tinyagent_ros.sim.control import go_to_goal
from tinyagent_ros.sim.mjcf import (
    OBJECT_HALF,
    body_name,
    build_mjcf,
    door_frames,
    surface_z,
)
from tinyagent_ros.sim.world import Place, World

if sys.platform.startswith("linux"):
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; before mujoco loads GL

#: Control period (simulated seconds): the controller reads the pose and sets actuators.
CONTROL_S = 0.05
#: Base-to-target distance that counts as arrived (m), and heading tolerance (degrees).
ARRIVED_M = 0.05
ALIGNED_DEG = 2.0
#: No more progress than this (m) over STALL_S simulated seconds means the way is blocked.
STALL_M = 0.03
STALL_S = 1.5
#: Where the base stops in front of what the arm works on (m from it).
STANDOFF_M = 0.75
#: Gripper x offset from the base centre with the reach joint at 0 (m), and its reach.
GRIPPER_X = 0.62
REACH_MAX = 0.8
#: Height of the lift joint's zero above the floor (m).
LIFT_Z0 = 0.15
#: How far a welded object hangs below the gripper or hand (m), as in the MJCF.
HOLD_DZ = 0.06
#: Hinge angle that counts as open (radians).
OPEN_RAD = 1.4
#: Camera image size (pixels).
IMAGE_SIZE = (320, 240)


class MujocoBackend(SimBackend):
    """Run robot skills on a MuJoCo model of the simulated home."""

    name = "mujoco"

    def __init__(
        self,
        world: World | str | Path | None = None,
        time_scale: float = 1.0,
        photo_dir: str | Path | None = None,
    ) -> None:
        super().__init__(world, time_scale, photo_dir)
        try:
            import mujoco
        except ImportError as err:
            raise ValueError(f"the mujoco backend needs the mujoco package ({err}); "
                             "pip install mujoco==4.0.0") from None
        self._mj = mujoco
        self.mjcf = build_mjcf(self.world)
        self.model = mujoco.MjModel.from_xml_string(self.mjcf)
        self.data = mujoco.MjData(self.model)
        self._renderer: Any = None
        self._doors = {f.name: f for f in door_frames(self.world)}
        robot = self.world.robot
        self._set_joint("base_x", robot.x)
        self._set_joint("base_y", robot.y)
        self._set_joint("base_yaw", math.radians(robot.yaw_deg))
        for box in self.world.openables.values():
            angle = math.pi / 2 if box.open else 0.0
            self._set_joint(body_name("hinge", box.name), angle)
            self._ctrl(body_name("hinge", box.name), angle)
        mujoco.mj_forward(self.model, self.data)
        self._last_xy = (robot.x, robot.y)
        self._step(0.5)  # let the objects settle on their surfaces
        #: Set while :meth:`run_clock` steps the physics; skills then wait for its ticks.
        self._ticks: asyncio.Condition | None = None
        self._base_busy = 0
        self._cmd_vel = (0.0, 0.0, -1.0)  # linear m/s, angular rad/s, simulated time given

    # ------------------------------------------------------------ physics plumbing

    def _joint_adr(self, name: str) -> int:
        return int(self.model.jnt_qposadr[self.model.joint(name).id])

    def _joint(self, name: str) -> float:
        return float(self.data.qpos[self._joint_adr(name)])

    def _set_joint(self, name: str, value: float) -> None:
        self.data.qpos[self._joint_adr(name)] = value

    def _ctrl(self, actuator: str, value: float) -> None:
        self.data.ctrl[self.model.actuator(actuator).id] = value

    def _body_pos(self, name: str) -> tuple[float, float, float]:
        x, y, z = self.data.xpos[self.model.body(name).id]
        return float(x), float(y), float(z)

    def _weld(self, holder: str, item_id: str, active: bool) -> None:
        self.data.eq_active[self.model.equality(f"{holder}+{item_id}").id] = int(active)

    def _step(self, seconds: float) -> None:
        steps = max(1, round(seconds / self.model.opt.timestep))
        self._mj.mj_step(self.model, self.data, nstep=steps)
        self._sync_robot()

    def _sync_robot(self) -> None:
        """Copy the base pose into the world model and drain the battery by distance."""
        robot = self.world.robot
        x, y = self._joint("base_x"), self._joint("base_y")
        moved = math.hypot(x - self._last_xy[0], y - self._last_xy[1])
        self._last_xy = (x, y)
        robot.x, robot.y = x, y
        robot.yaw_deg = _wrap(math.degrees(self._joint("base_yaw")))
        if moved > 1e-4:
            robot.charging = False
            robot.battery = max(0.0, robot.battery - BATTERY_PCT_PER_M * moved)

    async def _pass(self, seconds: float) -> None:
        """Let simulated time pass: step the physics, or wait for the clock's ticks."""
        if self._ticks is not None:
            target = self.data.time + seconds - 1e-6
            async with self._ticks:
                await self._ticks.wait_for(lambda: self.data.time >= target)
            return
        remaining = seconds
        while remaining > 1e-9:
            dt = min(CONTROL_S, remaining)
            self._step(dt)
            remaining -= dt
            await asyncio.sleep(dt * self.time_scale)

    async def run_clock(self, on_tick: Callable[[], None] | None = None) -> None:
        """Step the physics forever, one control period per tick, paced by ``time_scale``.

        For a simulator node: the world moves on its own (``cmd_vel`` drives the base
        when no skill does) and ``on_tick`` publishes sensors. Skills running
        meanwhile wait for ticks instead of stepping.
        """
        self._ticks = asyncio.Condition()
        try:
            while True:
                if not self._base_busy:
                    self._apply_cmd_vel()
                self._step(CONTROL_S)
                async with self._ticks:
                    self._ticks.notify_all()
                if on_tick is not None:
                    on_tick()
                await asyncio.sleep(CONTROL_S * self.time_scale)
        finally:
            self._ticks = None

    def set_cmd_vel(self, linear: float, angular: float) -> None:
        """A velocity command for the base (m/s, rad/s), obeyed for 0.5 s while no skill drives."""
        self._cmd_vel = (max(-SPEED_M_S, min(SPEED_M_S, linear)),
                         max(-1.5, min(1.5, angular)), float(self.data.time))

    def _apply_cmd_vel(self) -> None:
        linear, angular, given = self._cmd_vel
        if given < 0 or self.data.time - given > 0.5:
            linear = angular = 0.0
        yaw = self._joint("base_yaw")
        self._ctrl("base_x", linear * math.cos(yaw))
        self._ctrl("base_y", linear * math.sin(yaw))
        self._ctrl("base_yaw", angular)

    def _stop_base(self) -> None:
        for name in ("base_x", "base_y", "base_yaw"):
            self._ctrl(name, 0.0)

    @contextlib.contextmanager
    def _driving(self) -> Iterator[None]:
        """The base belongs to a skill: cmd_vel is ignored; the actuators stop afterwards."""
        self._base_busy += 1
        try:
            yield
        finally:
            self._base_busy -= 1
            self._stop_base()

    # ------------------------------------------------------------ base motion

    async def _turn(self, delta_deg: float) -> None:
        """Turn in place by ``delta_deg`` with a proportional yaw-rate controller."""
        if abs(delta_deg) < 1e-9:
            return
        target = self._joint("base_yaw") + math.radians(delta_deg)
        limit = math.radians(TURN_DEG_S)
        with self._driving():
            for _ in range(int((abs(delta_deg) / TURN_DEG_S + 5.0) / CONTROL_S)):
                error = target - self._joint("base_yaw")
                if abs(math.degrees(error)) < ALIGNED_DEG:
                    return
                self._ctrl("base_x", 0.0)
                self._ctrl("base_y", 0.0)
                self._ctrl("base_yaw", max(-limit, min(limit, 3.0 * error)))
                await self._pass(CONTROL_S)
            raise SkillFailed(f"could not turn {delta_deg:g} degrees: the base is stuck")

    async def _move(self, x: float, y: float, *, face: bool = True) -> None:
        """Drive to (x, y) as a differential drive; fail when blocked (a closed door)."""
        robot = self.world.robot
        if math.hypot(x - robot.x, y - robot.y) < ARRIVED_M:
            return
        heading = math.degrees(math.atan2(y - robot.y, x - robot.x))
        backwards = not face and abs(_wrap(heading - robot.yaw_deg)) > 90
        if face:
            await self._turn(_wrap(heading - robot.yaw_deg))
        robot.place = None
        window: list[float] = []
        with self._driving():
            while True:
                yaw = self._joint("base_yaw")
                speed, turn, dist = go_to_goal(
                    self._joint("base_x"), self._joint("base_y"), yaw, x, y,
                    backwards=backwards, max_speed=SPEED_M_S, max_turn=1.5, turn_gain=3.0)
                if dist < ARRIVED_M:
                    return
                if robot.battery <= 0:
                    raise SkillFailed("battery empty")
                self._ctrl("base_x", speed * math.cos(yaw))
                self._ctrl("base_y", speed * math.sin(yaw))
                self._ctrl("base_yaw", turn)
                await self._pass(CONTROL_S)
                window.append(dist)
                if len(window) > STALL_S / CONTROL_S:
                    if window[0] - window[-1] < STALL_M:
                        raise SkillFailed(self._blocked_reason())
                    window.pop(0)

    def _blocked_reason(self) -> str:
        """Why the base cannot move: the door it touches, else an obstacle."""
        base = self.model.geom("base").id
        for contact in self.data.contact[: self.data.ncon]:
            other = contact.geom2 if contact.geom1 == base else (
                contact.geom1 if contact.geom2 == base else None)
            if other is None:
                continue
            body = self.model.body(int(self.model.geom_bodyid[other])).name
            if body.startswith("door:"):
                name = body.removeprefix("door:").replace("_", " ")
                return f"door closed on the way: {name}"
        return "the way is blocked"

    async def _navigate_to(self, feedback: Feedback, location: str) -> str:
        """As in the simple simulator, but a door or a surface is reached in front of it,
        facing it (on the side of its room's centre), as a robot stands at a table.
        """
        spot = self.world.place(location) or self.world.person_place(location)
        if spot is None or spot.kind not in ("door", "surface"):
            return await super()._navigate_to(feedback, location)
        centre = next(p for p in self.world.places.values()
                      if p.room == spot.room and p.kind == "room")
        dx, dy = centre.x - spot.x, centre.y - spot.y
        dist = math.hypot(dx, dy)
        if dist < 1e-6:
            dx, dy, dist = 1.0, 0.0, 1.0
        feedback(f"driving to the {spot.name}")
        await self._travel(spot.x + dx / dist * STANDOFF_M, spot.y + dy / dist * STANDOFF_M,
                           spot.room, feedback)
        await self._face(spot.x, spot.y)
        self.world.robot.place = spot.name
        feedback(f"arrived at the {spot.name}")
        return spot.name

    async def _approach(self, place: Place) -> None:
        """Stop the base in front of ``place`` (arm's reach), facing it."""
        robot = self.world.robot
        dx, dy = place.x - robot.x, place.y - robot.y
        dist = math.hypot(dx, dy)
        if dist < 0.1:  # standing on it: back up along the heading
            yaw = math.radians(robot.yaw_deg)
            dx, dy, dist = math.cos(yaw), math.sin(yaw), 1.0
        if abs(dist - STANDOFF_M) > 0.1:
            await self._move(place.x - dx / dist * STANDOFF_M, place.y - dy / dist * STANDOFF_M,
                             face=dist > STANDOFF_M)
        await self._face(place.x, place.y)
        robot.place = place.name

    async def _face(self, x: float, y: float) -> None:
        robot = self.world.robot
        if math.hypot(x - robot.x, y - robot.y) > 1e-6:
            heading = math.degrees(math.atan2(y - robot.y, x - robot.x))
            await self._turn(_wrap(heading - robot.yaw_deg))

    # ------------------------------------------------------------ arm

    async def _arm_to(self, height: float, reach: float) -> None:
        """Move the gripper to ``height`` above the floor and ``reach`` out; wait until there."""
        lift = max(0.0, min(1.2, height - LIFT_Z0 + HOLD_DZ))
        reach = max(0.0, min(REACH_MAX, reach))
        self._ctrl("lift", lift)
        self._ctrl("reach", reach)
        for _ in range(int(3.0 / CONTROL_S)):
            await self._pass(CONTROL_S)
            if abs(self._joint("lift") - lift) < 0.01 and abs(self._joint("reach") - reach) < 0.01:
                return
        raise SkillFailed("the arm could not reach its pose")

    def _reach_to(self, x: float, y: float) -> float:
        """The reach joint value that puts the gripper over (x, y); fail when out of reach."""
        robot = self.world.robot
        out = math.hypot(x - robot.x, y - robot.y) - GRIPPER_X
        if out > REACH_MAX + 0.05:
            raise SkillFailed(f"out of reach: {out - REACH_MAX:.2f} m too far")
        return out

    async def _pick_up(self, feedback: Feedback, object_id: str) -> str:
        world = self.world
        item = self._graspable(object_id)
        await self._approach(world.places[item.place])
        x, y, z = self._body_pos(body_name("object", item.id))
        await self._face(x, y)
        feedback(f"grasping {item.label}")
        await self._arm_to(z + 0.1, self._reach_to(x, y))  # above it, then down
        await self._arm_to(z, self._reach_to(x, y))
        gx, gy, gz = self._body_pos("gripper")
        if math.dist((gx, gy, gz - HOLD_DZ), (x, y, z)) > 0.12:
            raise SkillFailed(f"missed {item.label}: the gripper is not at it")
        self._weld("gripper", item.id, True)
        await self._arm_to(1.0, 0.0)  # carry pose
        world.grasp(item)
        return item.id

    async def _place(self, feedback: Feedback, object_id: str, location: str) -> str:
        item, target = self._place_target(object_id, location)
        await self._approach(target)
        top = surface_z(target.name) if target.kind == "surface" else 0.0
        x, y = self._free_spot(target, item.id)
        await self._face(x, y)
        await self._arm_to(top + OBJECT_HALF + 0.03, self._reach_to(x, y))
        self._weld("gripper", item.id, False)
        await self._pass(0.6)  # it drops the last centimetres and settles
        await self._arm_to(1.0, 0.0)
        _, _, z = self._body_pos(body_name("object", item.id))
        self.world.release(item, place=target.name)
        if abs(z - (top + OBJECT_HALF)) > 0.05:
            item.place = None  # on the floor
            raise SkillFailed(f"{item.label} fell off the {target.name}")
        return f"{item.id} on the {target.name}"

    def _free_spot(self, target: Place, item_id: str) -> tuple[float, float]:
        """A point on the surface at least 10 cm from every other object lying there."""
        others = [self._body_pos(body_name("object", i))[:2] for i in self.world.items
                  if i != item_id]
        for k in (0, 1, -1, 2, -2, 3, -3):
            x, y = target.x + 0.12 * k, target.y
            if all(math.hypot(x - ox, y - oy) > 0.1 for ox, oy in others):
                return x, y
        raise SkillFailed(f"no room left on the {target.name}")

    async def _hand_over(self, feedback: Feedback, object_id: str, person: str) -> str:
        world = self.world
        item, who = self._receiver(object_id, person)
        hx, hy, hz = self._body_pos(body_name("hand", who))
        if math.hypot(hx - world.robot.x, hy - world.robot.y) > REACH_M + GRIPPER_X:
            where = world.places[world.people[who]].name
            raise SkillFailed(f"person not next to the robot: {who} is at the {where}")
        await self._face(hx, hy)
        feedback(f"handing {item.label} to {who}")
        await self._arm_to(hz, min(REACH_MAX, max(0.0, math.hypot(
            hx - world.robot.x, hy - world.robot.y) - GRIPPER_X)))
        self._weld("gripper", item.id, False)
        self._weld(body_name("hand", who), item.id, True)
        await self._pass(0.5)
        await self._arm_to(1.0, 0.0)
        world.release(item, person=who)
        return f"handed {item.id} to {who}"

    async def _swing_open(self, name: str) -> None:
        """Drive the hinge 90 degrees away from the robot; fail if it does not swing."""
        hinge = body_name("hinge", name)
        self._ctrl(hinge, self._swing_away(name))
        for _ in range(int(4.0 / CONTROL_S)):
            await self._pass(CONTROL_S)
            if abs(self._joint(hinge)) >= OPEN_RAD:
                return
        self._ctrl(hinge, self._joint(hinge))
        raise SkillFailed(f"the {name} is stuck")

    def _swing_away(self, name: str) -> float:
        """The hinge angle that swings a door away from the robot (+90 or -90 degrees)."""
        frame = self._doors.get(name)
        if frame is None:  # the fridge: its door swings out to the side
            return math.pi / 2
        travel = frame.closed_yaw - math.pi / 2  # the panel's normal
        robot = self.world.robot
        side = ((robot.x - frame.hinge_x) * math.cos(travel)
                + (robot.y - frame.hinge_y) * math.sin(travel))
        return -math.pi / 2 if side < 0 else math.pi / 2

    # ------------------------------------------------------------ camera

    def _photo_png(self) -> bytes:
        """The head camera's view."""
        return self.render_png()

    def render_rgb(self, camera: str = "head", size: tuple[int, int] = IMAGE_SIZE
                   ) -> tuple[int, int, bytes]:
        """The camera's view: width, height and 8-bit RGB rows, top row first.

        The renderer is made on first use in the calling thread (OpenGL contexts
        belong to one thread), so render from the thread that steps the physics.
        """
        width, height = size
        if self._renderer is None or (self._renderer.width, self._renderer.height) != size:
            try:
                self._renderer = self._mj.Renderer(self.model, height, width)
            except Exception as err:  # noqa: BLE001 - mujoco.FatalError and GL errors
                reason = " ".join(str(err).split())[:160]
                hint = "; set MUJOCO_GL=egl before mujoco is imported" if "OpenGL" in reason else ""
                raise SkillFailed(f"camera: cannot render ({reason}){hint}") from None
        self._renderer.update_scene(self.data, camera=camera)
        return width, height, self._renderer.render().tobytes()

    def render_png(self, camera: str = "head", size: tuple[int, int] = IMAGE_SIZE) -> bytes:
        """The camera's view as PNG bytes."""
        return _png(*self.render_rgb(camera, size))

    def _in_view(self, body: str, max_m: float = 6.0) -> bool:
        """The body's centre is inside the head camera's view and nothing hides it."""
        import numpy as np

        cam = self.model.camera("head").id
        origin = self.data.cam_xpos[cam]
        axes = self.data.cam_xmat[cam].reshape(3, 3)
        target = self.data.xpos[self.model.body(body).id]
        offset = target - origin
        dist = float(np.linalg.norm(offset))
        right, up, depth = axes.T @ offset @ np.diag([1.0, 1.0, -1.0])
        half_v = math.radians(float(self.model.cam_fovy[cam])) / 2
        half_h = math.atan(math.tan(half_v) * IMAGE_SIZE[0] / IMAGE_SIZE[1])
        if not 0 < dist <= max_m or depth <= 0:
            return False
        if abs(math.atan2(right, depth)) > half_h or abs(math.atan2(up, depth)) > half_v:
            return False
        hit = np.zeros(1, dtype=np.int32)
        seen = self._mj.mj_ray(self.model, self.data, origin, offset / dist, None, 1,
                               self.model.body("base").id, hit)
        if seen < 0 or seen >= dist - 0.06:
            return True
        return int(self.model.geom_bodyid[hit[0]]) == self.model.body(body).id

    def _people_in_view(self) -> list[str]:
        # there are no walls: the room stands in for them
        return [who for who in super()._people_in_view()
                if self._in_view(body_name("person", who))
                or self._in_view(body_name("hand", who))]

    def _items_in_view(self) -> list[Any]:
        return [item for item in super()._items_in_view()
                if self._in_view(body_name("object", item.id))]

    # ------------------------------------------------------------ sensors and state

    def scan(self, rays: int = 90, max_range_m: float = 8.0) -> list[float]:
        """A planar range scan around the base, 20 cm above the floor.

        Counter-clockwise from straight ahead; ``inf`` where nothing is within range.
        """
        import numpy as np

        yaw = self._joint("base_yaw")
        origin = np.array([self._joint("base_x"), self._joint("base_y"), 0.2])
        base = self.model.body("base").id
        hit = np.zeros(1, dtype=np.int32)
        ranges = []
        for k in range(rays):
            angle = yaw + 2 * math.pi * k / rays
            direction = np.array([math.cos(angle), math.sin(angle), 0.0])
            dist = self._mj.mj_ray(self.model, self.data, origin, direction, None, 1, base, hit)
            ranges.append(dist if 0 <= dist <= max_range_m else math.inf)
        return ranges

    def joint_positions(self) -> dict[str, float]:
        """The robot's joints (base x/y in m, yaw in rad, lift/reach in m)."""
        return {name: self._joint(name) for name in
                ("base_x", "base_y", "base_yaw", "lift", "reach")}

    def base_velocity(self) -> tuple[float, float]:
        """Forward speed (m/s) and yaw rate (rad/s) of the base."""
        dof = {n: int(self.model.jnt_dofadr[self.model.joint(n).id])
               for n in ("base_x", "base_y", "base_yaw")}
        yaw = self._joint("base_yaw")
        vx, vy = self.data.qvel[dof["base_x"]], self.data.qvel[dof["base_y"]]
        forward = vx * math.cos(yaw) + vy * math.sin(yaw)
        return float(forward), float(self.data.qvel[dof["base_yaw"]])

    def physics_state(self) -> dict[str, Any]:
        """Body positions and joint angles (metres, degrees) and the simulated time."""
        robot = self.world.robot
        return {
            "time_s": round(float(self.data.time), 3),
            "robot": {"x": round(robot.x, 3), "y": round(robot.y, 3),
                      "yaw_deg": round(robot.yaw_deg, 1),
                      "lift": round(self._joint("lift"), 3),
                      "reach": round(self._joint("reach"), 3)},
            "objects": {item_id: [round(v, 3) for v in self._body_pos(body_name("object", item_id))]
                        for item_id in self.world.items},
            "hands": {who: [round(v, 3) for v in self._body_pos(body_name("hand", who))]
                      for who in self.world.people},
            "hinges_deg": {name: round(math.degrees(self._joint(body_name("hinge", name))), 1)
                           for name in self.world.openables},
        }
