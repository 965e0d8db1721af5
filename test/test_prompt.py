"""The planner prompt: a shared prefix llama.cpp can keep cached across commands."""

from __future__ import annotations

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.prompt import build_prompt

ROBOT = load_catalog("robot")


def test_the_prefix_before_the_skills_is_the_same_for_every_command():
    a = build_prompt(ROBOT, "go to the kitchen", ["navigate_to"]).system
    b = build_prompt(ROBOT, "say hi", ["say", "get_battery_level"]).system
    shared = a.split("Skills:")[0]
    assert len(shared) > 500 and b.startswith(shared)
