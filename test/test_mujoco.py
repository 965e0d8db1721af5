"""The robot catalog on MuJoCo physics: plans run through the executor, asserted on bodies."""

from __future__ import annotations

import asyncio
import math
import os
import time

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco first loads: headless rendering
pytest.importorskip("mujoco")

from tinyagent_ros.backends import get_backend  # noqa: E402
from tinyagent_ros.backends.mujoco import MujocoBackend  # noqa: E402
from tinyagent_ros.catalog import load_catalog  # noqa: E402
from tinyagent_ros.executor import Executor  # noqa: E402
from tinyagent_ros.plan import parse_plan  # noqa: E402

ROBOT = load_catalog("robot")


@pytest.fixture
def sim(tmp_path):
    return MujocoBackend(time_scale=0.0, photo_dir=tmp_path)


def run(backend, text):
    return asyncio.run(Executor(ROBOT, backend).run(parse_plan(text, ROBOT)))


def test_fetch_puts_the_cup_in_the_users_hand(sim):
    result = run(sim, '1. navigate_to("kitchen counter")\n2. find_object("red cup")\n'
                      '3. pick_up("$2")\n4. locate_person("user")\n5. navigate_to("$4")\n'
                      '6. hand_over("$3", "user")\n7. join()')
    assert result.success, result.summary()
    state = sim.physics_state()
    cup, hand = state["objects"]["red_cup"], state["hands"]["user"]
    assert math.dist(cup, hand) < 0.1  # welded to the hand, not teleported into the world model
    assert sim.world.items["red_cup"].holder == "user"
    assert state["time_s"] > 30  # it drove across the flat: tens of simulated seconds


def test_a_closed_door_stops_the_base_by_contact_until_it_is_opened(sim):
    blocked = run(sim, '1. navigate_to("garden")\n2. join()')
    assert not blocked.success
    assert blocked.results[1].message == "door closed on the way: front door"
    assert sim.physics_state()["robot"]["x"] > -7.6  # still on the hallway side
    opened = run(sim, '1. open_door("front door")\n2. navigate_to("garden")\n3. join()')
    assert opened.success, opened.summary()
    state = sim.physics_state()
    assert abs(state["hinges_deg"]["front door"]) > 80
    assert math.hypot(state["robot"]["x"] + 11.0, state["robot"]["y"]) < 0.1


def test_objects_in_the_closed_fridge_are_hidden_then_placed_on_the_table_by_physics(sim):
    hidden = run(sim, '1. navigate_to("kitchen")\n2. find_object("milk")\n3. join()')
    assert "object not visible here: milk" in hidden.results[2].message
    result = run(sim, '1. open_door("fridge")\n2. find_object("milk")\n3. pick_up("$2")\n'
                      '4. place("$3", "kitchen table")\n5. join()')
    assert result.success, result.summary()
    x, y, z = sim.physics_state()["objects"]["milk"]
    assert abs(x - 4.3) < 0.4 and abs(y + 3.4) < 0.3  # on the table top
    assert z == pytest.approx(0.79, abs=0.02)  # resting on it (top 0.75, half size 0.04)
    assert sim.world.items["milk"].place == "kitchen table"


def test_base_motions_and_the_camera(sim, tmp_path):
    start = sim.physics_state()["robot"]
    result = run(sim, '1. drive(1)\n2. rotate(90)\n3. take_photo("hallway")\n4. join()')
    assert result.success, result.summary()
    end = sim.physics_state()["robot"]
    assert math.hypot(end["x"] - start["x"], end["y"] - start["y"]) == pytest.approx(1.0, abs=0.06)
    assert end["yaw_deg"] == pytest.approx(start["yaw_deg"] + 90, abs=3)
    photo = result.results[3].value
    data = open(photo, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000  # a rendered frame
    assert photo.startswith(str(tmp_path))


def test_physical_failures_have_one_line_reasons(sim):
    far = run(sim, '1. hand_over("red_cup", "alice")\n2. join()')
    assert far.results[1].message == "not holding red_cup"
    result = run(sim, '1. navigate_to("kitchen counter")\n2. pick_up("red cup")\n'
                      '3. hand_over("$2", "bob")\n4. join()')
    assert result.results[3].message == "person not next to the robot: bob is at the office"
    wrong_room = run(sim, '1. place("red_cup", "desk")\n2. join()')
    assert wrong_room.results[1].message.startswith("the desk is not here")


def test_cancel_stops_the_base_at_once():
    sim = MujocoBackend(time_scale=1.0)

    async def go():
        executor = Executor(ROBOT, sim)
        task = asyncio.ensure_future(executor.run(parse_plan('1. navigate_to("garage")\n'
                                                             '2. join()', ROBOT)))
        await asyncio.sleep(1.0)
        t0 = time.monotonic()
        executor.cancel("stop")
        result = await task
        return result, time.monotonic() - t0

    result, took = asyncio.run(go())
    assert result.results[1].outcome.value == "cancelled" and took < 0.2
    vx = sim.data.qvel[sim.model.jnt_dofadr[sim.model.joint("base_x").id]]
    assert abs(vx) < 0.6 and all(sim.data.ctrl[:3] == 0)  # actuators released


def test_registered_as_a_backend():
    assert isinstance(get_backend("mujoco", time_scale=0.0), MujocoBackend)


def test_describe_scene_lists_what_the_head_camera_sees(sim):
    facing = run(sim, '1. navigate_to("kitchen counter")\n2. describe_scene()\n3. join()')
    assert facing.results[2].value == "In the kitchen I see the red cup on the kitchen counter."
    turned = run(sim, '1. rotate(180)\n2. describe_scene()\n3. join()')
    seen = turned.results[2].value
    assert "red cup" not in seen and "blue mug on the kitchen table" in seen
