"""MacBackend: the ``mac`` catalog's 16 tools on the user's Mac (contract section 4).

Contacts, Calendar, Mail, Notes and Reminders run fixed AppleScript programs
(:mod:`.scripts`) through ``osascript -``, with every value as a separate
command-line argument; Spotlight runs ``mdfind``; Maps and Messages open
percent-encoded URLs with ``open``; PDFs are read with pypdf; Zoom is its REST
API. Mail and Messages only ever open drafts: nothing here sends or deletes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import platform
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from tinyagent_ros.backends.base import Feedback, SkillFailed, one_line
from tinyagent_ros.backends.macos import urls
from tinyagent_ros.backends.macos.pdf import extract_text, first_sentences
from tinyagent_ros.backends.macos.process import run_command
from tinyagent_ros.backends.macos.scripts import SCRIPTS
from tinyagent_ros.backends.macos.zoom import NO_TOKEN, TOKEN_ENV, ZoomMeetings
from tinyagent_ros.catalog import Skill

OSASCRIPT_ENV = "TINYAGENT_OSASCRIPT"
MDFIND_ENV = "TINYAGENT_MDFIND"
OPEN_ENV = "TINYAGENT_OPEN"

#: Turns a PDF's text into a summary; sync (run in a thread) or async (the local model).
Summarizer = Callable[[str], str] | Callable[[str], Awaitable[str]]

#: Words the planner may use for a transport, mapped to Apple Maps' dirflg.
_TRANSPORTS = {
    "": "d", "d": "d", "drive": "d", "driving": "d", "car": "d",
    "w": "w", "walk": "w", "walking": "w",
    "r": "r", "transit": "r", "public transport": "r", "train": "r", "bus": "r",
}  # fmt: skip
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0", ""}


class MacOSRequired(ValueError):
    """The macos backend was asked for where there is no osascript to run."""


@dataclass(frozen=True)
class Executables:
    """The three macOS programs the tools run; each can be swapped for a stand-in."""

    osascript: str
    mdfind: str
    open: str


class MacBackend:
    """Run the ``mac`` catalog's tools with AppleScript, Spotlight, URLs, pypdf and Zoom.

    ``osascript``, ``mdfind`` and ``open_cmd`` default to the environment
    variables TINYAGENT_OSASCRIPT / TINYAGENT_MDFIND / TINYAGENT_OPEN, then to
    the programs in /usr/bin. Off macOS an osascript must be named, else
    :class:`MacOSRequired`. ``summarize`` shortens a PDF's text (default: its
    opening sentences). ``zoom`` creates meetings (default: from
    TINYAGENT_ZOOM_TOKEN when set; without it the Zoom tool fails clearly).
    ``timeout_s`` bounds every external command.
    """

    name = "macos"
    catalog = "mac"

    def __init__(
        self,
        osascript: str | os.PathLike[str] | None = None,
        *,
        mdfind: str | os.PathLike[str] | None = None,
        open_cmd: str | os.PathLike[str] | None = None,
        summarize: Summarizer | None = None,
        zoom: ZoomMeetings | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        osa = osascript or os.environ.get(OSASCRIPT_ENV)
        if not osa:
            if sys.platform != "darwin":
                raise MacOSRequired(
                    f"the macos backend needs macOS (this is {platform.system()}): "
                    f"use --backend dry-run to see what would run, "
                    f"or set {OSASCRIPT_ENV} to a stand-in osascript"
                )
            osa = "/usr/bin/osascript"
        self.exe = Executables(
            osascript=os.fspath(osa),
            mdfind=os.fspath(mdfind or os.environ.get(MDFIND_ENV) or "/usr/bin/mdfind"),
            open=os.fspath(open_cmd or os.environ.get(OPEN_ENV) or "/usr/bin/open"),
        )
        self.summarize: Summarizer = summarize or first_sentences
        token = os.environ.get(TOKEN_ENV, "").strip()
        self.zoom = zoom if zoom is not None else (ZoomMeetings(token) if token else None)
        self.timeout_s = timeout_s

    async def call(self, skill: Skill, args: list[Any], feedback: Feedback) -> Any:
        """Run one mac tool; a cancel kills its external command before it returns."""
        tool = getattr(self, f"_tool_{skill.name}", None)
        if tool is None:
            raise ValueError(f"the macos backend has no tool {skill.name!r}")
        return await tool(*args)

    # ------------------------------------------------------------ plumbing

    async def _osascript(self, tool: str, values: list[str]) -> str:
        """Run the tool's fixed program (read from stdin via "-") with ``values`` as argv."""
        argv = [self.exe.osascript, "-", *values]
        return await run_command(argv, stdin=SCRIPTS[tool], timeout_s=self.timeout_s, what=tool)

    async def _open(self, target: str, tool: str) -> None:
        """Open a URL or an absolute path (never option-like: it starts with a scheme or "/")."""
        await run_command([self.exe.open, target], timeout_s=self.timeout_s, what=tool)

    # ------------------------------------------------------------ Contacts

    async def _tool_get_phone_number(self, name: Any) -> str:
        return await self._osascript("get_phone_number", [_text(name)])

    async def _tool_get_email_address(self, name: Any) -> str:
        return await self._osascript("get_email_address", [_text(name)])

    # ------------------------------------------------------------ Calendar

    async def _tool_create_calendar_event(
        self,
        title: Any,
        start_date: Any,
        end_date: Any,
        location: Any,
        invitees: Any,
        notes: Any,
        calendar: Any,
    ) -> str:
        what = "create_calendar_event"
        start = _date(start_date, what, "start_date")
        if start is None:
            raise SkillFailed(f"{what}: start_date is required")
        end = _date(end_date, what, "end_date") or start + timedelta(minutes=60)
        if end <= start:
            raise SkillFailed(f"{what}: end_date {_iso(end)} is not after start_date {_iso(start)}")
        values = [_text(title), _iso(start), _iso(end), _text(location), _text(notes)]
        return await self._osascript(what, [*values, _text(calendar), *_counted(invitees)])

    # ------------------------------------------------------------ Files

    async def _tool_open_and_get_file_path(self, file_name: Any) -> str:
        what = "open_and_get_file_path"
        name = _text(file_name)
        if not name.strip():
            raise SkillFailed(f"{what}: empty file name")
        # -name takes the next argument as its value, whatever it starts with
        argv = [self.exe.mdfind, "-0", "-name", name]
        found = await run_command(argv, timeout_s=self.timeout_s, what=what)
        paths = [p for p in found.split("\0") if p.startswith("/")]
        if not paths:
            raise SkillFailed(f"{what}: Spotlight found no file named {one_line(name, 80)!r}")
        path = min(paths, key=lambda p: _rank(p, name))
        await self._open(path, what)
        return path

    async def _tool_summarize_pdf(self, pdf_path: Any) -> str:
        text = await asyncio.to_thread(extract_text, _text(pdf_path))
        if inspect.iscoroutinefunction(self.summarize):
            summary = await self.summarize(text)
        else:  # a blocking model must not stall the other tasks of the plan
            summary = await asyncio.to_thread(self.summarize, text)
            if inspect.isawaitable(summary):
                summary = await summary
        if not isinstance(summary, str) or not summary.strip():
            raise SkillFailed("summarize_pdf: the summariser returned nothing")
        return summary

    # ------------------------------------------------------------ Mail (drafts only)

    async def _tool_compose_new_email(
        self, recipients: Any, cc: Any, subject: Any, context: Any, attachments: Any
    ) -> str:
        lists = [*_counted(recipients), *_counted(cc), *_counted(attachments)]
        return await self._osascript("compose_new_email", [_text(subject), _text(context), *lists])

    async def _tool_reply_to_email(self, cc: Any, context: Any, attachments: Any) -> str:
        lists = [*_counted(cc), *_counted(attachments)]
        return await self._osascript("reply_to_email", [_text(context), *lists])

    async def _tool_forward_email(
        self, recipients: Any, cc: Any, context: Any, attachments: Any
    ) -> str:
        lists = [*_counted(recipients), *_counted(cc), *_counted(attachments)]
        return await self._osascript("forward_email", [_text(context), *lists])

    # ------------------------------------------------------------ Maps

    async def _tool_maps_open_location(self, location: Any) -> str:
        url = urls.maps_location_url(_text(location))
        await self._open(url, "maps_open_location")
        return url

    async def _tool_maps_show_directions(
        self, start_location: Any, end_location: Any, transport: Any
    ) -> str:
        what = "maps_show_directions"
        flag = _TRANSPORTS.get(_text(transport).strip().lower())
        if flag is None:
            raise SkillFailed(f'{what}: transport must be "d", "w" or "r", not {_clip(transport)}')
        url = urls.maps_directions_url(_text(start_location), _text(end_location), flag)
        await self._open(url, what)
        return url

    # ------------------------------------------------------------ Notes

    async def _tool_create_note(self, name: Any, content: Any, folder: Any) -> str:
        return await self._osascript("create_note", [_text(name), _text(content), _text(folder)])

    async def _tool_open_note(self, name: Any, folder: Any) -> str:
        return await self._osascript("open_note", [_text(name), _text(folder)])

    async def _tool_append_note_content(self, name: Any, content: Any, folder: Any) -> str:
        values = [_text(name), _text(content), _text(folder)]
        return await self._osascript("append_note_content", values)

    # ------------------------------------------------------------ Reminders

    async def _tool_create_reminder(
        self, name: Any, due_date: Any, notes: Any, list_name: Any, priority: Any, all_day: Any
    ) -> str:
        what = "create_reminder"
        due = _date(due_date, what, "due_date")
        level = _int(priority, what, "priority")
        if not 0 <= level <= 9:
            raise SkillFailed(f"{what}: priority must be 0 to 9, not {level}")
        whole_day = "true" if _bool(all_day, what, "all_day") else "false"
        values = [_text(name), _iso(due) if due else "", _text(notes), _text(list_name)]
        return await self._osascript(what, [*values, str(level), whole_day])

    # ------------------------------------------------------------ Messages (a draft)

    async def _tool_send_sms(self, recipients: Any, message: Any) -> str:
        what = "send_sms"
        numbers = _texts(recipients)
        if not numbers:
            raise SkillFailed(f"{what}: no recipients")
        await self._open(urls.sms_draft_url(numbers, _text(message)), what)
        return f"draft opened in Messages, not sent, to {', '.join(numbers)}"

    # ------------------------------------------------------------ Zoom

    async def _tool_get_zoom_meeting_link(
        self, topic: Any, start_time: Any, duration: Any, meeting_invitees: Any
    ) -> str:
        what = "get_zoom_meeting_link"
        if self.zoom is None:
            raise SkillFailed(NO_TOKEN)
        start = _date(start_time, what, "start_time")
        if start is None:
            raise SkillFailed(f"{what}: start_time is required")
        minutes = _int(duration, what, "duration")
        if minutes <= 0:
            raise SkillFailed(f"{what}: duration must be positive minutes, not {minutes}")
        invitees = _texts(meeting_invitees)
        return await asyncio.to_thread(self.zoom.create, _text(topic), start, minutes, invitees)


# ---------------------------------------------------------------- argument coercion


def _text(value: Any) -> str:
    """A str argument as text; a non-text ``$N`` result is written as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _texts(value: Any) -> list[str]:
    """A list[str] argument; a whole ``$N`` that resolved to one string is a one-item list."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return [_text(value)]


def _counted(value: Any) -> list[str]:
    """A list as it travels in argv: its item count, then the items."""
    items = _texts(value)
    return [str(len(items)), *items]


def _clip(value: Any) -> str:
    return repr(one_line(_text(value), 60))


def _date(value: Any, what: str, field: str) -> datetime | None:
    """An ISO date (local time), or None for an empty one; SkillFailed names the field."""
    text = _text(value).strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SkillFailed(
            f'{what}: {field} is not a date like "2026-11-21 15:00:00": {_clip(text)}'
        ) from None
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def _iso(moment: datetime) -> str:
    """The fixed-width form the AppleScript ``isoDate`` handler reads."""
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def _int(value: Any, what: str, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
    raise SkillFailed(f"{what}: {field} must be a whole number, not {_clip(value)}")


def _bool(value: Any, what: str, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise SkillFailed(f"{what}: {field} must be True or False, not {_clip(value)}")


def _rank(path: str, name: str) -> tuple[bool, bool, int]:
    """Sort key for Spotlight hits: exact file name first, then prefix, then shortest path."""
    base, wanted = PurePosixPath(path).name.lower(), name.strip().lower()
    return (base != wanted, not base.startswith(wanted), len(path))
