"""The planner prompt: a stable shared prefix, the date context, examples with their dates."""

from __future__ import annotations

import datetime as dt

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.prompt import Example, build_prompt

MAC = load_catalog("mac")
ROBOT = load_catalog("robot")


def test_the_mac_prompt_lists_the_coming_week_so_weekdays_need_no_arithmetic():
    prompt = build_prompt(MAC, "remind me on friday", ["create_reminder"],
                          today=dt.date(2026, 11, 21))
    assert "Today is Saturday, 2026-11-21." in prompt.system
    assert "Sunday 2026-11-22" in prompt.system and "Friday 2026-11-27" in prompt.system
    assert "Saturday 2026-11-28" in prompt.system  # seven days, none missing
    assert "2026-11-21," not in prompt.system.split("next seven days")[1]


def test_examples_show_the_day_they_were_planned_on():
    example = Example("remind me tomorrow", '1. create_reminder("x", "2025-06-30 00:00:00", '
                      '"", "", 0, False)\n2. join()<END_OF_PLAN>', dt.date(2025, 6, 29))
    prompt = build_prompt(MAC, "q", ["create_reminder"], [example], dt.date(2026, 11, 21))
    block = prompt.system.split("Here are some examples:")[1]
    assert block.lstrip().startswith("Today is Sunday, 2025-06-29.\nQuestion: remind me tomorrow")
    robot = build_prompt(ROBOT, "q", ["say"], [Example("say hi", '1. say("hi")\n2. join()')])
    assert "Today is" not in robot.system  # the robot catalog has no dates


def test_the_prefix_before_the_skills_is_the_same_for_every_command():
    a = build_prompt(ROBOT, "go to the kitchen", ["navigate_to"]).system
    b = build_prompt(ROBOT, "say hi", ["say", "get_battery_level"]).system
    shared = a.split("Skills:")[0]
    assert len(shared) > 500 and b.startswith(shared)
