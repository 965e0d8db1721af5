"""The simulated home robot: every robot skill, its physical failures, and a whole plan."""

from __future__ import annotations

import asyncio
import json
import math
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from tinyagent_ros.backends import get_backend
from tinyagent_ros.backends.base import Backend, SkillFailed
from tinyagent_ros.backends.sim import SimBackend
from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.executor import Executor
from tinyagent_ros.plan import parse_plan
from tinyagent_ros.sim import WorldError, load_world

ROBOT = load_catalog("robot")


@pytest.fixture
def sim(tmp_path: Path) -> SimBackend:
    return SimBackend(time_scale=0.001, photo_dir=tmp_path)


def do(sim: SimBackend, skill: str, *args: Any, feedback: list[str] | None = None) -> Any:
    notes = feedback if feedback is not None else []
    return asyncio.run(sim.call(ROBOT[skill], list(args), notes.append))


def fails(sim: SimBackend, message: str, skill: str, *args: Any) -> None:
    with pytest.raises(SkillFailed, match=message):
        do(sim, skill, *args)


def test_world_loads_with_the_robot_docked():
    world = load_world()
    assert world.robot.place == "charging dock" and world.robot.battery == 80
    assert world.robot.charging
    assert {"kitchen", "garden", "front door", "charging dock", "fridge"} <= set(world.places)
    assert {"user", "alice", "bob", "emma", "grandma", "dave", "sarah"} <= set(world.people)
    json.dumps(world.to_dict())


def test_bad_world_files_name_the_entry(tmp_path: Path):
    with pytest.raises(WorldError, match="no world named 'moon'"):
        load_world("moon")
    bad = tmp_path / "w.yaml"
    bad.write_text(
        "places: [{name: a, x: 0, y: 0, room: a, kind: room}]\n"
        "people: {user: nowhere}\nrobot: {place: a}\n"
    )
    with pytest.raises(WorldError, match="person 'user': unknown place 'nowhere'"):
        load_world(bad)


def test_backend_is_a_backend_and_registered():
    sim = get_backend("sim", time_scale=0.001)
    assert isinstance(sim, SimBackend) and isinstance(sim, Backend)
    with pytest.raises(ValueError,
                       match="unknown backend 'ros2'; choose one of: dry-run, macos, mujoco, sim"):
        get_backend("ros2")


def test_default_backends_follow_the_catalog_and_the_platform():
    from tinyagent_ros.backends import default_backend, default_catalog

    assert default_catalog("darwin") == "mac" and default_catalog("linux") == "robot"
    assert default_backend("robot", "darwin") == default_backend("robot", "linux") == "sim"
    assert default_backend("mac", "darwin") == "macos"
    assert default_backend("mac", "linux") == "dry-run"
    assert default_backend("warehouse", "darwin") == "dry-run"


# ---------------------------------------------------------------- base


def test_navigate_to_a_place_moves_the_pose_and_drains_the_battery(sim):
    notes: list[str] = []
    assert do(sim, "navigate_to", "The Kitchen Table.", feedback=notes) == "kitchen table"
    robot = sim.world.robot
    assert (robot.x, robot.y) == pytest.approx((4.3, -3.4))
    assert robot.room == "kitchen" and robot.place == "kitchen table"
    assert robot.battery < 80 and not robot.charging
    assert notes[0] == "driving to the kitchen table" and "entering the kitchen" in notes


def test_navigate_to_a_person_and_unknown_places(sim):
    assert do(sim, "navigate_to", "Emma") == "bedroom"
    assert sim.world.robot.room == "bedroom"
    fails(sim, "unknown place: moon", "navigate_to", "moon")


def test_closed_door_stops_the_robot_at_the_door(sim):
    fails(sim, "door closed on the way: front door", "navigate_to", "garden")
    assert sim.world.robot.place == "front door"
    assert do(sim, "open_door", "front door") == "front door open"
    assert do(sim, "navigate_to", "garden bench") == "garden bench"
    assert sim.world.robot.room == "garden"


def test_navigate_to_pose(sim):
    assert do(sim, "navigate_to_pose", 3, -2, 0) == "x=3 y=-2 yaw=0"
    robot = sim.world.robot
    assert (robot.x, robot.y, robot.yaw_deg) == pytest.approx((3, -2, 0), abs=1e-6)
    assert robot.room == "kitchen"
    fails(sim, "pose outside the map", "navigate_to_pose", 100, 0, 0)


def test_drive_straight_and_backwards(sim):
    robot = sim.world.robot
    x0 = robot.x
    assert do(sim, "drive", 1.5) == 1.5
    assert robot.x == pytest.approx(x0 + 1.5) and robot.yaw_deg == 0
    do(sim, "drive", -0.5)
    assert robot.x == pytest.approx(x0 + 1.0) and robot.yaw_deg == 0
    fails(sim, "leaves the map", "drive", -50)


def test_rotate_turns_left_for_positive_angles(sim):
    assert do(sim, "rotate", 90) == 90
    assert sim.world.robot.yaw_deg == pytest.approx(90)
    do(sim, "rotate", -180)
    assert sim.world.robot.yaw_deg == pytest.approx(-90)


def test_dock_returns_and_charges(sim):
    do(sim, "navigate_to", "office")
    assert not sim.world.robot.charging
    assert do(sim, "dock").startswith("docked at the charging dock")
    assert sim.world.robot.place == "charging dock" and sim.world.robot.charging


def test_battery_empty_stops_the_base(sim):
    sim.world.robot.battery = 0.2
    fails(sim, "battery empty", "navigate_to", "garage")
    assert do(sim, "get_battery_level") == 0


def test_cancel_stops_motion_at_once_with_a_consistent_pose():
    sim = SimBackend(time_scale=1.0)

    async def main() -> float:
        job = asyncio.create_task(sim.call(ROBOT["navigate_to"], ["garage"], lambda _: None))
        await asyncio.sleep(0.3)
        t0 = time.monotonic()
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        return time.monotonic() - t0

    assert asyncio.run(main()) < 0.05
    robot = sim.world.robot
    assert robot.place is None and robot.room == "hallway"
    assert math.isfinite(robot.x) and robot.battery < 80


# ---------------------------------------------------------------- people and camera


def test_locate_person(sim):
    assert do(sim, "locate_person", "Emma") == "bedroom"
    assert do(sim, "locate_person", "user") == "couch"
    assert do(sim, "locate_person", "me") == "couch"
    fails(sim, "unknown person: Zed", "locate_person", "Zed")


def test_find_object_sees_only_the_current_room_and_open_appliances(sim):
    fails(sim, r"object not visible here: red cup \(hallway\)", "find_object", "red cup")
    do(sim, "navigate_to", "kitchen")
    assert do(sim, "find_object", "red cup") == "red_cup"
    assert do(sim, "find_object", "the blue mug") == "blue_mug"
    fails(sim, "object not visible here: water bottle", "find_object", "water bottle")
    do(sim, "open_door", "fridge")
    assert do(sim, "find_object", "water bottles") == "water_bottle"


def test_take_photo_writes_a_real_png(sim, tmp_path):
    do(sim, "navigate_to", "kitchen")
    path = Path(do(sim, "take_photo", "the kitchen"))
    assert path.parent == tmp_path and path.suffix == ".png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat_len = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41 : 41 + idat_len])
    assert len(raw) == height * (1 + 3 * width) and width > 20 and height > 20
    assert sim.world.photos == [str(path)]


def test_describe_scene_lists_people_and_objects(sim):
    do(sim, "navigate_to", "kitchen")
    text = do(sim, "describe_scene")
    assert text.startswith("In the kitchen I see Alice")
    assert "the red cup on the kitchen counter" in text and "milk" not in text
    do(sim, "open_door", "fridge")
    assert "the milk in the fridge" in do(sim, "describe_scene")


# ---------------------------------------------------------------- arm


def test_pick_up_place_and_gripper_failures(sim):
    fails(sim, "object not visible here: red_cup", "pick_up", "red_cup")
    fails(sim, "not holding red_cup", "place", "red_cup", "kitchen table")
    do(sim, "navigate_to", "kitchen")
    assert do(sim, "pick_up", "red_cup") == "red_cup"
    assert sim.world.robot.held == "red_cup" and sim.world.robot.place == "kitchen counter"
    fails(sim, "gripper already holding red_cup", "pick_up", "blue_mug")
    fails(sim, "the desk is not here", "place", "red_cup", "desk")
    fails(sim, "the fridge is closed", "place", "red_cup", "fridge")
    assert do(sim, "place", "red_cup", "kitchen table") == "red_cup on the kitchen table"
    assert sim.world.items["red_cup"].place == "kitchen table"
    assert sim.world.robot.held is None


def test_hand_over_needs_the_person_next_to_the_robot(sim):
    do(sim, "navigate_to", "kitchen")
    do(sim, "pick_up", "red cup")
    fails(sim, "person not next to the robot: bob is at the office", "hand_over", "red_cup", "bob")
    fails(sim, "unknown person: zed", "hand_over", "red_cup", "zed")
    do(sim, "navigate_to", "alice")
    assert do(sim, "hand_over", "red_cup", "Alice") == "handed red_cup to alice"
    assert sim.world.items["red_cup"].holder == "alice"
    fails(sim, "not holding red_cup", "hand_over", "red_cup", "alice")


def test_open_door_must_be_here(sim):
    fails(sim, "the fridge is not here", "open_door", "fridge")
    fails(sim, "unknown door: hatch", "open_door", "hatch")
    assert do(sim, "open_door", "bedroom door") == "bedroom door already open"
    assert sim.world.to_dict()["doors"]["front door"] == "closed"


# ---------------------------------------------------------------- speaker, phone, battery


def test_say_and_send_message_are_recorded(sim):
    assert do(sim, "say", "Dinner is ready") == "Dinner is ready"
    assert sim.world.spoken == ["Dinner is ready"]
    photo = do(sim, "take_photo", "hallway")
    assert do(sim, "send_message", "Alice", "Look", photo) == "delivered to alice"
    assert do(sim, "send_message", "user", "Hi", "") == "delivered to user"
    assert sim.world.messages[0] == {"to": "alice", "text": "Look", "attachment": photo}
    fails(sim, "unknown person: zed", "send_message", "zed", "Hi", "")
    fails(sim, "attachment not found", "send_message", "bob", "Hi", "/nonexistent.png")


def test_get_battery_level(sim):
    assert do(sim, "get_battery_level") == 80


def test_every_robot_skill_is_implemented(sim):
    assert set(sim._skills) == set(ROBOT.names)


# ---------------------------------------------------------------- whole plans


def test_bring_me_the_red_cup_from_the_kitchen(sim):
    plan = parse_plan(
        '1. navigate_to("kitchen")\n'
        '2. find_object("red cup")\n'
        '3. pick_up("$2")\n'
        '4. locate_person("user")\n'
        '5. navigate_to("$4")\n'
        '6. hand_over("$3", "user")\n'
        "7. join()<END_OF_PLAN>",
        ROBOT,
    )
    result = asyncio.run(Executor(ROBOT, sim).run(plan))
    assert result.success, result.summary()
    assert sim.world.items["red_cup"].holder == "user"
    assert sim.world.robot.place == "couch" and sim.world.robot.held is None
    state = json.loads(json.dumps(sim.world.to_dict()))
    assert state["objects"]["red_cup"] == {"place": None, "holder": "user"}


def test_failed_navigation_skips_the_rest_of_the_branch(sim):
    plan = parse_plan(
        '1. navigate_to("garden")\n2. take_photo("garden")\n3. get_battery_level()\n'
        "4. join()<END_OF_PLAN>",
        ROBOT,
    )
    result = asyncio.run(Executor(ROBOT, sim).run(plan))
    assert result.results[1].message == "door closed on the way: front door"
    assert result.results[2].message == (
        "task 1 navigate_to failed: door closed on the way: front door"
    )
    assert result.results[3].value == 80


def test_fridge_plan_runs_open_and_search_side_by_side(sim):
    """The contract gives open_door and find_object no shared resource, so they overlap;
    the search keeps looking while the arm opens the door."""
    plan = parse_plan(
        '1. navigate_to("fridge")\n2. open_door("fridge")\n3. find_object("water")\n'
        '4. pick_up("$3")\n5. locate_person("user")\n6. navigate_to("$5")\n'
        '7. hand_over("$4", "user")\n8. join()',
        ROBOT,
    )
    result = asyncio.run(Executor(ROBOT, sim).run(plan))
    assert result.success, result.summary()
    opened, searched = result.results[2], result.results[3]
    assert searched.started < opened.ended  # they really overlapped
    assert sim.world.to_dict()["objects"]["water_bottle"]["holder"] == "user"
