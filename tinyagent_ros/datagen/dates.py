"""Dates and clock times as people say them, resolved against the case's ``today``.

Rules from CONVENTIONS.md: a weekday means the first such day after today
("next Friday" is the same day), a clock time of 1-7 without am/pm is pm and
8-11 is am, "noon" is 12:00, and a date without a time is midnight.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tinyagent_ros.datagen.clause import Ctx
from tinyagent_ros.datagen.heldout import Bank, templates
from tinyagent_ros.datagen.numbers import int_words
from tinyagent_ros.datetimes import MONTHS, WEEKDAYS

#: The range ``today`` is drawn from, so relative dates vary.
TODAY_FIRST = dt.date(2025, 1, 1)
TODAY_LAST = dt.date(2027, 12, 31)

def draw_today(ctx: Ctx) -> dt.date:
    """A random date in the today range."""
    span = (TODAY_LAST - TODAY_FIRST).days
    return TODAY_FIRST + dt.timedelta(days=ctx.rng.randint(0, span))


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 22nd."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


#: How a day is named. Keys are dispatched on in :func:`day`.
DAY_FORMS = templates("date.day", [
    "!tomorrow@4", "!on {weekday}@3", "!{weekday}@2", "next {weekday}", "this {weekday}",
    "this coming {weekday}", "today", "the day after tomorrow", "in {n} days", "{n} days from now",
    "!on {month} {nth}@2", "{month} {nth}", "on the {nth} of {month}", "on {mon} {d}",
])
#: Offsets for "in N days".
DAY_OFFSETS: Bank[int] = Bank("num.day_offset", list(range(2, 15)), pinned=["2", "3"])
#: Clock times (24 h) that people book things at.
CLOCKS: Bank[tuple[int, int]] = Bank(
    "num.clock",
    [(h, m) for h in range(8, 21) for m in (0, 15, 30, 45)],
    key=lambda v: f"{v[0]:02d}:{v[1]:02d}",
    pinned=["09:00", "10:00", "14:00", "15:00", "12:00", "16:00"],
    weights=[{0: 6.0, 30: 3.0, 15: 1.0, 45: 1.0}[m] for h in range(8, 21) for m in (0, 15, 30, 45)],
)
#: How a clock time is said. Keys are dispatched on in :func:`clock`.
CLOCK_FORMS = templates("date.clock", [
    "!ampm@5", "ampm_space@2", "ampm_dots", "!bare@3", "words", "words_ampm", "half_past",
    "quarter", "oclock", "h24", "daypart", "noon",
])
#: Meeting lengths in minutes; an hour is used by every split.
DURATIONS: Bank[int] = Bank(
    "num.duration", [10, 15, 20, 25, 30, 40, 45, 50, 60, 75, 90, 105, 120, 150, 180],
    pinned=["30", "45", "90"], shared=["60"],
)


@dataclass(frozen=True)
class When:
    """A said date/time and what it means."""

    text: str
    moment: dt.datetime
    has_time: bool


def _needs_meridiem(h: int) -> bool:
    """Whether a bare hour would be misread (the 1-7 pm / 8-11 am rule does not give h)."""
    h12 = h % 12 or 12
    if h12 == 12:
        return True
    return not ((1 <= h12 <= 7 and h >= 12) or (8 <= h12 <= 11 and h < 12))


def clock(ctx: Ctx, h: int, m: int) -> str:
    """A clock time without "at": "3pm", "3:30", "half past two", "noon", "15:00"."""
    h12 = h % 12 or 12
    pm = h >= 12
    mm = f":{m:02d}" if m else ""
    bare_ok = not _needs_meridiem(h)
    for _ in range(12):
        form = ctx.pick(CLOCK_FORMS)
        if form == "ampm":
            return f"{h12}{mm}{'pm' if pm else 'am'}"
        if form == "ampm_space":
            return f"{h12}{mm} {ctx.choice(('PM', 'pm')) if pm else ctx.choice(('AM', 'am'))}"
        if form == "ampm_dots":
            return f"{h12}{mm} {'p.m.' if pm else 'a.m.'}"
        if form == "bare" and bare_ok:
            return f"{h12}{mm}"
        if form == "words" and bare_ok:
            return int_words(h12) + (f" {int_words(m, ctx.chance(0.5))}" if m else "")
        if form == "words_ampm" and m in (0, 30) and h12 != 12:
            tail = " thirty" if m else ""
            return f"{int_words(h12)}{tail} {'pm' if pm else 'am'}"
        if form == "half_past" and m == 30 and bare_ok:
            return f"half past {ctx.choice((int_words(h12), str(h12)))}"
        if form == "quarter" and m == 15 and bare_ok:
            return f"quarter past {int_words(h12)}"
        if form == "quarter" and m == 45 and bare_ok and not _needs_meridiem(h + 1):
            return f"quarter to {int_words((h + 1) % 12 or 12)}"
        if form == "oclock" and m == 0 and bare_ok:
            return f"{ctx.choice((int_words(h12), str(h12)))} o'clock"
        if form == "h24" and (h >= 13 or ctx.chance(0.3)):
            return f"{h:02d}:{m:02d}" if h < 10 else f"{h}:{m:02d}"
        if form == "daypart" and h != 12:
            part = ("in the morning" if h < 12 else "in the afternoon" if h < 17
                    else "in the evening")
            return f"{h12}{mm} {part}"
        if form == "noon" and (h, m) == (12, 0):
            return ctx.choice(("noon", "midday", "12 noon"))
    return f"{h12}{mm}{'pm' if pm else 'am'}"


def at_clock(ctx: Ctx, h: int, m: int) -> str:
    """A clock time with its preposition: "at 3pm"."""
    return f"at {clock(ctx, h, m)}"


def day(ctx: Ctx, today: dt.date) -> tuple[str, dt.date]:
    """A day phrase and the date it names (never today's weekday by name)."""
    form = ctx.pick(DAY_FORMS)
    if "{weekday}" in form:
        delta = ctx.rng.randint(1, 6)
        target = today + dt.timedelta(days=delta)
        return form.format(weekday=WEEKDAYS[target.weekday()]), target
    if form == "tomorrow":
        return "tomorrow", today + dt.timedelta(days=1)
    if form == "today":
        return "today", today
    if form == "the day after tomorrow":
        return form, today + dt.timedelta(days=2)
    if "{n}" in form:
        n = ctx.pick(DAY_OFFSETS)
        said = int_words(n) if ctx.chance(0.5) else str(n)
        return form.format(n=said), today + dt.timedelta(days=n)
    target = today + dt.timedelta(days=ctx.rng.randint(2, 300))
    return form.format(month=MONTHS[target.month - 1], nth=ordinal(target.day),
                       mon=MONTHS[target.month - 1][:3], d=target.day), target


def when(ctx: Ctx, today: dt.date, time: bool = True) -> When:
    """A date, with a clock time when ``time``, in either order ("at 3pm tomorrow")."""
    day_text, date = day(ctx, today)
    if not time:
        return When(day_text, dt.datetime.combine(date, dt.time()), False)
    h, m = ctx.pick(CLOCKS)
    time_text = at_clock(ctx, h, m)
    moment = dt.datetime.combine(date, dt.time(h, m))
    if day_text.startswith("on ") or ctx.chance(0.65):
        return When(f"{day_text} {time_text}", moment, True)
    return When(f"{time_text} {day_text}", moment, True)


def duration(ctx: Ctx, minutes: int) -> str:
    """A stated length: "for 30 minutes", "for an hour and a half", "for two hours"."""
    options = [f"for {minutes} minutes", f"for {int_words(minutes)} minutes"]
    if minutes < 60:
        options.append(f"for {minutes} mins")
    named = {15: "a quarter of an hour", 30: "half an hour", 60: "an hour",
             90: "an hour and a half",
             120: "two hours", 180: "three hours", 150: "two and a half hours"}
    if minutes in named:
        options += [f"for {named[minutes]}"] * 3
    if minutes % 60 == 0:
        hours = minutes // 60
        options.append(f"for {hours} hour{'s' if hours > 1 else ''}")
    if minutes == 90:
        options.append("for 1.5 hours")
    return ctx.choice(options)
