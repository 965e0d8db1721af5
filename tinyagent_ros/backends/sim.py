"""The simulated home robot: the 16 robot skills acting on a :class:`World`, in simulated time.

Durations follow simple physics (0.5 m/s, 60 deg/s, a few seconds for the arm,
camera and speaker) multiplied by ``time_scale``. Motion advances in small
steps, so a cancelled skill leaves the robot part-way with a consistent pose.
"""

from __future__ import annotations

import asyncio
import math
import re
import struct
import tempfile
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tinyagent_ros.backends.base import Feedback, SkillFailed
from tinyagent_ros.catalog import Skill
from tinyagent_ros.sim.world import Item, Place, World, load_world

SPEED_M_S = 0.5
TURN_DEG_S = 60.0
BATTERY_PCT_PER_M = 0.5
#: A person within this distance of the robot can take an object from it.
REACH_M = 1.5
#: Motion advances in steps of at most this many real seconds (pose updates, cancel points).
STEP_S = 0.05
#: Simulated seconds of the fixed-duration actions.
ARM_S = 3.0
CAMERA_S = 2.0
#: A search looks again every LOOK_S and gives up after SEARCH_S: things come into view while
#: it looks (a fridge door opened by the arm in parallel; the contract gives the two skills no
#: shared resource, so the executor may run them side by side).
LOOK_S = 1.0
SEARCH_S = 5.0
SPEECH_S = 2.0
MESSAGE_S = 1.0
LOOKUP_S = 0.3
BATTERY_READ_S = 0.1

_COLOURS = {
    "red": b"\xd0\x20\x20",
    "blue": b"\x20\x40\xd0",
    "yellow": b"\xe0\xc0\x10",
    "orange": b"\xf0\x90\x10",
    "white": b"\xff\xff\xff",
    "milk": b"\xff\xff\xff",
}
_KIND_COLOURS = {
    "room": b"\xc8\xc8\xc8",
    "surface": b"\x8b\x5a\x2b",
    "dock": b"\x20\xa0\x20",
    "door": b"\x60\x40\x20",
}


class SimBackend:
    """Run robot skills on a simulated home; the default backend for demos and tests."""

    name = "sim"
    catalog = "robot"

    def __init__(
        self,
        world: World | str | Path | None = None,
        time_scale: float = 1.0,
        photo_dir: str | Path | None = None,
    ) -> None:
        self.world = world if isinstance(world, World) else load_world(world or "home")
        self.time_scale = time_scale
        self._photo_dir = Path(photo_dir) if photo_dir is not None else None
        self._skills: dict[str, Callable[..., Awaitable[Any]]] = {
            "navigate_to": self._navigate_to,
            "navigate_to_pose": self._navigate_to_pose,
            "drive": self._drive,
            "rotate": self._rotate,
            "dock": self._dock,
            "locate_person": self._locate_person,
            "find_object": self._find_object,
            "pick_up": self._pick_up,
            "place": self._place,
            "hand_over": self._hand_over,
            "open_door": self._open_door,
            "take_photo": self._take_photo,
            "describe_scene": self._describe_scene,
            "say": self._say,
            "send_message": self._send_message,
            "get_battery_level": self._get_battery_level,
        }

    async def call(self, skill: Skill, args: list[Any], feedback: Feedback) -> Any:
        """Run one robot skill on the world."""
        run = self._skills.get(skill.name)
        if run is None:
            raise SkillFailed(f"the simulated robot cannot {skill.name}")
        return await run(feedback, *args)

    @property
    def photo_dir(self) -> Path:
        """Where photos go (a temporary directory unless one was given)."""
        if self._photo_dir is None:
            self._photo_dir = Path(tempfile.mkdtemp(prefix="tinyagent_photos_"))
        self._photo_dir.mkdir(parents=True, exist_ok=True)
        return self._photo_dir

    # ------------------------------------------------------------ time and motion

    async def _pass(self, seconds: float) -> None:
        """Let simulated time pass."""
        await asyncio.sleep(seconds * self.time_scale)

    def _steps(self, seconds: float) -> int:
        """How many steps a motion of ``seconds`` simulated time takes."""
        return max(1, math.ceil(seconds * self.time_scale / STEP_S))

    async def _turn(self, delta_deg: float) -> None:
        """Turn in place by ``delta_deg`` in steps."""
        robot = self.world.robot
        if abs(delta_deg) < 1e-9:
            return
        robot.charging = False
        start = robot.yaw_deg
        seconds = abs(delta_deg) / TURN_DEG_S
        steps = self._steps(seconds)
        for i in range(1, steps + 1):
            await self._pass(seconds / steps)
            robot.yaw_deg = _wrap(start + delta_deg * i / steps)

    async def _move(self, x: float, y: float, *, face: bool = True) -> None:
        """Drive straight to (x, y) in steps, draining the battery; ``face`` turns there first."""
        robot = self.world.robot
        dx, dy = x - robot.x, y - robot.y
        dist = math.hypot(dx, dy)
        if dist < 1e-9:
            return
        if face:
            await self._turn(_wrap(math.degrees(math.atan2(dy, dx)) - robot.yaw_deg))
        robot.charging = False
        robot.place = None
        x0, y0 = robot.x, robot.y
        steps = self._steps(dist / SPEED_M_S)
        for i in range(1, steps + 1):
            if robot.battery <= 0:
                raise SkillFailed("battery empty")
            await self._pass(dist / SPEED_M_S / steps)
            robot.x, robot.y = x0 + dx * i / steps, y0 + dy * i / steps
            robot.battery = max(0.0, robot.battery - BATTERY_PCT_PER_M * dist / steps)

    async def _travel(self, x: float, y: float, room: str, feedback: Feedback) -> None:
        """Drive room by room to (x, y) in ``room``; stop at a closed door."""
        world, robot = self.world, self.world.robot
        legs = world.route(robot.room, room)
        if legs is None:
            raise SkillFailed(f"no way from the {robot.room} to the {room}")
        for conn, entered in legs:
            await self._move(conn.x, conn.y)
            if not world.is_open(conn):
                robot.place = conn.door
                raise SkillFailed(f"door closed on the way: {conn.door}")
            robot.room = entered
            feedback(f"entering the {entered}")
        await self._move(x, y)

    async def _approach(self, place: Place) -> None:
        """Move the base to a place in the current room (for the arm)."""
        await self._move(place.x, place.y)
        self.world.robot.place = place.name

    def _settle_pose(self) -> None:
        """After free motion, take the room (and place, if on one) from the nearest place."""
        robot = self.world.robot
        near = self.world.nearest_place(robot.x, robot.y)
        robot.room = near.room
        robot.place = near.name if near.distance(robot.x, robot.y) < 0.3 else None

    # ------------------------------------------------------------ base

    async def _navigate_to(self, feedback: Feedback, location: str) -> str:
        target = self.world.place(location) or self.world.person_place(location)
        if target is None:
            raise SkillFailed(f"unknown place: {location}")
        feedback(f"driving to the {target.name}")
        await self._travel(target.x, target.y, target.room, feedback)
        self.world.robot.place = target.name
        feedback(f"arrived at the {target.name}")
        return target.name

    async def _navigate_to_pose(
        self, feedback: Feedback, x: float, y: float, yaw_deg: float
    ) -> str:
        if not self.world.contains(x, y):
            raise SkillFailed(f"pose outside the map: x={x:g} y={y:g}")
        feedback(f"driving to x={x:g} y={y:g}")
        await self._travel(x, y, self.world.nearest_place(x, y).room, feedback)
        await self._turn(_wrap(yaw_deg - self.world.robot.yaw_deg))
        self._settle_pose()
        return f"x={x:g} y={y:g} yaw={yaw_deg:g}"

    async def _drive(self, feedback: Feedback, distance_m: float) -> float:
        robot = self.world.robot
        yaw = math.radians(robot.yaw_deg)
        x, y = robot.x + distance_m * math.cos(yaw), robot.y + distance_m * math.sin(yaw)
        if not self.world.contains(x, y):
            raise SkillFailed(f"the way is blocked: driving {distance_m:g} m leaves the map")
        try:
            await self._move(x, y, face=False)
        finally:
            self._settle_pose()
        return distance_m

    async def _rotate(self, feedback: Feedback, angle_deg: float) -> float:
        await self._turn(angle_deg)
        return angle_deg

    async def _dock(self, feedback: Feedback) -> str:
        dock = next(p for p in self.world.places.values() if p.kind == "dock")
        await self._travel(dock.x, dock.y, dock.room, feedback)
        robot = self.world.robot
        robot.place, robot.charging = dock.name, True
        return f"docked at the {dock.name}, charging ({robot.battery:.0f}%)"

    # ------------------------------------------------------------ people and camera

    async def _locate_person(self, feedback: Feedback, name: str) -> str:
        await self._pass(LOOKUP_S)
        place = self.world.person_place(name)
        if place is None:
            raise SkillFailed(f"unknown person: {name}")
        return place.name

    async def _find_object(self, feedback: Feedback, description: str) -> str:
        feedback(f"looking for {description} in the {self.world.robot.room}")
        looked = 0.0
        while True:
            await self._pass(LOOK_S)
            looked += LOOK_S
            item = self.world.find_item(description, self.world.visible_items())
            if item is not None:
                break
            if looked >= SEARCH_S:
                room = self.world.robot.room
                raise SkillFailed(f"object not visible here: {description} ({room})")
        feedback(f"found {item.label} on the {item.place}")
        return item.id

    async def _take_photo(self, feedback: Feedback, subject: str) -> str:
        await self._pass(CAMERA_S)
        slug = re.sub(r"[^a-z0-9]+", "_", subject.lower()).strip("_")[:40] or "photo"
        path = self.photo_dir / f"photo_{len(self.world.photos) + 1:03d}_{slug}.png"
        path.write_bytes(self._photo_png())
        self.world.photos.append(str(path))
        return str(path)

    def _photo_png(self) -> bytes:
        """What the camera takes: here, a top-down map of the robot's room."""
        return _room_png(self.world)

    async def _describe_scene(self, feedback: Feedback) -> str:
        await self._pass(CAMERA_S)
        world = self.world
        seen = ["you" if who == "user" else who.capitalize() for who in self._people_in_view()]
        seen += [
            f"the {i.label} {'in' if i.place in world.openables else 'on'} the {i.place}"
            for i in self._items_in_view()
        ]
        return f"In the {world.robot.room} I see {', '.join(seen) if seen else 'nothing of note'}."

    def _people_in_view(self) -> list[str]:
        """Who the camera sees: here, everyone in the robot's room."""
        world = self.world
        return [who for who, where in world.people.items()
                if world.places[where].room == world.robot.room]

    def _items_in_view(self) -> list[Item]:
        """What the camera sees: here, every object lying in the robot's room."""
        return self.world.visible_items()

    # ------------------------------------------------------------ arm

    def _held(self, object_id: str) -> Item:
        """The held object ``object_id`` refers to; fail if the gripper holds something else."""
        held = self.world.robot.held
        item = self.world.items[held] if held else None
        if item is None or not item.matches(object_id):
            raise SkillFailed(f"not holding {object_id}")
        return item

    def _graspable(self, object_id: str) -> Item:
        """The visible object to pick up; fail if the gripper is full or nothing matches."""
        world = self.world
        if world.robot.held:
            raise SkillFailed(f"gripper already holding {world.robot.held}")
        item = world.find_item(object_id, world.visible_items())
        if item is None:
            raise SkillFailed(f"object not visible here: {object_id} ({world.robot.room})")
        return item

    async def _pick_up(self, feedback: Feedback, object_id: str) -> str:
        world = self.world
        item = self._graspable(object_id)
        await self._approach(world.places[item.place])
        feedback(f"grasping {item.label}")
        await self._pass(ARM_S)
        world.grasp(item)
        return item.id

    def _place_target(self, object_id: str, location: str) -> tuple[Item, Place]:
        """The held object and the place to put it; fail unless it is here and open."""
        world = self.world
        item = self._held(object_id)
        target = world.place(location)
        if target is None:
            raise SkillFailed(f"unknown place: {location}")
        if target.room != world.robot.room:
            raise SkillFailed(f"the {target.name} is not here (robot is in the {world.robot.room})")
        box = world.openables.get(target.name)
        if box is not None and not box.open:
            raise SkillFailed(f"the {box.name} is closed")
        return item, target

    def _receiver(self, object_id: str, person: str) -> tuple[Item, str]:
        """The held object and the canonical name of the person to hand it to."""
        item = self._held(object_id)
        who = self.world.person(person)
        if who is None:
            raise SkillFailed(f"unknown person: {person}")
        return item, who

    async def _place(self, feedback: Feedback, object_id: str, location: str) -> str:
        item, target = self._place_target(object_id, location)
        await self._approach(target)
        await self._pass(ARM_S)
        self.world.release(item, place=target.name)
        return f"{item.id} on the {target.name}"

    async def _hand_over(self, feedback: Feedback, object_id: str, person: str) -> str:
        world = self.world
        item, who = self._receiver(object_id, person)
        where = world.places[world.people[who]]
        if where.distance(world.robot.x, world.robot.y) > REACH_M:
            raise SkillFailed(f"person not next to the robot: {who} is at the {where.name}")
        feedback(f"handing {item.label} to {who}")
        await self._pass(ARM_S)
        world.release(item, person=who)
        return f"handed {item.id} to {who}"

    async def _open_door(self, feedback: Feedback, door: str) -> str:
        world = self.world
        box = world.openable(door)
        if box is None:
            raise SkillFailed(f"unknown door: {door}")
        if world.robot.room not in box.rooms:
            raise SkillFailed(f"the {box.name} is not here (robot is in the {world.robot.room})")
        if box.open:
            return f"{box.name} already open"
        await self._approach(world.places[box.name])
        await self._swing_open(box.name)
        box.open = True
        return f"{box.name} open"

    async def _swing_open(self, name: str) -> None:
        """The arm opens the door or appliance ``name`` (the robot stands at it)."""
        await self._pass(ARM_S)

    # ------------------------------------------------------------ speaker, phone, battery

    async def _say(self, feedback: Feedback, text: str) -> str:
        await self._pass(SPEECH_S)
        self.world.spoken.append(text)
        return text

    async def _send_message(
        self, feedback: Feedback, recipient: str, text: str, attachment: str
    ) -> str:
        who = self.world.person(recipient)
        if who is None:
            raise SkillFailed(f"unknown person: {recipient}")
        if attachment and not Path(attachment).is_file():
            raise SkillFailed(f"attachment not found: {attachment}")
        await self._pass(MESSAGE_S)
        self.world.messages.append({"to": who, "text": text, "attachment": attachment})
        return f"delivered to {who}"

    async def _get_battery_level(self, feedback: Feedback) -> int:
        await self._pass(BATTERY_READ_S)
        return round(self.world.robot.battery)


def _wrap(deg: float) -> float:
    """An angle in (-180, 180]."""
    deg = math.fmod(deg, 360.0)
    if deg > 180:
        deg -= 360
    elif deg <= -180:
        deg += 360
    return deg


# ---------------------------------------------------------------- photos


def _room_png(world: World, px_per_m: int = 24) -> bytes:
    """A top-down map of the robot's room: places, objects, people and the robot (north up)."""
    robot = world.robot
    here = [p for p in world.places.values() if p.room == robot.room]
    xs = [p.x for p in here] + [robot.x]
    ys = [p.y for p in here] + [robot.y]
    x0, y1 = min(xs) - 1.0, max(ys) + 1.0
    width = round((max(xs) + 1.0 - x0) * px_per_m)
    height = round((y1 - (min(ys) - 1.0)) * px_per_m)
    pixels = bytearray(b"\xf4\xf0\xe8" * width * height)

    def dot(x: float, y: float, colour: bytes, radius: int) -> None:
        cx, cy = round((x - x0) * px_per_m), round((y1 - y) * px_per_m)
        for row in range(max(0, cy - radius), min(height, cy + radius + 1)):
            for col in range(max(0, cx - radius), min(width, cx + radius + 1)):
                pixels[(row * width + col) * 3 : (row * width + col) * 3 + 3] = colour

    for place in here:
        dot(place.x, place.y, _KIND_COLOURS[place.kind], 6)
    for n, item in enumerate(world.visible_items()):
        colour = next((_COLOURS[w] for w in item.words if w in _COLOURS), b"\x30\x90\x50")
        place = world.places[item.place]
        dot(place.x + 0.2 * (n % 3 - 1), place.y + 0.2, colour, 2)
    for where in world.people.values():
        if world.places[where].room == robot.room:
            dot(world.places[where].x, world.places[where].y - 0.3, b"\xf0\xd0\x40", 4)
    dot(robot.x, robot.y, b"\x10\x10\x10", 5)
    yaw = math.radians(robot.yaw_deg)
    dot(robot.x + 0.35 * math.cos(yaw), robot.y + 0.35 * math.sin(yaw), b"\x10\x10\x10", 2)
    return _png(width, height, bytes(pixels))


def _png(width: int, height: int, rgb: bytes) -> bytes:
    """Encode 8-bit RGB pixels as a PNG file."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    stride = width * 3
    raw = b"".join(b"\x00" + rgb[row * stride : (row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
