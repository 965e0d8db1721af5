"""A MuJoCo model (MJCF text) of a simulated home, built from the same world YAML.

What is physical: the robot's planar base (x, y, yaw joints driven by velocity
actuators, so a unicycle controller makes it a differential drive), its arm (a
lift and a reach joint with position actuators) and gripper, its head camera;
hinged doors (a closed door blocks the base) and the fridge's door; furniture
tops; every object as a free body that rests on a surface; people as bodies
with a hand. Grasping and handing over are weld constraints (gripper or a
person's hand to the object), inactive until a skill switches one on.

Collision groups: the base and door panels collide with each other only (the
base drives over furniture footprints, which only approximate the rooms);
objects collide with furniture tops, the floor and each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from tinyagent_ros.sim.world import World

#: Heights (m): furniture tops, where the robot's gripper holds an object, a person's hand.
SURFACE_Z = {"couch": 0.45, "bed": 0.55, "fridge": 0.9, "tv": 0.6}
TABLE_Z = 0.75
HAND_Z = 1.0
BASE_RADIUS = 0.25
DOOR_WIDTH = 0.9
OBJECT_HALF = 0.04
#: Colours of object words (rgba), else grey.
_COLOURS = {"red": "0.85 0.15 0.15 1", "blue": "0.2 0.35 0.85 1", "yellow": "0.95 0.85 0.2 1",
            "white": "0.95 0.95 0.95 1", "orange": "0.95 0.55 0.1 1", "green": "0.2 0.7 0.3 1"}


_ROOM_COLOURS = (".78 .84 .9 1", ".9 .84 .74 1", ".8 .9 .8 1", ".92 .8 .82 1", ".85 .82 .92 1",
                 ".9 .9 .78 1", ".78 .88 .88 1", ".88 .86 .84 1", ".7 .8 .7 1")


@dataclass(frozen=True)
class DoorFrame:
    """Where a door panel is: its hinge, and the panel's closed direction (radians)."""

    name: str
    hinge_x: float
    hinge_y: float
    closed_yaw: float


def surface_z(name: str) -> float:
    """The height of a surface's top."""
    return SURFACE_Z.get(name, TABLE_Z)


def body_name(kind: str, name: str) -> str:
    """The MJCF name of a world entity (spaces are not allowed in names we look up)."""
    return f"{kind}:{name.replace(' ', '_')}"


def door_frames(world: World) -> list[DoorFrame]:
    """A panel across each doorway, perpendicular to the way between its two rooms."""
    centres = {p.room: (p.x, p.y) for p in world.places.values() if p.kind == "room"}
    frames = []
    for conn in world.connections:
        if conn.door is None:
            continue
        (ax, ay), (bx, by) = centres[conn.rooms[0]], centres[conn.rooms[1]]
        travel = math.atan2(by - ay, bx - ax)
        across = travel + math.pi / 2
        hx = conn.x - math.cos(across) * DOOR_WIDTH / 2
        hy = conn.y - math.sin(across) * DOOR_WIDTH / 2
        frames.append(DoorFrame(conn.door, hx, hy, across))
    return frames


def _f(*values: float) -> str:
    return " ".join(f"{v:.4g}" for v in values)


def build_mjcf(world: World, timestep: float = 0.01) -> str:
    """The MJCF text of ``world``; the backend sets the robot's pose and the doors' angles."""
    out = [
        f'<mujoco model={quoteattr(world.name)}>',
        '  <compiler angle="radian"/>',
        f'  <option timestep="{timestep}" gravity="0 0 -9.81"/>',
        '  <visual><global offwidth="1280" offheight="960"/></visual>',
        '  <default><geom friction="1 0.05 0.01"/></default>',
        '  <asset><texture name="grid" type="2d" builtin="checker" rgb1=".82 .8 .76" '
        'rgb2=".75 .73 .7" width="512" height="512"/>'
        '<texture name="sky" type="skybox" builtin="gradient" rgb1=".6 .75 .9" rgb2=".95 .95 1" '
        'width="256" height="256"/>'
        '<material name="floor" texture="grid" texrepeat="30 30"/></asset>',
        "  <worldbody>",
        '    <light pos="0 0 8" dir="0 0 -1" directional="true" diffuse=".8 .8 .8"/>',
        '    <camera name="overview" pos="0 -11 11" xyaxes="1 0 0 0 0.75 0.66" fovy="60"/>',
        '    <geom name="floor" type="plane" size="30 30 0.1" material="floor" '
        'contype="1" conaffinity="1"/>',
    ]
    rooms = sorted({p.room for p in world.places.values()})
    for n, room in enumerate(rooms):  # a coloured floor tile per room, for the eye only
        xs = [p.x for p in world.places.values() if p.room == room]
        ys = [p.y for p in world.places.values() if p.room == room]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        hx, hy = (max(xs) - min(xs)) / 2 + 1.2, (max(ys) - min(ys)) / 2 + 1.2
        out.append(f'    <geom name={quoteattr(body_name("room", room))} type="box" '
                   f'pos="{_f(cx, cy, 0.001)}" size="{_f(hx, hy, 0.001)}" '
                   f'rgba="{_ROOM_COLOURS[n % len(_ROOM_COLOURS)]}" contype="0" conaffinity="0"/>')
    for place in world.places.values():
        if place.kind != "surface" or place.name in world.openables:
            continue
        z = surface_z(place.name)
        out.append(
            f'    <geom name={quoteattr(body_name("surface", place.name))} type="box" '
            f'pos="{_f(place.x, place.y, z / 2)}" size="0.4 0.3 {z / 2:.4g}" '
            'rgba=".55 .4 .3 1" contype="1" conaffinity="1"/>')
    for appliance in (o for o in world.openables.values() if o.kind == "appliance"):
        out += _cabinet(world, appliance.name)
    for frame in door_frames(world):
        out += [
            f'    <body name={quoteattr(body_name("door", frame.name))} '
            f'pos="{_f(frame.hinge_x, frame.hinge_y, 0)}" euler="0 0 {frame.closed_yaw:.4g}">',
            f'      <joint name={quoteattr(body_name("hinge", frame.name))} type="hinge" '
            'axis="0 0 1" range="-1.65 1.65" damping="5"/>',
            f'      <geom type="box" pos="{DOOR_WIDTH / 2:.4g} 0 1" size="{DOOR_WIDTH / 2:.4g} '
            '0.025 1" rgba=".6 .45 .3 1" contype="2" conaffinity="2" mass="10"/>',
            "    </body>",
        ]
    for person, where in world.people.items():
        place = world.places[where]
        px, py = place.x + 0.6, place.y + 0.6
        out += [
            f'    <body name={quoteattr(body_name("person", person))} pos="{_f(px, py, 0)}">',
            '      <geom type="capsule" fromto="0 0 0.2 0 0 1.5" size="0.18" '
            'rgba=".9 .7 .55 1" contype="0" conaffinity="0"/>',
            f'      <body name={quoteattr(body_name("hand", person))} pos="0.3 0 {HAND_Z}">'
            '<geom type="sphere" size="0.05" contype="0" conaffinity="0" rgba=".9 .7 .55 1"/>'
            "</body>",
            "    </body>",
        ]
    for item in world.items.values():
        x, y, z = item_spawn(world, item.id)
        colour = next((c for w, c in _COLOURS.items() if w in item.words), ".6 .6 .6 1")
        out += [
            f'    <body name={quoteattr(body_name("object", item.id))} pos="{_f(x, y, z)}">',
            '      <freejoint/>',
            f'      <geom type="box" size="{OBJECT_HALF} {OBJECT_HALF} {OBJECT_HALF}" '
            f'rgba="{colour}" mass="0.2" contype="1" conaffinity="1"/>',
            "    </body>",
        ]
    out += _robot()
    out.append("  </worldbody>")
    out.append("  <actuator>")
    out += [
        '    <velocity name="base_x" joint="base_x" kv="400" ctrlrange="-2 2"/>',
        '    <velocity name="base_y" joint="base_y" kv="400" ctrlrange="-2 2"/>',
        '    <velocity name="base_yaw" joint="base_yaw" kv="100" ctrlrange="-3 3"/>',
        '    <position name="lift" joint="lift" kp="2000" ctrlrange="0 1.2"/>',
        '    <position name="reach" joint="reach" kp="2000" ctrlrange="0 0.8"/>',
    ]
    for frame in door_frames(world):
        hinge = body_name("hinge", frame.name)
        out.append(f'    <position name={quoteattr(hinge)} joint={quoteattr(hinge)} kp="200" '
                   'ctrlrange="-1.6 1.6"/>')
    for appliance in (o for o in world.openables.values() if o.kind == "appliance"):
        hinge = body_name("hinge", appliance.name)
        out.append(f'    <position name={quoteattr(hinge)} joint={quoteattr(hinge)} kp="50" '
                   'ctrlrange="0 1.6"/>')
    out.append("  </actuator>")
    out.append("  <equality>")
    for item in world.items.values():
        obj = body_name("object", item.id)
        holders = ["gripper"] + [body_name("hand", p) for p in world.people]
        for holder in holders:
            out.append(f'    <weld name={quoteattr(f"{holder}+{item.id}")} '
                       f'body1={quoteattr(holder)} body2={quoteattr(obj)} active="false" '
                       'relpose="0 0 -0.06 1 0 0 0" solref="0.02 1"/>')
    out.append("  </equality>")
    out.append("</mujoco>")
    return "\n".join(out)


def item_spawn(world: World, item_id: str) -> tuple[float, float, float]:
    """Where an object rests: on its surface (side by side with the others there)."""
    item = world.items[item_id]
    if item.place is None:
        return world.robot.x, world.robot.y, OBJECT_HALF
    spot = world.places[item.place]
    siblings = sorted(i.id for i in world.items.values() if i.place == item.place)
    shift = 0.12 * (siblings.index(item_id) - (len(siblings) - 1) / 2)
    return spot.x + shift, spot.y, surface_z(item.place) + OBJECT_HALF + 0.005


def _cabinet(world: World, name: str) -> list[str]:
    """An appliance: a box with a shelf inside and a hinged front door."""
    spot = world.places[name]
    z = surface_z(name)
    hinge = body_name("hinge", name)
    return [
        f'    <body name={quoteattr(body_name("appliance", name))} pos="{_f(spot.x, spot.y, 0)}">',
        f'      <geom type="box" pos="0 0 {z / 2:.4g}" size="0.35 0.35 {z / 2:.4g}" '
        'rgba=".9 .9 .92 1" contype="1" conaffinity="1"/>',
        '      <geom type="box" pos="0 0.33 1.3" size="0.35 0.02 0.4" rgba=".9 .9 .92 1" '
        'contype="1" conaffinity="1"/>',
        f'      <body name={quoteattr(body_name("door", name))} pos="-0.35 -0.37 0">',
        f'        <joint name={quoteattr(hinge)} type="hinge" axis="0 0 1" range="0 1.65" '
        'damping="2"/>',
        '        <geom type="box" pos="0.35 0 0.85" size="0.35 0.02 0.85" rgba=".85 .85 .9 1" '
        'contype="0" conaffinity="0" mass="5"/>',
        "      </body>",
        "    </body>",
    ]


def _robot() -> list[str]:
    """The mobile manipulator: planar base, lift, reach, gripper, head camera.

    The base joints' positions are world x, y and yaw (the body sits at the origin).
    """
    return [
        '    <body name="base" pos="0 0 0.15">',
        '      <joint name="base_x" type="slide" axis="1 0 0" damping="1"/>',
        '      <joint name="base_y" type="slide" axis="0 1 0" damping="1"/>',
        '      <joint name="base_yaw" type="hinge" axis="0 0 1" damping="1"/>',
        f'      <geom name="base" type="cylinder" size="{BASE_RADIUS} 0.12" mass="30" '
        'rgba=".25 .3 .35 1" contype="2" conaffinity="2"/>',
        '      <geom type="box" pos="0.1 0 0.6" size="0.05 0.05 0.5" rgba=".3 .3 .3 1" '
        'contype="0" conaffinity="0" mass="2"/>',
        '      <camera name="head" pos="0.15 0 1.3" xyaxes="0 -1 0 0.3 0 1" fovy="70"/>',
        '      <body name="lift_link" pos="0.15 0 0">',
        '        <joint name="lift" type="slide" axis="0 0 1" range="0 1.2" damping="50"/>',
        '        <geom type="box" size="0.05 0.08 0.03" rgba=".4 .4 .45 1" contype="0" '
        'conaffinity="0" mass="1"/>',
        '        <body name="reach_link" pos="0.05 0 0">',
        '          <joint name="reach" type="slide" axis="1 0 0" range="0 0.8" damping="50"/>',
        '          <geom type="box" pos="0.2 0 0" size="0.2 0.02 0.02" rgba=".5 .5 .55 1" '
        'contype="0" conaffinity="0" mass="0.5"/>',
        '          <body name="gripper" pos="0.42 0 0">',
        '            <geom type="box" size="0.03 0.06 0.02" rgba=".2 .2 .2 1" contype="0" '
        'conaffinity="0" mass="0.2"/>',
        "          </body>",
        "        </body>",
        "      </body>",
        "    </body>",
    ]
