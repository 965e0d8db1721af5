"""Dates, clock times and durations a command mentions, resolved against today.

A 0.5B planner copies text well and does calendar arithmetic badly ("13 days
from now", "eight thirty pm", "quarter to seven"), so the prompt spells out
what each mention means and the model only has to copy it. The rules are the
datasets' (test/data/CONVENTIONS.md): a weekday is the first such day after
today ("next Friday" too), a month and day is its next occurrence, a clock
time of 1-7 without am/pm is pm and 8-11 am, a date without a time is
midnight. Ambiguous mentions (a bare "at 7" with no date, which is usually
part of a message) are left alone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from tinyagent_ros.numerals import Word, numbers_as_digits

_TOKEN = re.compile(
    r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|(\d{1,2})(?:st|nd|rd|th)\b|\d+(?:\.\d+)?|a\.m\.|p\.m\.|"
    r"o'clock|[a-z]+")

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
_WEEKDAYS = {name.lower(): i for i, name in enumerate(WEEKDAYS)}
#: Month names and their three-letter (and "sept") short forms -> month number.
_MONTHS = {form: i for i, name in enumerate(MONTHS, 1)
           for form in (name.lower(), name[:3].lower())} | {"sept": 9}
_ORDINALS = {w: i for i, w in enumerate(
    "_ first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
    "twentieth".split()) if w != "_"}
_ORDINALS["thirtieth"] = 30
_DAYPARTS = {"morning": "am", "afternoon": "pm", "evening": "pm", "night": "pm"}
_MINUTE_UNITS = {"minute": 1, "minutes": 1, "min": 1, "mins": 1,
                 "hour": 60, "hours": 60, "hr": 60, "hrs": 60}
#: Words after a number that make it a quantity, not a clock time.
_NOT_CLOCK = {"days", "day", "weeks", "week", "minutes", "minute", "mins", "min", "hours",
              "hour", "percent", "people", "times", "degrees", "meters", "metres"}


def iso(moment: dt.datetime) -> str:
    """The plan's date format, "2026-11-21 15:00:00"."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Mention:
    """What was said and what it means, as the plan writes it."""

    text: str
    value: str


@dataclass
class _Found:
    kind: str  # "date", "time" or "duration"
    first: int  # token index range [first, last]
    last: int
    date: dt.date | None = None
    time: tuple[int, int] | None = None
    minutes: int | None = None
    until: tuple[int, int] | None = None  # "from 4pm to 6pm": the end time
    explicit: bool = True  # a time with am/pm, a daypart, 24 h or noon


def _tokens(text: str) -> list[Word]:
    words = []
    for m in _TOKEN.finditer(re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text.lower())):
        word = m.group(1) or m.group(0)
        word = {"a.m.": "am", "p.m.": "pm", "o'clock": "oclock"}.get(word, word)
        words.append(Word(word, m.start(), m.end()))
    return numbers_as_digits(words)


def _int(word: str | None) -> int | None:
    return int(word) if word is not None and word.isdigit() else None


class _Reader:
    """Matches date, time and duration phrases at token positions."""

    def __init__(self, words: list[Word], today: dt.date) -> None:
        self.w = [x.text for x in words]
        self.today = today

    def at(self, i: int) -> str | None:
        return self.w[i] if 0 <= i < len(self.w) else None

    def seq(self, i: int, *words: str) -> bool:
        return all(self.at(i + k) == w for k, w in enumerate(words))

    # ----------------------------------------------------------------- dates

    def date(self, i: int) -> _Found | None:
        for match in (self._relative, self._weekday, self._month_day, self._iso):
            found = match(i)
            if found:
                return found
        return None

    def _day(self, first: int, last: int, days: int) -> _Found:
        return _Found("date", first, last, date=self.today + dt.timedelta(days=days))

    def _relative(self, i: int) -> _Found | None:
        w = self.at(i)
        if w in ("today", "tonight"):
            return self._day(i, i, 0)
        if w in ("tomorrow", "tmrw", "tmr"):
            return self._day(i, i, 1)
        if self.seq(i, "the", "day", "after", "tomorrow"):
            return self._day(i, i + 3, 2)
        if self.seq(i, "day", "after", "tomorrow"):
            return self._day(i, i + 2, 2)
        if w == "in":
            count, unit_at = (1, i + 2) if self.at(i + 1) in ("a", "one") else (
                _int(self.at(i + 1)), i + 2)
            if count is not None and self.at(unit_at) in ("day", "days", "week", "weeks"):
                scale = 7 if self.at(unit_at).startswith("week") else 1
                return self._day(i, unit_at, count * scale)
            return None
        count = 1 if w in ("a", "one") else _int(w)
        unit = self.at(i + 1)
        if count is not None and unit in ("day", "days", "week", "weeks") and \
                self.at(i + 2) == "from" and self.at(i + 3) in ("now", "today"):
            return self._day(i, i + 3, count * (7 if unit.startswith("week") else 1))
        return None

    def _weekday(self, i: int) -> _Found | None:
        first, k = i, i
        if self.at(k) == "on":
            k += 1
        if self.seq(k, "this", "coming"):
            k += 2
        elif self.at(k) in ("this", "next", "coming"):
            k += 1
        weekday = _WEEKDAYS.get(self.at(k) or "")
        if weekday is None:
            return None
        days = (weekday - self.today.weekday() - 1) % 7 + 1
        return self._day(first, k, days)

    def _day_number(self, k: int) -> tuple[int, int] | None:
        """A day of the month at token k ("21", "21st", "twenty first"): (day, last index)."""
        word = self.at(k)
        if word in _ORDINALS:
            return _ORDINALS[word], k
        number = _int(word)
        if number is None:
            return None
        if number in (20, 30) and self.at(k + 1) in _ORDINALS and _ORDINALS[self.at(k + 1)] < 10:
            return number + _ORDINALS[self.at(k + 1)], k + 1
        return (number, k) if 1 <= number <= 31 else None

    def _month_day(self, i: int) -> _Found | None:
        k = i + 1 if self.at(i) == "on" else i
        month = day = None
        if self.at(k) in _MONTHS:
            month = _MONTHS[self.at(k)]
            k += 1
            if self.at(k) == "the":
                k += 1
            got = self._day_number(k)
            if got:
                day, k = got
        else:
            if self.at(k) == "the":
                k += 1
            got = self._day_number(k)
            if got:
                day, k = got
                if self.at(k + 1) == "of":
                    k += 1
                if self.at(k + 1) in _MONTHS:
                    month, k = _MONTHS[self.at(k + 1)], k + 1
        if month is None or day is None:
            return None
        year = _int(self.at(k + 1))
        try:
            if year is not None and 2000 <= year <= 2100:
                return _Found("date", i, k + 1, date=dt.date(year, month, day))
            date = dt.date(self.today.year, month, day)
            if date < self.today:
                date = dt.date(self.today.year + 1, month, day)
        except ValueError:
            return None
        return _Found("date", i, k, date=date)

    def _iso(self, i: int) -> _Found | None:
        k = i + 1 if self.at(i) == "on" else i
        word = self.at(k) or ""
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
            try:
                return _Found("date", i, k, date=dt.date.fromisoformat(word))
            except ValueError:
                return None
        return None

    # ----------------------------------------------------------------- times

    def time(self, i: int) -> _Found | None:
        w = self.at(i)
        if w in ("noon", "midday"):
            return _Found("time", i, i, time=(12, 0))
        if w == "midnight":
            return _Found("time", i, i, time=(0, 0))
        if w in ("half", "quarter") and self.at(i + 1) in ("past", "to"):
            hour = _int(self.at(i + 2))
            if hour is None or not 1 <= hour <= 12:
                return None
            minute = {"half": 30, "quarter": 15}[w]
            if self.at(i + 1) == "to":
                hour, minute = hour - 1 or 12, 60 - minute
            return self._finish(i, i + 2, hour, minute, at=True)
        at = self.at(i - 1) in ("at", "by", "from")
        clock = re.fullmatch(r"(\d{1,2}):(\d{2})", w or "")
        if clock:
            hour, minute = int(clock.group(1)), int(clock.group(2))
            if hour > 23 or minute > 59:
                return None
            if hour >= 13 or w.startswith("0"):
                return _Found("time", i, i, time=(hour, minute))
            return self._finish(i, i, hour, minute, at=True)
        hour = _int(w)
        if hour is None or not 1 <= hour <= 12:
            return None
        last, minute = i, 0
        nxt = _int(self.at(i + 1))
        if nxt is not None and 10 <= nxt <= 59 and (self.at(i + 2) in ("am", "pm") or at):
            last, minute = i + 1, nxt  # "three thirty pm", "at eight fifteen"
        if self.at(last + 1) in _NOT_CLOCK:
            return None
        return self._finish(i, last, hour, minute, at=at)

    def _finish(self, first: int, last: int, hour: int, minute: int, at: bool) -> _Found | None:
        """Apply am/pm, a daypart, "o'clock" or the bare-hour rule."""
        nxt = self.at(last + 1)
        if nxt == "oclock":
            last, nxt = last + 1, self.at(last + 2)
        if nxt in ("am", "pm"):
            hour = hour % 12 + (12 if nxt == "pm" else 0)
            return _Found("time", first, last + 1, time=(hour, minute))
        if self.seq(last + 1, "in", "the") and self.at(last + 3) in _DAYPARTS:
            hour = hour % 12 + (12 if _DAYPARTS[self.at(last + 3)] == "pm" else 0)
            return _Found("time", first, last + 3, time=(hour, minute))
        if self.seq(last + 1, "at", "night") or nxt == "tonight":
            return _Found("time", first, last + (2 if nxt == "at" else 0),
                          time=(hour % 12 + 12, minute))
        if not at and self.at(last) != "oclock":
            return None
        hour = hour % 12 + 12 if hour % 12 <= 7 else hour  # 1-7 pm, 8-11 am, 12 noon
        return _Found("time", first, last, time=(hour % 24, minute), explicit=False)

    # ------------------------------------------------------------- durations

    def duration(self, i: int, after_mention: bool = False) -> _Found | None:
        """A length: "for 45 minutes", "a 2 hour session", or "45 mins" right after a time.

        Other counts of minutes are left alone ("I'll be there in ten minutes").
        """
        said_for = self.at(i) == "for"
        adjective = self.at(i) in ("a", "an") and _int(self.at(i + 1)) is not None
        if not (said_for or adjective or after_mention):
            return None
        k = i + 1 if said_for else i
        amount: float | None = None
        if self.seq(k, "half", "an", "hour"):
            return _Found("duration", i, k + 2, minutes=30)
        if self.seq(k, "a", "quarter", "of", "an", "hour"):
            return _Found("duration", i, k + 4, minutes=15)
        if self.at(k) in ("a", "an") and self.at(k + 1) in ("hour", "hr"):
            amount, k = 60.0, k + 1
        else:
            if self.at(k) in ("a", "an") and _int(self.at(k + 1)) is not None:
                k += 1  # "a 2 hour session"
            try:
                amount = float(self.at(k) or "")
            except ValueError:
                return None
            k += 1
            if self.seq(k, "and", "a", "half") and self.at(k + 3) in ("hour", "hours"):
                amount, k = amount + 0.5, k + 3
            if self.at(k) not in _MINUTE_UNITS:
                return None
            amount *= _MINUTE_UNITS[self.at(k)]
        if self.seq(k + 1, "and", "a", "half") and amount == 60:
            amount, k = 90.0, k + 3
        if not said_for and self.at(k + 1) in (
                "late", "early", "ago", "before", "after", "away", "later"):
            return None  # "ten minutes late", "an hour before the call": not a length
        return _Found("duration", i, k, minutes=round(amount))


def _find(words: list[Word], today: dt.date) -> list[_Found]:
    reader = _Reader(words, today)
    found: list[_Found] = []
    i = 0
    while i < len(words):
        after = bool(found) and found[-1].last == i - 1 and found[-1].kind != "duration"
        hit = reader.date(i) or reader.time(i) or reader.duration(i, after)
        if hit:
            found.append(hit)
            i = hit.last + 1
        else:
            i += 1
    return found


def _pair(found: list[_Found], words: list[Word]) -> list[_Found]:
    """Join each clock time to a date said next to it ("tomorrow at 3pm", "at 3pm tomorrow")."""
    out: list[_Found] = []
    for item in found:
        prev = out[-1] if out else None
        if (prev is not None and {prev.kind, item.kind} == {"date", "time"}
                and all(w.text in ("at", "on", "by", "from")
                        for w in words[prev.last + 1:item.first])
                and item.first - prev.last <= 2):
            prev.kind = "moment"
            prev.date = prev.date or item.date
            prev.time = prev.time or item.time
            prev.last = item.last
            continue
        if (prev is not None and prev.time is not None and item.kind == "time"
                and item.first - prev.last == 2
                and words[prev.last + 1].text in ("to", "until", "till")):
            prev.until, prev.last = item.time, item.last
            if not item.explicit and item.time < prev.time:
                prev.until = (item.time[0] + 12, item.time[1])
            continue
        out.append(item)
    return out


def _nearest(item: _Found, found: list[_Found]) -> int | None:
    """Index of the dated mention closest to a duration (by words between them)."""
    near = [(max(item.first - f.last, f.first - item.last), n)
            for n, f in enumerate(found) if f.date is not None]
    return min(near)[1] if near else None


def mentions(query: str, today: dt.date) -> list[Mention]:
    """The dates, times and durations in ``query`` with their plan values, in order.

    A dated clock time also gets the time an hour later (events last an hour
    unless a length is said); a stated length gets its end instead.
    """
    words = _tokens(query)
    found = _pair(_find(words, today), words)
    starts = [dt.datetime.combine(f.date, dt.time(*(f.time or (0, 0))))
              if f.date is not None else None for f in found]
    anchors = {n: _nearest(f, found) for n, f in enumerate(found) if f.kind == "duration"}
    result: list[Mention] = []
    for n, item in enumerate(found):
        text = query[words[item.first].start:words[item.last].end]
        start = starts[n]
        if item.kind == "duration":
            value = f"{item.minutes} minutes"
            anchor = anchors[n]
            if anchor is not None:
                end = starts[anchor] + dt.timedelta(minutes=item.minutes or 0)
                value += f" (ends {iso(end)})"
            result.append(Mention(text, value))
        elif start is not None:
            value = iso(start)
            if item.until is not None:
                value += f" to {iso(dt.datetime.combine(start.date(), dt.time(*item.until)))}"
            elif item.time is not None and n not in anchors.values():
                value += f" (an hour later: {iso(start + dt.timedelta(hours=1))})"
            result.append(Mention(text, value))
        elif item.explicit and item.time is not None:
            # a bare "at 7" with no date is most often part of a message: left alone
            result.append(Mention(text, f"{item.time[0]:02d}:{item.time[1]:02d}:00"))
    return result


def hint(query: str, today: dt.date) -> str:
    """One prompt line spelling out the command's dates and times, or "" when it has none."""
    found = mentions(query, today)
    if not found:
        return ""
    return "Dates and times: " + "; ".join(f'"{m.text}" = {m.value}' for m in found) + "."
