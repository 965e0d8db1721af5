"""Dates and times resolved for the prompt: the datasets' rules, and what is left alone."""

from __future__ import annotations

import datetime as dt

import pytest

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.datetimes import hint, mentions
from tinyagent_ros.prompt import Example, build_prompt

SATURDAY = dt.date(2026, 11, 21)


def values(query: str, today: dt.date = SATURDAY) -> dict[str, str]:
    return {m.text: m.value for m in mentions(query, today)}


@pytest.mark.parametrize(("query", "said", "start"), [
    ("remind me tomorrow at 8pm", "tomorrow at 8pm", "2026-11-22 20:00:00"),
    ("lunch on Tuesday at noon", "on Tuesday at noon", "2026-11-24 12:00:00"),
    # a weekday is the first such day after today, "next" included
    ("dentist next Saturday at 2:30pm", "next Saturday at 2:30pm", "2026-11-28 14:30:00"),
    # bare hours: 1-7 are pm, 8-11 am
    ("zoom tomorrow at 3", "tomorrow at 3", "2026-11-22 15:00:00"),
    ("call on Monday at 10", "on Monday at 10", "2026-11-23 10:00:00"),
    ("sync at ten forty five this coming Monday", "ten forty five this coming Monday",
     "2026-11-23 10:45:00"),
    ("meet at 3pm the day after tomorrow", "3pm the day after tomorrow", "2026-11-23 15:00:00"),
    ("ping me thirteen days from now at eight thirty pm",
     "thirteen days from now at eight thirty pm", "2026-12-04 20:30:00"),
    ("dinner at quarter to seven June 5th", "quarter to seven June 5th", "2027-06-05 18:45:00"),
    ("class at 1:15 in the afternoon on the 3rd of December",
     "1:15 in the afternoon on the 3rd of December", "2026-12-03 13:15:00"),
    ("review Dec 25 at eight thirty am", "Dec 25 at eight thirty am", "2026-12-25 08:30:00"),
    ("standup at 17:00 in 2 days", "17:00 in 2 days", "2026-11-23 17:00:00"),
    ("on 2027-01-04 at 9am", "on 2027-01-04 at 9am", "2027-01-04 09:00:00"),
])
def test_a_date_and_time_resolve_to_the_plan_format(query, said, start):
    assert values(query)[said].startswith(start)


def test_a_month_and_day_is_its_next_occurrence():
    assert values("on November 20th")["on November 20th"].startswith("2027-11-20 00:00:00")
    assert values("on November 22nd")["on November 22nd"].startswith("2026-11-22 00:00:00")


def test_a_date_alone_is_midnight_and_a_time_gets_an_hour_later_for_events():
    assert values("remind me to call mom on friday") == {"on friday": "2026-11-27 00:00:00"}
    assert values("book it tomorrow at 9am")["tomorrow at 9am"] == \
        "2026-11-22 09:00:00 (an hour later: 2026-11-22 10:00:00)"
    # a stated length replaces the hour
    assert values("a 2 hour review on Monday at 10") == {
        "a 2 hour": "120 minutes (ends 2026-11-23 12:00:00)",
        "on Monday at 10": "2026-11-23 10:00:00"}


def test_durations_end_from_the_nearest_start():
    found = values("zoom with Tom on Wednesday at 9am, 45 mins, and a 2 hour review "
                   "for one hundred and twenty minutes on Friday at 1 PM")
    assert found["45 mins"] == "45 minutes (ends 2026-11-25 09:45:00)"
    assert found["for one hundred and twenty minutes"] == \
        "120 minutes (ends 2026-11-27 15:00:00)"
    assert values("planning for half an hour tomorrow at 3")["for half an hour"] == \
        "30 minutes (ends 2026-11-22 15:30:00)"
    assert values("for an hour and a half on Monday at 4pm")["for an hour and a half"] == \
        "90 minutes (ends 2026-11-23 17:30:00)"


def test_a_range_gives_both_ends():
    assert values("meet Ahmed Tuesday from 4pm to 6pm")["Tuesday from 4pm to 6pm"] == \
        "2026-11-24 16:00:00 to 2026-11-24 18:00:00"
    assert values("book it today from 2 to 4pm")["today from 2 to 4pm"] == \
        "2026-11-21 14:00:00 to 2026-11-21 16:00:00"


@pytest.mark.parametrize("query", [
    "text Mom that dinner is at 7",  # a bare hour with no date belongs to the message
    "tell David I'm running ten minutes late",
    "text Grace I'll be there in ten minutes",
    "turn 90 degrees and drive 2 metres",
    "we need 3 days to finish",
    "remind me on February 30th",  # no such day
    "",
])
def test_what_is_not_a_date_is_left_alone(query):
    assert hint(query, SATURDAY) == ""


def test_an_explicit_time_without_a_date_is_still_resolved():
    assert values("remind me at 8pm to call mom") == {"8pm": "20:00:00"}


def test_the_prompt_spells_out_dates_for_the_question_and_each_example():
    mac = load_catalog("mac")
    example = Example("remind me tomorrow at 9am to pay rent",
                      '1. create_reminder("Pay rent", "2025-03-02 09:00:00", "", "", 0, False)\n'
                      "2. join()<END_OF_PLAN>", dt.date(2025, 3, 1))
    prompt = build_prompt(mac, "zoom with Ana tomorrow at 3", ["get_email_address"], [example],
                          SATURDAY)
    assert prompt.user == ('Question: zoom with Ana tomorrow at 3\nDates and times: '
                           '"tomorrow at 3" = 2026-11-22 15:00:00 '
                           '(an hour later: 2026-11-22 16:00:00).')
    assert ('Question: remind me tomorrow at 9am to pay rent\nDates and times: '
            '"tomorrow at 9am" = 2025-03-02 09:00:00') in prompt.system
    plain = build_prompt(mac, "zoom with Ana tomorrow at 3", ["get_email_address"], [example],
                         SATURDAY, date_hints=False)
    assert plain.user == "Question: zoom with Ana tomorrow at 3"
    assert "Dates and times" not in plain.system
    # a catalog without dates (no today) gets no date lines
    robot = build_prompt(load_catalog("robot"), "dock at 3pm tomorrow", ["dock"])
    assert robot.user == "Question: dock at 3pm tomorrow"
