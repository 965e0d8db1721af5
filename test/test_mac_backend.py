"""The macOS backend under a recording fake osascript / mdfind / open (no Mac needed).

The fake is a real program: it logs its argv and the script it read on stdin
as JSON, then prints a canned answer chosen by the script's tool tag. Every
tool's exact argv and script are checked, with hostile strings in every
string argument.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tinyagent_ros.backends import SkillFailed, get_backend
from tinyagent_ros.backends.macos import MacBackend, MacOSRequired
from tinyagent_ros.backends.macos.pdf import first_sentences
from tinyagent_ros.backends.macos.scripts import SCRIPTS
from tinyagent_ros.backends.macos.urls import maps_directions_url, maps_location_url
from tinyagent_ros.backends.macos.zoom import MEETINGS_URL, NO_TOKEN, TOKEN_ENV, ZoomMeetings
from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.executor import Executor, Outcome
from tinyagent_ros.plan import parse_plan

CATALOG = load_catalog("mac")

FAKE_SOURCE = r'''#!{python} -S
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
exe = os.path.basename(sys.argv[0])
args = sys.argv[1:]
script = ""
if exe == "osascript" and args[:1] == ["-"]:
    script = sys.stdin.buffer.read().decode("utf-8")
with open(os.path.join(here, "calls.jsonl"), "a", encoding="utf-8") as log:
    log.write(json.dumps({"exe": exe, "argv": args, "script": script}) + "\n")
with open(os.path.join(here, "fake.json"), encoding="utf-8") as f:
    conf = json.load(f)
if conf.get("sleep"):
    with open(os.path.join(here, "pid"), "w") as f:
        f.write(str(os.getpid()))
    time.sleep(conf["sleep"])
if "fail" in conf:
    sys.stderr.write(conf["fail"])
    sys.exit(conf.get("status", 1))
tag = exe
if script.startswith("-- tinyagent: "):
    tag = script.splitlines()[0][len("-- tinyagent: "):]
answer = conf["answers"].get(tag, "ok")
sys.stdout.buffer.write((answer + ("\n" if exe == "osascript" else "")).encode("utf-8"))
'''

ANSWERS = {
    "get_phone_number": "+1 555 0100",
    "get_email_address": "alice@example.com",
    "create_calendar_event": "created event: Sync at 2026-11-21 15:00:00",
    # Spotlight with -0: NUL-separated, no final newline; "report.pdf" should win
    "mdfind": "/Users/me/Documents/report draft.pdf\0/Users/me/Documents/report.pdf\0",
    "open": "",
}

HOSTILE = [
    "say \"hi\" to 'Bob'",
    'back\\slash \\" and \\\\ two',
    '" & do shell script "rm -rf ~" & "',
    "line one\nline two\r\nthree\ttab",
    "Zoë 日本語 🙂 \u202ertl",
    "",
    "-e",
    'x"\nend run\non run argv\ndo shell script "touch /tmp/pwned"\n--',
]
HOSTILE_IDS = ["quotes", "backslashes", "shell", "newlines", "unicode", "empty", "option", "script"]


@dataclass
class Fake:
    """The fake programs' folder: configure answers/failures, read back the calls."""

    bin: Path

    def configure(self, **conf: Any) -> None:
        conf.setdefault("answers", ANSWERS)
        (self.bin / "fake.json").write_text(json.dumps(conf), encoding="utf-8")

    def calls(self) -> list[dict[str, Any]]:
        log = self.bin / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    def backend(self, **options: Any) -> MacBackend:
        return MacBackend(
            self.bin / "osascript", mdfind=self.bin / "mdfind", open_cmd=self.bin / "open",
            **options,
        )


@pytest.fixture
def fake(tmp_path: Path) -> Fake:
    folder = tmp_path / "bin"
    folder.mkdir()
    source = FAKE_SOURCE.replace("{python}", sys.executable)
    for name in ("osascript", "mdfind", "open"):
        path = folder / name
        path.write_text(source, encoding="utf-8")
        path.chmod(0o755)
    made = Fake(folder)
    made.configure()
    return made


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may reach a network, Zoom's API included."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in ("TINYAGENT_OSASCRIPT", "TINYAGENT_MDFIND", "TINYAGENT_OPEN", TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)


def call(backend: MacBackend, tool: str, args: list[Any]) -> Any:
    feedback: list[str] = []
    return asyncio.run(backend.call(CATALOG[tool], args, feedback.append))


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# ---------------------------------------------------------------- construction


def test_every_catalog_tool_has_a_method_with_the_catalog_signature():
    assert len(CATALOG) == 16
    for skill in CATALOG:
        method = getattr(MacBackend, f"_tool_{skill.name}")
        params = list(method.__code__.co_varnames[1 : method.__code__.co_argcount])
        assert params == [p.name for p in skill.params], skill.name


@pytest.mark.skipif(sys.platform == "darwin", reason="on a Mac /usr/bin/osascript is the default")
def test_off_macos_without_an_osascript_it_says_it_needs_macos():
    with pytest.raises(MacOSRequired, match=r"needs macOS .*--backend dry-run") as err:
        get_backend("macos")
    assert isinstance(err.value, ValueError)
    assert "\n" not in str(err.value)


def test_registered_and_configured_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("TINYAGENT_OSASCRIPT", str(fake.bin / "osascript"))
    monkeypatch.setenv(TOKEN_ENV, "tok")
    backend = get_backend("macos")
    assert isinstance(backend, MacBackend)
    assert (backend.name, backend.catalog) == ("macos", "mac")
    assert backend.exe.osascript == str(fake.bin / "osascript")
    assert backend.exe.mdfind == "/usr/bin/mdfind" and backend.exe.open == "/usr/bin/open"
    assert backend.zoom == ZoomMeetings("tok")


# ---------------------------------------------------------------- scripts


def test_scripts_are_fixed_programs_that_read_argv_and_never_send_or_delete():
    assert set(SCRIPTS) == {
        "get_phone_number", "get_email_address", "create_calendar_event", "compose_new_email",
        "reply_to_email", "forward_email", "create_note", "open_note", "append_note_content",
        "create_reminder",
    }  # fmt: skip
    for tool, script in SCRIPTS.items():
        assert script.startswith(f"-- tinyagent: {tool}\non run argv\n"), tool
        assert "end run" in script
        assert script.isascii(), tool  # no doubt about how osascript decodes its stdin
        for forbidden in (r"\bsend\b", r"\bdelete\b", r"do shell script", r"run script"):
            assert not re.search(forbidden, script), (tool, forbidden)
    mail = [SCRIPTS[t] for t in ("compose_new_email", "reply_to_email", "forward_email")]
    assert all("opening window" in s or "visible:true" in s for s in mail)


# Tool -> (args with distinct values, the exact osascript argv after "-").
OSA_CASES: dict[str, tuple[list[Any], list[str]]] = {
    "get_phone_number": (["Alice Smith"], ["Alice Smith"]),
    "get_email_address": (["Bob"], ["Bob"]),
    "create_calendar_event": (
        ["Sync", "2026-11-21 15:00:00", "2026-11-21T16:30", "Room 1",
         ["a@x.com", "b@x.com"], "agenda", "Work"],
        ["Sync", "2026-11-21 15:00:00", "2026-11-21 16:30:00", "Room 1", "agenda", "Work",
         "2", "a@x.com", "b@x.com"],
    ),
    "compose_new_email": (
        [["to@x.com"], ["cc1@x.com", "cc2@x.com"], "Hello", "the body", ["/tmp/a.pdf"]],
        ["Hello", "the body", "1", "to@x.com", "2", "cc1@x.com", "cc2@x.com", "1", "/tmp/a.pdf"],
    ),
    "reply_to_email": (
        [["cc@x.com"], "thanks", []],
        ["thanks", "1", "cc@x.com", "0"],
    ),
    "forward_email": (
        [["to@x.com"], [], "fyi", ["/tmp/a.pdf", "/tmp/b.txt"]],
        ["fyi", "1", "to@x.com", "0", "2", "/tmp/a.pdf", "/tmp/b.txt"],
    ),
    "create_note": (["Groceries", "milk\neggs", "Home"], ["Groceries", "milk\neggs", "Home"]),
    "open_note": (["Groceries", ""], ["Groceries", ""]),
    "append_note_content": (["Groceries", "bread", "Home"], ["Groceries", "bread", "Home"]),
    "create_reminder": (
        ["Call mum", "2026-11-21 09:30:00", "about Sunday", "Family", 1, False],
        ["Call mum", "2026-11-21 09:30:00", "about Sunday", "Family", "1", "false"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("tool", sorted(OSA_CASES))
def test_osascript_tool_exact_argv_and_script(fake, tool):
    args, expected = OSA_CASES[tool]
    result = call(fake.backend(), tool, args)
    (only,) = fake.calls()
    assert only == {"exe": "osascript", "argv": ["-", *expected], "script": SCRIPTS[tool]}
    assert result == ANSWERS.get(tool, "ok")


def test_a_whole_ref_result_in_a_list_parameter_is_one_item_and_an_empty_end_is_an_hour(fake):
    call(fake.backend(), "create_calendar_event",
         ["T", "2026-11-21 23:30:00", "", "", "alice@example.com", "", ""])  # fmt: skip
    argv = fake.calls()[0]["argv"]
    assert argv[2:4] == ["2026-11-21 23:30:00", "2026-11-22 00:30:00"]
    assert argv[-2:] == ["1", "alice@example.com"]


def test_reminder_without_due_date_all_day_as_text(fake):
    call(fake.backend(), "create_reminder", ["Water plants", "", "", "", "0", "True"])
    assert fake.calls()[0]["argv"] == ["-", "Water plants", "", "", "", "0", "true"]


# Tool -> (args with every free-text value (and list item) = s, the expected argv after "-").
def hostile_case(tool: str, s: str) -> tuple[list[Any], list[str]]:
    date = "2026-11-21 15:00:00"
    return {
        "get_phone_number": ([s], [s]),
        "get_email_address": ([s], [s]),
        "create_calendar_event": (
            [s, date, "2026-11-21 16:00:00", s, [s, s], s, s],
            [s, date, "2026-11-21 16:00:00", s, s, s, "2", s, s],
        ),
        "compose_new_email": ([[s], [s], s, s, [s]], [s, s, "1", s, "1", s, "1", s]),
        "reply_to_email": ([[s, s], s, [s]], [s, "2", s, s, "1", s]),
        "forward_email": ([[s], [s], s, [s]], [s, "1", s, "1", s, "1", s]),
        "create_note": ([s, s, s], [s, s, s]),
        "open_note": ([s, s], [s, s]),
        "append_note_content": ([s, s, s], [s, s, s]),
        "create_reminder": ([s, date, s, s, 9, True], [s, date, s, s, "9", "true"]),
    }[tool]


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_strings_travel_verbatim_as_argv_and_never_enter_the_script(fake, hostile):
    backend = fake.backend()
    for tool in sorted(SCRIPTS):
        args, expected = hostile_case(tool, hostile)
        call(backend, tool, args)
        last = fake.calls()[-1]
        assert last["argv"] == ["-", *expected], tool
        assert last["script"] == SCRIPTS[tool], tool
        if len(hostile) > 2:
            assert hostile not in last["script"]
    assert len(fake.calls()) == len(SCRIPTS)


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_strings_in_urls_spotlight_and_zoom(fake, hostile):
    backend = fake.backend(zoom=ZoomMeetings("tok", opener=RecordingOpener()))
    # Maps: the value comes back exactly from the URL, which has no raw specials
    url = call(backend, "maps_open_location", [hostile])
    assert query_of(url) == {"q": [hostile]}
    url = call(backend, "maps_show_directions", [hostile, hostile, "w"])
    expected = {"daddr": [hostile], "dirflg": ["w"]} | ({"saddr": [hostile]} if hostile else {})
    assert query_of(url) == expected
    # Messages: a draft URL with each number and the body intact
    call(backend, "send_sms", [[hostile, "+1 555 0100"], hostile])
    parts = urlsplit(fake.calls()[-1]["argv"][0])
    assert (parts.scheme, parts.netloc) == ("sms", "open")
    addresses, body = parts.query.split("&")
    assert [unquote(a) for a in addresses.removeprefix("addresses=").split(",")] == [
        hostile, "+1 555 0100"
    ]
    assert unquote(body.removeprefix("body=")) == hostile
    opened = [c["argv"] for c in fake.calls() if c["exe"] == "open"]
    assert len(opened) == 3 and all(len(a) == 1 for a in opened)
    assert all(re.fullmatch(r"[A-Za-z0-9%=&?:/._~,+-]+", a[0]) for a in opened)
    # Spotlight: the name is mdfind's -name value, verbatim
    if hostile.strip():
        found = call(backend, "open_and_get_file_path", [hostile])
        assert found == "/Users/me/Documents/report.pdf"
        assert fake.calls()[-2] == {"exe": "mdfind", "argv": ["-0", "-name", hostile], "script": ""}
    else:
        with pytest.raises(SkillFailed, match="empty file name"):
            call(backend, "open_and_get_file_path", [hostile])
    # Zoom: the topic and invitee reach the JSON body unchanged
    call(backend, "get_zoom_meeting_link", [hostile, "2026-11-21 15:00:00", 30, [hostile]])
    body = json.loads(backend.zoom.opener.requests[-1].data)
    assert body["topic"] == hostile
    assert body["settings"]["meeting_invitees"] == [{"email": hostile}]


def test_hostile_dates_and_numbers_fail_before_anything_runs(fake):
    backend = fake.backend(zoom=ZoomMeetings("tok", opener=RecordingOpener()))
    bad = '" & do shell script "rm -rf ~" & "'
    cases = [
        ("create_calendar_event", ["T", bad, "", "", [], "", ""], "start_date is not a date"),
        ("create_calendar_event", ["T", "2026-11-21 15:00:00", bad, "", [], "", ""], "end_date"),
        ("create_calendar_event", ["T", "", "", "", [], "", ""], "start_date is required"),
        ("create_calendar_event",
         ["T", "2026-11-21 15:00:00", "2026-11-21 14:00:00", "", [], "", ""], "not after"),
        ("create_reminder", ["R", bad, "", "", 0, False], "due_date is not a date"),
        ("create_reminder", ["R", "", "", "", bad, False], "priority must be a whole number"),
        ("create_reminder", ["R", "", "", "", 12, False], "priority must be 0 to 9"),
        ("create_reminder", ["R", "", "", "", 0, bad], "all_day must be True or False"),
        ("maps_show_directions", ["a", "b", bad], "transport must be"),
        ("send_sms", [[], "hi"], "no recipients"),
        ("get_zoom_meeting_link", ["T", bad, 30, []], "start_time is not a date"),
        ("get_zoom_meeting_link", ["T", "2026-11-21 15:00:00", 0, []], "duration must be"),
        ("get_phone_number", ["nul\0byte"], "NUL character"),
    ]  # fmt: skip
    for tool, args, reason in cases:
        with pytest.raises(SkillFailed, match=reason) as err:
            call(backend, tool, args)
        assert "\n" not in str(err.value) and str(err.value).startswith(tool)
    assert fake.calls() == []
    assert backend.zoom.opener.requests == []


# ---------------------------------------------------------------- other tools, exact argv


def test_spotlight_picks_the_exact_name_and_opens_it(fake):
    assert call(fake.backend(), "open_and_get_file_path", ["Report.pdf"]) == (
        "/Users/me/Documents/report.pdf"
    )
    assert [(c["exe"], c["argv"]) for c in fake.calls()] == [
        ("mdfind", ["-0", "-name", "Report.pdf"]),
        ("open", ["/Users/me/Documents/report.pdf"]),
    ]


def test_spotlight_finding_nothing_fails_and_opens_nothing(fake):
    fake.configure(answers={"mdfind": ""})
    with pytest.raises(SkillFailed, match="Spotlight found no file named 'nothing.pdf'"):
        call(fake.backend(), "open_and_get_file_path", ["nothing.pdf"])
    assert [c["exe"] for c in fake.calls()] == ["mdfind"]


def test_maps_urls_are_percent_encoded():
    assert maps_location_url("Café & Bar #1/2?") == "maps://?q=Caf%C3%A9%20%26%20Bar%20%231%2F2%3F"
    assert maps_directions_url("", "SFO", "r") == "maps://?daddr=SFO&dirflg=r"
    assert maps_directions_url("Home, Berkeley", "a=b", "d") == (
        "maps://?saddr=Home%2C%20Berkeley&daddr=a%3Db&dirflg=d"
    )
    with pytest.raises(ValueError, match="transport"):
        maps_directions_url("a", "b", "x")


def test_maps_tools_open_their_url(fake):
    backend = fake.backend()
    assert call(backend, "maps_open_location", ["Golden Gate Park"]) == (
        "maps://?q=Golden%20Gate%20Park"
    )
    url = call(backend, "maps_show_directions", ["Soda Hall", "SFO", "walking"])
    assert url == "maps://?saddr=Soda%20Hall&daddr=SFO&dirflg=w"
    assert [(c["exe"], c["argv"]) for c in fake.calls()] == [
        ("open", ["maps://?q=Golden%20Gate%20Park"]),
        ("open", [url]),
    ]


def test_send_sms_opens_a_draft_and_sends_nothing(fake):
    result = call(fake.backend(), "send_sms", [["+1 555 0100", "+1 555 0199"], "on my way"])
    assert result == "draft opened in Messages, not sent, to +1 555 0100, +1 555 0199"
    assert [(c["exe"], c["argv"]) for c in fake.calls()] == [
        ("open", ["sms://open?addresses=%2B1%20555%200100,%2B1%20555%200199&body=on%20my%20way"])
    ]


# ---------------------------------------------------------------- failures and cancellation


def test_nonzero_exit_is_skill_failed_with_osascripts_message(fake):
    fake.configure(fail="0:61: execution error: no contact named Zed\nsecond line (-2700)\n")
    with pytest.raises(SkillFailed) as err:
        call(fake.backend(), "get_phone_number", ["Zed"])
    assert str(err.value) == "get_phone_number: no contact named Zed second line"


def test_nonzero_exit_without_stderr_names_the_status(fake):
    fake.configure(fail="", status=3)
    with pytest.raises(SkillFailed, match=r"^create_note: exited with status 3$"):
        call(fake.backend(), "create_note", ["a", "b", ""])


def test_a_missing_program_is_skill_failed(tmp_path):
    backend = MacBackend(tmp_path / "no-osascript")
    with pytest.raises(SkillFailed, match="get_email_address: cannot run .*no-osascript"):
        call(backend, "get_email_address", ["Bob"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cancellation_kills_the_process_promptly(fake):
    fake.configure(sleep=30)
    backend = fake.backend()

    async def scenario() -> float:
        task = asyncio.create_task(
            backend.call(CATALOG["get_email_address"], ["Bob"], lambda _: None)
        )
        pid_file = fake.bin / "pid"
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the fake never started"
            await asyncio.sleep(0.01)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    took = asyncio.run(scenario())
    assert took < 0.5
    assert not _alive(int((fake.bin / "pid").read_text()))


def test_timeout_kills_the_process_and_fails(fake):
    fake.configure(sleep=30)
    started = time.monotonic()
    with pytest.raises(SkillFailed, match=r"^open_note: no answer within 1 s$"):
        call(fake.backend(timeout_s=1.0), "open_note", ["n", ""])
    assert time.monotonic() - started < 10
    assert not _alive(int((fake.bin / "pid").read_text()))


# ---------------------------------------------------------------- Zoom


class RecordingOpener:
    """Stands in for urllib's urlopen: records requests, answers like Zoom."""

    def __init__(self, answer: Any = None, error: Exception | None = None) -> None:
        self.requests: list[Any] = []
        self.answer = {"join_url": "https://zoom.us/j/123"} if answer is None else answer
        self.error = error

    def __call__(self, request: Any, timeout: float) -> Any:
        self.requests.append(request)
        if self.error:
            raise self.error
        return _Response(json.dumps(self.answer).encode())


class _Response:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def test_zoom_without_a_token_fails_clearly(fake):
    backend = fake.backend()
    assert backend.zoom is None
    with pytest.raises(SkillFailed) as err:
        call(backend, "get_zoom_meeting_link", ["Sync", "2026-11-21 15:00:00", 60, []])
    assert str(err.value) == "zoom: no API token configured (set TINYAGENT_ZOOM_TOKEN)" == NO_TOKEN
    assert fake.calls() == []


def test_zoom_creates_a_meeting_with_the_token(fake):
    opener = RecordingOpener()
    backend = fake.backend(zoom=ZoomMeetings("secret-token", opener=opener))
    link = call(backend, "get_zoom_meeting_link",
                ["Design review", "2026-11-21 15:00:00", 45, ["a@x.com", "b@x.com"]])  # fmt: skip
    assert link == "https://zoom.us/j/123"
    (request,) = opener.requests
    assert (request.full_url, request.get_method()) == (MEETINGS_URL, "POST")
    assert request.get_header("Authorization") == "Bearer secret-token"
    utc = datetime(2026, 11, 21, 15).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert json.loads(request.data) == {
        "topic": "Design review",
        "type": 2,
        "start_time": utc,
        "duration": 45,
        "settings": {"meeting_invitees": [{"email": "a@x.com"}, {"email": "b@x.com"}]},
    }


def test_zoom_refusal_is_skill_failed():
    error = urllib.error.HTTPError(MEETINGS_URL, 401, "Unauthorized", {}, None)  # type: ignore[arg-type]
    zoom = ZoomMeetings("bad", opener=RecordingOpener(error=error))
    with pytest.raises(SkillFailed, match="zoom: HTTP 401"):
        zoom.create("t", datetime(2026, 11, 21, 15), 30, [])
    zoom = ZoomMeetings("tok", opener=RecordingOpener(answer={"id": 1}))
    with pytest.raises(SkillFailed, match="no join_url"):
        zoom.create("t", datetime(2026, 11, 21, 15), 30, [])


# ---------------------------------------------------------------- PDF summary


def make_pdf(path: Path, text: str) -> Path:
    """A one-page PDF showing ``text`` in Helvetica (ASCII, no parentheses)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref
    )  # fmt: skip
    path.write_bytes(bytes(out))
    return path


TEXT = "The robot works. It plans in parallel. Results are good. More detail follows here."


def test_summarize_pdf_default_takes_the_opening_sentences(fake, tmp_path):
    pdf = make_pdf(tmp_path / "paper.pdf", TEXT)
    summary = call(fake.backend(), "summarize_pdf", [str(pdf)])
    assert summary.startswith("The robot works. It plans in parallel.")
    assert fake.calls() == []


def test_summarize_pdf_uses_the_injected_summariser(fake, tmp_path):
    pdf = make_pdf(tmp_path / "paper.pdf", TEXT)
    seen: list[str] = []

    def summarize(text: str) -> str:
        seen.append(text)
        return "short"

    async def summarize_async(text: str) -> str:
        return "async short"

    assert call(fake.backend(summarize=summarize), "summarize_pdf", [str(pdf)]) == "short"
    assert "It plans in parallel." in seen[0]
    assert call(fake.backend(summarize=summarize_async), "summarize_pdf", [str(pdf)]) == (
        "async short"
    )


def test_summarize_pdf_failures(fake, tmp_path):
    backend = fake.backend()
    with pytest.raises(SkillFailed, match="summarize_pdf: no file at"):
        call(backend, "summarize_pdf", [str(tmp_path / "missing.pdf")])
    junk = tmp_path / "junk.pdf"
    junk.write_text("not a pdf at all")
    with pytest.raises(SkillFailed, match="summarize_pdf: cannot read junk.pdf"):
        call(backend, "summarize_pdf", [str(junk)])
    with pytest.raises(SkillFailed, match="has no text layer"):
        call(backend, "summarize_pdf", [str(make_pdf(tmp_path / "blank.pdf", ""))])


MEMO = ("Memo to the robotics team. The field trial of the delivery robot moves to March 14 "
        "because the warehouse floor is being resurfaced. Every robot must be charged and its "
        "map updated by March 12. Anna Lee leads the trial and collects the battery logs. ")


@pytest.mark.llm
def test_the_local_model_summarises_a_pdf_longer_than_its_context(fake, tmp_path):
    from tinyagent_ros.summarize import N_CTX, ModelSummarizer

    summarize = ModelSummarizer(n_threads=2)
    pdf = make_pdf(tmp_path / "memo.pdf", MEMO)
    summary = call(fake.backend(summarize=summarize), "summarize_pdf", [str(pdf)])
    assert 20 < len(summary) < 1000 and "\n" not in summary
    assert "March 14" in summary or "trial" in summary.lower(), summary
    # a document far beyond the context is cut to fit, not refused
    long = summarize(MEMO + " ".join(f"Appendix line {i}: the logs are fine." for i in
                                     range(N_CTX)))
    assert long and len(long) < 1000


def test_first_sentences_stops_at_the_limit():
    assert first_sentences("One. Two two. Three three three.", limit=14) == "One. Two two."
    assert first_sentences("x" * 50, limit=10) == "xxxxxxx..."
    assert first_sentences("  spaced\n\nout.  ") == "spaced out."


# ---------------------------------------------------------------- end to end


def test_executor_runs_a_mac_plan_and_an_email_lookup_feeds_the_invite(fake):
    plan = parse_plan(
        '1. get_email_address("Alice Smith")\n'
        '2. get_phone_number("Bob")\n'
        '3. create_calendar_event("Design review", "2026-11-21 15:00:00", '
        '"2026-11-21 16:00:00", "", ["$1", "carol@x.com"], "", "")\n'
        '4. send_sms(["$2"], "Running late for the review")\n'
        "5. join()<END_OF_PLAN>",
        CATALOG,
    )
    result = asyncio.run(Executor(CATALOG, fake.backend()).run(plan))
    assert result.success, result.summary()
    assert {i: r.outcome for i, r in result.results.items()} == dict.fromkeys(
        range(1, 5), Outcome.SUCCEEDED
    )
    by_tool = {}
    for c in fake.calls():
        tag = c["script"].splitlines()[0].removeprefix("-- tinyagent: ") if c["script"] else ""
        by_tool[tag or c["exe"]] = c
    assert by_tool["create_calendar_event"]["argv"] == [
        "-", "Design review", "2026-11-21 15:00:00", "2026-11-21 16:00:00", "", "", "",
        "2", "alice@example.com", "carol@x.com",
    ]  # fmt: skip
    assert by_tool["open"]["argv"] == [
        "sms://open?addresses=%2B1%20555%200100&body=Running%20late%20for%20the%20review"
    ]
    assert result.results[3].value == "created event: Sync at 2026-11-21 15:00:00"


@pytest.mark.llm
def test_cli_plans_a_mac_command_with_the_local_model_and_runs_it_on_the_fake(fake):
    """tinyagent run --catalog mac --backend macos: the model's plan, osascript faked."""
    env = {**os.environ, "TINYAGENT_OSASCRIPT": str(fake.bin / "osascript"),
           "TINYAGENT_MDFIND": str(fake.bin / "mdfind"), "TINYAGENT_OPEN": str(fake.bin / "open")}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("tinyagent")), "run", "--catalog", "mac",
         "--backend", "macos", "--today", "2026-11-21", "--json",
         "Invite Alice Smith to a meeting called Design review tomorrow at 3pm"],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    tools = [c["script"].splitlines()[0].removeprefix("-- tinyagent: ")
             for c in fake.calls() if c["script"]]
    assert tools == ["get_email_address", "create_calendar_event"], done.stdout[-2000:]
    invite = fake.calls()[1]["argv"]
    # before the prompt spelled out dates the model wrote 13:00 for "3pm"; now it copies
    # "tomorrow at 3pm" = 2026-11-22 15:00:00 and the hour after from the date line
    assert invite[1:4] == ["Design review", "2026-11-22 15:00:00", "2026-11-22 16:00:00"]
    assert invite[-2:] == ["1", "alice@example.com"]


@pytest.mark.ros
def test_node_serves_each_mac_tool_as_a_service_and_runs_plans_on_the_fake(fake, tmp_path):
    """The node with catalog mac and backend macos (as on a Mac), osascript faked."""
    pytest.importorskip("rclpy")
    from tinyagent_ros.ros.testing import NodeProcess, Probe, pick_domain

    plans = tmp_path / "plans.yaml"
    plans.write_text(json.dumps({"invite alice": (
        '1. get_email_address("Alice Smith")\n'
        '2. create_calendar_event("Sync", "2026-11-21 15:00:00", "", "", ["$1"], "", "")\n'
        "3. join()")}), encoding="utf-8")
    domain = pick_domain(5)
    env = {"TINYAGENT_OSASCRIPT": str(fake.bin / "osascript"),
           "TINYAGENT_MDFIND": str(fake.bin / "mdfind"), "TINYAGENT_OPEN": str(fake.bin / "open")}
    node = NodeProcess("tinyagent-node", {"catalog": "mac", "backend": "macos",
                                          "plan_text_file": str(plans), "listen": False,
                                          "pdf_summary": "opening"}, domain, env=env)
    probe = Probe(domain)
    try:
        assert node.wait_for_line("active:", 30), node.output()
        email = probe.call_tool("get_email_address", {"name": 'Alice "; do shell script'})
        assert email.success and json.loads(email.result) == "alice@example.com"
        assert fake.calls()[0]["argv"] == ["-", 'Alice "; do shell script']
        bad = probe.call_tool("create_reminder", {"name": "x"})
        assert not bad.success and "missing" in bad.error and len(fake.calls()) == 1
        cid = probe.command("invite alice")
        assert probe.finished(cid, timeout=20)["value"] is True
        invite = fake.calls()[-1]
        assert invite["script"].startswith("-- tinyagent: create_calendar_event")
        assert invite["argv"][-2:] == ["1", "alice@example.com"]
    finally:
        probe.close()
        code = node.stop()
    assert code == 0, node.output()
