"""Catalogs load into typed skills, and bad ones fail naming the skill and the field."""

from __future__ import annotations

import pytest

from tinyagent_ros.catalog import Access, CatalogError, load_catalog, parse_catalog

ROBOT_SKILLS = [
    "navigate_to", "navigate_to_pose", "drive", "rotate", "dock", "locate_person", "find_object",
    "pick_up", "place", "hand_over", "open_door", "take_photo", "describe_scene", "say",
    "send_message", "get_battery_level",
]
MAC_SKILLS = [
    "get_phone_number", "get_email_address", "create_calendar_event", "open_and_get_file_path",
    "summarize_pdf", "compose_new_email", "reply_to_email", "forward_email", "maps_open_location",
    "maps_show_directions", "create_note", "open_note", "append_note_content", "create_reminder",
    "send_sms", "get_zoom_meeting_link",
]


def test_shipped_catalogs_match_the_contract():
    robot, mac = load_catalog("robot"), load_catalog("mac")
    assert robot.names == ROBOT_SKILLS
    assert mac.names == MAC_SKILLS
    assert robot["navigate_to_pose"].signature == (
        "navigate_to_pose(x: float, y: float, yaw_deg: float)"
    )
    assert mac["create_reminder"].signature == (
        "create_reminder(name: str, due_date: str, notes: str, list_name: str, priority: int, "
        "all_day: bool)"
    )
    assert robot["find_object"].resources == {"base": Access.SHARED, "camera": Access.EXCLUSIVE}
    assert all(not s.resources for s in mac)


def test_resource_conflicts_follow_the_contract():
    robot = load_catalog("robot")
    assert robot["navigate_to"].conflicts_with(robot["say"])  # base exclusive vs shared
    assert robot["find_object"].conflicts_with(robot["take_photo"])  # camera exclusive
    assert not robot["say"].conflicts_with(robot["find_object"])  # base shared both
    assert not robot["locate_person"].conflicts_with(robot["navigate_to"])  # no resources


def _catalog(**skill):
    base = {"name": "s", "description": "d", "params": []}
    return {"name": "t", "skills": [{**base, **skill}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_catalog(params=[{"name": "x", "type": "complex"}]), "skill 's', param 'x', field type"),
        (_catalog(resources={"base": "sometimes"}), "skill 's', field resources.base"),
        (_catalog(timeout_s=-1), "skill 's', field timeout_s"),
        (_catalog(colour="red"), "skill 's', field colour"),
        (_catalog(name="join"), "reserved"),
        (_catalog(name="two words"), "not an identifier"),
        ({"name": "t", "skills": [{"name": "a", "description": ""}] * 2}, "duplicate skill 'a'"),
        ([], "the function list is empty"),
        ("skills", "expected a mapping"),
    ],
)
def test_bad_catalog_names_skill_and_field(data, message):
    with pytest.raises(CatalogError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_catalog(data, "bad.yaml")


def test_unknown_catalog_name_lists_the_shipped_ones():
    with pytest.raises(CatalogError, match="shipped: mac, robot"):
        load_catalog("nope")


def test_bad_yaml_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(path)


def test_user_adds_a_skill_by_editing_yaml(tmp_path):
    text = load_catalog("robot")  # noqa: F841 - make sure shipped file still loads
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nskills:\n  - name: wave\n    description: Wave the arm.\n"
        "    params: [{name: times, type: int}]\n    resources: {arm: exclusive}\n"
    )
    mine = load_catalog(path)
    assert mine["wave"].signature == "wave(times: int)"
