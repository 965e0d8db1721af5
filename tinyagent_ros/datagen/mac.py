"""Mac assistant intent grammars (TinyAgent's 16 tools), one builder per intent.

Contacts are looked up with ``get_email_address`` / ``get_phone_number`` and
passed as ``$k`` (a lookup made earlier in the same request is reused); literal
addresses and numbers go straight into the lists. Dates resolve against the
case's ``today`` (see dates.py); meetings last 60 minutes unless stated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tinyagent_ros.datagen import dates
from tinyagent_ros.datagen.clause import (
    Call,
    Clause,
    Ctx,
    Intent,
    Skip,
    cap,
    fill,
    no_bare_that,
    spoken_text,
)
from tinyagent_ros.datagen.heldout import templates
from tinyagent_ros.datagen.lexicon import (
    ADDRESSES,
    BY_MODES,
    CONTACTS,
    EVENTS,
    FILES,
    FOLDERS,
    GROUPS,
    LISTS,
    MAIL_TEXTS,
    MAP_PLACES,
    MAP_THE,
    MEET_KINDS,
    MODES,
    NOTE_TEXTS,
    NOTES,
    RELATIONS,
    SMS_TEXTS,
    SUBJECTS_MAIL,
    TASKS,
    VENUES,
    Person,
)
from tinyagent_ros.datetimes import iso

# ---------------------------------------------------------------- people and lookups


class Who:
    """One recipient as said, and how the plan names it (a lookup name or a literal)."""

    def __init__(self, said: str, name: str | None = None, literal: str | None = None,
                 person: Person | None = None) -> None:
        self.said, self.name, self.literal, self.person = said, name, literal, person


def lookup(ctx: Ctx, kind: str, name: str, calls: list[Call]) -> Call:
    """The get_email_address / get_phone_number call for a name, reusing an earlier one."""
    key = (kind, name)
    call = ctx.lookups.get(key)
    if call is None:
        call = Call("get_email_address" if kind == "email" else "get_phone_number", (name,))
        ctx.lookups[key] = call
        calls.append(call)
    return call


def refs(ctx: Ctx, kind: str, people: list[Who], calls: list[Call]) -> list[object]:
    """The list argument for these recipients: literals as said, others via lookups."""
    return [w.literal if w.literal is not None else lookup(ctx, kind, w.name or "", calls)
            for w in people]


def _phone(ctx: Ctx) -> str:
    area = ctx.choice(("415", "650", "408", "510", "212", "917", "312", "206", "617", "303"))
    line = f"{ctx.rng.randint(100, 199):04d}"
    return ctx.choice((f"{area}-555-{line}", f"({area}) 555-{line}", f"+1 {area} 555 {line}",
                       f"{area} 555 {line}"))


def recipients(ctx: Ctx, kind: str, allow_groups: bool = True, allow_literal: bool = True,
               max_n: int = 3, relation_ok: bool = True) -> list[Who]:
    """One to three recipients: contacts (maybe "my boss Dave"), groups or literals."""
    n = ctx.rng.choices((1, 2, 3), (70, 22, 8))[0]
    n = min(n, max_n)
    out: list[Who] = []
    names: list[str] = []
    for _ in range(n * 4):
        if len(out) >= n:
            break
        roll = ctx.rng.random()
        if allow_literal and roll < 0.08:
            lit = ctx.pick(ADDRESSES) if kind == "email" else _phone(ctx)
            if lit not in names:
                out.append(Who(lit, literal=lit))
                names.append(lit)
            continue
        if allow_groups and kind == "email" and roll < 0.16:
            g = ctx.pick(GROUPS)
            if g not in names:
                out.append(Who(f"the {g}", name=g))
                names.append(g)
            continue
        p = ctx.pick(CONTACTS)
        if p.name in names:
            continue
        said = p.name
        if relation_ok and ctx.chance(0.1) and p.name not in ("Mom", "Dad", "Grandma", "Grandpa") \
                and " " not in p.name:
            rel = ctx.pick_where(RELATIONS, lambda r, g=p.gender: r[1] in ("", g))
            if rel is not None:
                said = f"{rel[0]} {p.name}"
        out.append(Who(said, name=p.name, person=p))
        names.append(p.name)
    if not out:
        raise Skip("no recipients")
    return out


def said_list(ctx: Ctx, words: list[str]) -> str:
    """"A", "A and B", "A, B and C" (or with an Oxford comma)."""
    if len(words) == 1:
        return words[0]
    if len(words) == 2:
        return f"{words[0]} and {words[1]}"
    comma = "," if ctx.chance(0.4) else ""
    return f"{', '.join(words[:-1])}{comma} and {words[-1]}"


def people_again(ctx: Ctx, kind: str) -> tuple[list[Who], str] | None:
    """The people of the previous clause as a pronoun ("them", "her"), sometimes."""
    last = ctx.last_people
    if not last or ctx.since_mention > 1 or not (ctx.force_ctx or ctx.chance(0.3)):
        return None
    if len(last) == 1 and last[0].gender in "mf":
        word = last[0].obj
    else:
        word = "them"
    return [Who(word, name=p.name, person=p) for p in last], word


def _remember(ctx: Ctx, people: list[Who]) -> None:
    persons = tuple(w.person for w in people if w.person is not None)
    if persons and len(persons) == len(people):
        ctx.last_people = persons
        ctx.since_mention = 0


def _quote(ctx: Ctx, text: str) -> str:
    q = ctx.choice(("'", "'", '"'))
    return f"{q}{cap(text)}{q}"


def _sentence_ok(ctx: Ctx, p: float = 0.5) -> bool:
    return ctx.allow_sentence and ctx.chance(p)


def _today(ctx: Ctx) -> dt.date:
    if ctx.today is None:
        raise ValueError("mac intents need ctx.today")
    return ctx.today


def file_said(ctx: Ctx, name: str, pdf: bool) -> str:
    """A file as said: "the Q3 report pdf", "Q3 report.pdf", "the budget proposal file"."""
    kinds = ("pdf", "pdf", "file", "", ".pdf", "PDF") if pdf else \
        ("file", "file", "pdf", "", ".docx", ".pdf", ".pptx", ".xlsx")
    kind = ctx.choice(kinds)
    if kind.startswith("."):
        return f"{name}{kind}"
    det = ctx.choice(("the", "the", "the", "my"))
    return f"{det} {name} {kind}".strip()


def open_file(ctx: Ctx, name: str, calls: list[Call]) -> Call:
    """open_and_get_file_path for a file, reusing an earlier one."""
    key = ("file", name)
    call = ctx.lookups.get(key)
    if call is None:
        call = Call("open_and_get_file_path", (name,))
        ctx.lookups[key] = call
        calls.append(call)
    return call


# ---------------------------------------------------------------- messages

_SMS = templates("mac.sms.vp", [
    "!text {R} that {msg}@4", "!send a text to {R} saying {msg}@2", "message {R}: {Msg}",
    "send {R} a message saying {msg}", "text {R} {Q}", "shoot {R} a text saying {msg}",
    "let {R} know by text that {msg}", "send an SMS to {R} saying {msg}", "iMessage {R} that {msg}",
    "send {R} a text that says {Q}", "drop {R} a text: {Msg}", "tell {R} by text that {msg}",
    "text {R} to say {msg}", "send a message to {R} that says {Q}", "fire off a text to {R}: {Msg}",
])


def sms(ctx: Ctx) -> Clause:
    """Text people: phone lookups, then one send_sms to all of them."""
    again = people_again(ctx, "phone")
    if again:
        people, said = again
    else:
        people = recipients(ctx, "phone", allow_groups=False)
        said = said_list(ctx, [w.said for w in people])
    content = ctx.pick(SMS_TEXTS)
    tpl = ctx.pick_where(_SMS, no_bare_that(content)) or "text {R} {Q}"
    text = fill(tpl, R=said, msg=content, Msg=cap(content), Q=_quote(ctx, content))
    calls: list[Call] = []
    nums = refs(ctx, "phone", people, calls)
    calls.append(Call("send_sms", (nums, spoken_text(content))))
    _remember(ctx, people)
    return Clause("sms", calls, text, uses_ctx=again is not None)


_EMAIL = templates("mac.email.vp", [
    "!email {R}{sub} saying {body}@4", "!send an email to {R}{sub} saying {body}@2",
    "write an email to {R}{sub} that says {Q}", "send {R} an email{sub}: {Body}",
    "draft an email to {R}{sub} saying {body}", "shoot {R} an email{sub} saying {body}",
    "compose an email to {R}{sub} saying {body}", "drop {R} an email{sub} saying {body}",
    "mail {R}{sub}: {Body}", "write to {R}{sub} and say {body}", "email {R}{sub} to say {body}",
    "send a quick email to {R}{sub} saying {body}", "let {R} know by email that {body}",
])
_EMAIL_SUBJECT_ONLY = templates("mac.email.subject_only", [
    "!email {R} with the subject {S}", "send {R} an email with the subject line {S}",
    "start an email to {R} titled {S}", "draft an email to {R} with {S} as the subject",
])
_SUBJECT = templates("mac.email.subject", [
    "! with the subject {S}@2", " with subject {S}", " with the subject line {S}", " titled {S}",
    " under the subject {S}",
])
_CC = templates("mac.cc", [
    "!, and cc {C}@2", " and cc {C}", ", cc'ing {C}", " with {C} on cc", ", copying {C}",
    ", and copy {C}", ", and put {C} on cc", " — cc {C}",
])


def _comma_after(text: str, content: str) -> Callable[[str], bool]:
    """A template filter: after dictated words, only suffixes that start with a comma."""
    open_end = bool(content) and text.rstrip().lower().endswith(content.lower())
    return lambda tpl: not open_end or tpl.startswith(",")


def _cc(ctx: Ctx, exclude: list[Who], calls: list[Call], p: float = 0.2,
        after: tuple[str, str] = ("", "")) -> tuple[str, list[object]]:
    """An optional cc clause and its addresses; ``after`` is (text so far, dictated words)."""
    if not ctx.chance(p):
        return "", []
    people = recipients(ctx, "email", allow_literal=False, max_n=2)
    taken = {w.name for w in exclude}
    if any(w.name in taken for w in people):
        return "", []
    tpl = ctx.pick_where(_CC, _comma_after(*after)) or ", and cc {C}"
    phrase = tpl.format(C=said_list(ctx, [w.said for w in people]))
    return phrase, refs(ctx, "email", people, calls)


def email(ctx: Ctx) -> Clause:
    """Write a new email: address lookups, optional subject and cc, compose_new_email."""
    again = people_again(ctx, "email")
    if again:
        people, said = again
    else:
        people = recipients(ctx, "email")
        said = said_list(ctx, [w.said for w in people])
    calls: list[Call] = []
    to = refs(ctx, "email", people, calls)
    subject = ""
    body = ""
    if ctx.chance(0.1):
        subject = spoken_text(ctx.pick(SUBJECTS_MAIL))
        text = fill(ctx.pick(_EMAIL_SUBJECT_ONLY), R=said, S=_quote(ctx, subject))
    else:
        content = ctx.pick(MAIL_TEXTS)
        body = spoken_text(content)
        sub = ""
        if ctx.chance(0.25):
            subject = spoken_text(ctx.pick(SUBJECTS_MAIL))
            sub = ctx.pick(_SUBJECT).format(S=_quote(ctx, subject))
        tpl = ctx.pick_where(_EMAIL, no_bare_that(content)) or "email {R}{sub} saying {body}"
        text = fill(tpl, R=said, sub=sub, body=content, Body=cap(content), Q=_quote(ctx, content))
    cc_text, cc = _cc(ctx, people, calls, after=(text, body))
    calls.append(Call("compose_new_email", (to, cc, subject, body, [])))
    _remember(ctx, people)
    return Clause("email", calls, text + cc_text, uses_ctx=again is not None)


_SEND_FILE = templates("mac.send_file.vp", [
    "!email {F} to {R}@3", "send {R} {F}", "!email {R} {F}@2", "attach {F} to an email to {R}",
    "share {F} with {R} by email", "mail {F} to {R}", "send {F} to {R} by email",
    "email {F} over to {R}", "get {F} to {R} by email", "put {F} in an email to {R}",
])
_FILE_NOTE = templates("mac.send_file.note", [
    "! saying {body}", " and say {body}", " with a note saying {body}", " with the message {Q}",
    ", and tell them {body}",
])


def send_file(ctx: Ctx) -> Clause:
    """Email a file: open_and_get_file_path and lookups (in the order said), then compose."""
    name = ctx.pick(FILES)
    again = people_again(ctx, "email")
    if again:
        people, said = again
    else:
        people = recipients(ctx, "email", max_n=2)
        said = said_list(ctx, [w.said for w in people])
    tpl = ctx.pick(_SEND_FILE)
    text = fill(tpl, F=file_said(ctx, name, pdf=False), R=said)
    body = ""
    if ctx.chance(0.3):
        content = ctx.pick(MAIL_TEXTS)
        body = spoken_text(content)
        text += ctx.pick(_FILE_NOTE).format(body=content, Q=_quote(ctx, content))
    calls: list[Call] = []
    if tpl.index("{F}") < tpl.index("{R}"):
        path = open_file(ctx, name, calls)
        to = refs(ctx, "email", people, calls)
    else:
        to = refs(ctx, "email", people, calls)
        path = open_file(ctx, name, calls)
    calls.append(Call("compose_new_email", (to, [], "", body, [path])))
    _remember(ctx, people)
    return Clause("send_file", calls, text, uses_ctx=again is not None)


_REPLY = templates("mac.reply.vp", [
    "!reply to this email saying {body}@3", "reply saying {body}", "respond to this email with {Q}",
    "write back saying {body}", "answer this email: {Body}", "reply to the email and say {body}",
    "send a reply saying {body}", "hit reply and say {body}", "respond saying {body}",
    "reply to this one with {Q}", "reply to this message saying {body}",
])
_REPLY_BARE = templates("mac.reply.bare", [
    "!reply to this email", "reply to the email", "respond to this email", "write back",
    "reply to this",
])
_ATTACH = templates("mac.attach", [
    "! with {F} attached@2", " and attach {F}", ", attaching {F}", " with {F} as an attachment",
    " and include {F}", "!, and attach {F}", ", with {F} attached", ", and include {F}",
])


def _attach(ctx: Ctx, calls: list[Call], p: float,
            after: tuple[str, str] = ("", "")) -> tuple[str, list[object]]:
    """An optional attachment phrase and its open_and_get_file_path call."""
    if not ctx.chance(p):
        return "", []
    name = ctx.pick(FILES)
    tpl = ctx.pick_where(_ATTACH, _comma_after(*after)) or ", attaching {F}"
    phrase = tpl.format(F=file_said(ctx, name, pdf=False))
    return phrase, [open_file(ctx, name, calls)]


def reply(ctx: Ctx) -> Clause:
    """Reply to the open email: optional text, cc and attachment, in the order said."""
    if ("done", "reply") in ctx.lookups:
        raise Skip("already replied")
    calls: list[Call] = []
    body = ""
    if ctx.chance(0.8):
        content = ctx.pick(MAIL_TEXTS)
        body = spoken_text(content)
        text = fill(ctx.pick(_REPLY), body=content, Body=cap(content), Q=_quote(ctx, content))
        att_p = 0.2
    else:
        text = fill(ctx.pick(_REPLY_BARE))
        att_p = 1.0
    cc_text, cc = _cc(ctx, [], calls, 0.25, after=(text, body))
    att_text, att = _attach(ctx, calls, att_p, after=(text + cc_text, body))
    if not body and not att:
        raise Skip("empty reply")
    calls.append(Call("reply_to_email", (cc, body, att)))
    ctx.lookups[("done", "reply")] = calls[-1]
    return Clause("reply", calls, text + cc_text + att_text)


_FORWARD = templates("mac.forward.vp", [
    "!forward this email to {R}@3", "!forward this to {R}", "send this email on to {R}",
    "pass this email along to {R}", "forward the email to {R}", "fwd this to {R}",
    "share this email with {R}", "forward this message to {R}", "bounce this email over to {R}",
])
_FORWARD_NOTE = templates("mac.forward.note", [
    "!, saying {body}", " and say {body}", " with a note: {Body}", " and add {Q}",
    ", and tell them {body}",
])


def forward(ctx: Ctx) -> Clause:
    """Forward the open email: recipients, optional note, cc and attachment."""
    again = people_again(ctx, "email")
    if again:
        people, said = again
    else:
        people = recipients(ctx, "email")
        said = said_list(ctx, [w.said for w in people])
    calls: list[Call] = []
    to = refs(ctx, "email", people, calls)
    text = fill(ctx.pick(_FORWARD), R=said)
    cc_text, cc = _cc(ctx, people, calls, 0.2)
    text += cc_text
    body = ""
    if ctx.chance(0.3):
        content = ctx.pick(MAIL_TEXTS)
        body = spoken_text(content)
        text += ctx.pick(_FORWARD_NOTE).format(body=content, Body=cap(content),
                                               Q=_quote(ctx, content))
    att_text, att = _attach(ctx, calls, 0.12, after=(text, body))
    calls.append(Call("forward_email", (to, cc, body, att)))
    _remember(ctx, people)
    return Clause("forward", calls, text + att_text, uses_ctx=again is not None)


# ---------------------------------------------------------------- files

_SUMMARIZE = templates("mac.summarize.vp", [
    "!summarize {F}@4", "give me a summary of {F}", "sum up {F}", "make a summary of {F}",
    "tl;dr {F}", "open {F} and summarize it", "read {F} and give me the gist",
    "write me a short summary of {F}", "boil {F} down to a summary", "get me the key points of {F}",
])
_SUM_EMAIL = templates("mac.sum.email", [
    "!and email the summary to {R}@2", "then send the summary to {R} by email",
    "and email it to {R}",
    "and mail {R} the summary", "and share the summary with {R} over email",
])
_SUM_NOTE = templates("mac.sum.note", [
    "!and save the summary in a new note called {N}", "and put the summary in a note titled {N}",
    "then create a note named {N} with the summary", "and store the summary as a note called {N}",
])
_SUM_APPEND = templates("mac.sum.append", [
    "!and add the summary to my {N} note", "then append the summary to the {N} note",
    "and stick the summary at the end of my {N} note",
])
_SUM_SMS = templates("mac.sum.sms", [
    "!and text the summary to {R}", "then send {R} the summary by text",
    "and message {R} the summary",
])
_SUM_REPLY = templates("mac.sum.reply", [
    "!and reply to this email with the summary", "then reply with the summary",
    "and send the summary back as a reply",
])


def summarize(ctx: Ctx) -> Clause:
    """Summarize a pdf, maybe passing the summary on (email, note, text, reply)."""
    name = ctx.pick(FILES)
    if ("file", name) in ctx.lookups:
        raise Skip("file already open")
    calls: list[Call] = []
    path = open_file(ctx, name, calls)
    summary = Call("summarize_pdf", (path,))
    calls.append(summary)
    text = fill(ctx.pick(_SUMMARIZE), F=file_said(ctx, name, pdf=True))
    roll = ctx.rng.random()
    if roll < 0.2:
        people = recipients(ctx, "email", max_n=2)
        to = refs(ctx, "email", people, calls)
        text += " " + fill(ctx.pick(_SUM_EMAIL), R=said_list(ctx, [w.said for w in people]))
        calls.append(Call("compose_new_email", (to, [], "", summary, [])))
        _remember(ctx, people)
    elif roll < 0.35:
        note, folder, folder_text = ctx.pick(NOTES), *_folder(ctx)
        text += " " + fill(ctx.pick(_SUM_NOTE), N=note) + folder_text
        calls.append(Call("create_note", (note, summary, folder)))
    elif roll < 0.43:
        note, folder, folder_text = ctx.pick(NOTES), *_folder(ctx)
        text += " " + fill(ctx.pick(_SUM_APPEND), N=note) + folder_text
        calls.append(Call("append_note_content", (note, summary, folder)))
    elif roll < 0.5:
        people = recipients(ctx, "phone", allow_groups=False, max_n=2)
        nums = refs(ctx, "phone", people, calls)
        text += " " + fill(ctx.pick(_SUM_SMS), R=said_list(ctx, [w.said for w in people]))
        calls.append(Call("send_sms", (nums, summary)))
        _remember(ctx, people)
    elif roll < 0.56 and ("done", "reply") not in ctx.lookups:
        text += " " + fill(ctx.pick(_SUM_REPLY))
        calls.append(Call("reply_to_email", ([], summary, [])))
        ctx.lookups[("done", "reply")] = calls[-1]
    return Clause("summarize", calls, text)


_OPEN_FILE = templates("mac.open_file.vp", [
    "!open {F}@3", "find {F} and open it", "pull up {F}", "open up {F}", "locate {F}",
    "show me {F}", "bring up {F}", "dig up {F}", "get {F} open",
])


def open_file_intent(ctx: Ctx) -> Clause:
    """Open a file: open_and_get_file_path."""
    name = ctx.pick(FILES)
    if ("file", name) in ctx.lookups:
        raise Skip("file already open")
    calls: list[Call] = []
    open_file(ctx, name, calls)
    return Clause("open_file", calls, fill(ctx.pick(_OPEN_FILE), F=file_said(ctx, name, pdf=False)))


# ---------------------------------------------------------------- calendar and zoom

_CAL = templates("mac.cal.vp", [
    "!schedule {ev}{rest}@4", "!set up {ev}{rest}@2", "add {ev} to my calendar{rest}",
    "put {ev} on my calendar{rest}", "book {ev}{rest}", "create a calendar event for {ev}{rest}",
    "block off time for {ev}{rest}", "plan {ev}{rest}", "pencil in {ev}{rest}",
    "make a calendar entry for {ev}{rest}", "get {ev} on the calendar{rest}",
    "arrange {ev}{rest}",
])
_CAL_SENT = templates("mac.cal.sent", [
    "!I have {ev}{rest}. Add it to my calendar.", "I've got {ev}{rest}, put it in my calendar.",
    "there's {ev}{rest}. Can you add it to my calendar?",
])
_CALLED = templates("mac.called", [
    "!called {Title}", "named {Title}", "titled {Title}", "for the {title}", "for our {title}",
])
_ZOOM = templates("mac.zoom.vp", [
    "!create a zoom meeting {ev}{rest}@3", "set up a zoom call {ev}{rest}",
    "schedule a zoom {ev}{rest}",
    "get me a zoom link {ev}{rest}", "make a zoom meeting {ev}{rest}", "start a zoom {ev}{rest}",
    "generate a zoom link {ev}{rest}", "book a zoom call {ev}{rest}", "open a zoom room {ev}{rest}",
])
_ZOOM_CAL = templates("mac.zoom.cal", [
    "!and add it to my calendar@2", "and put it on my calendar too", "and block it on my calendar",
    "and create a calendar event for it", "then add it to my calendar",
    "and save it to my calendar",
])
_ZOOM_MAIL = templates("mac.zoom.mail", [
    "!and email them the link@2", "and send everyone the link by email",
    "and email the link to the attendees",
    "then email the invite link to them", "and mail them the link",
])


def _event(ctx: Ctx, zoom: bool) -> tuple[str, str, list[Who], bool]:
    """The event as said, its title, its invitees, and whether a pronoun was used."""
    again = people_again(ctx, "email")
    roll = ctx.rng.random()
    if again is None and roll < 0.5:  # "lunch with Priya": titled after kind and people
        people = recipients(ctx, "email", allow_groups=False, allow_literal=False,
                            relation_ok=False)
        who = said_list(ctx, [w.said for w in people])
        kind = "meeting" if zoom else ctx.pick(MEET_KINDS)
        title = cap(f"{kind} with {who}")
        meal = kind in ("lunch", "dinner", "breakfast", "coffee", "drinks")
        det = "" if zoom or kind == "drinks" or (meal and ctx.chance(0.6)) else \
            ("an " if kind[0] in "aeiou" else "a ")
        ev = f"with {who}" if zoom else f"{det}{kind} with {who}"
        return ev, title, people, False
    event = ctx.pick(EVENTS)
    title = cap(event)
    if zoom:
        named = ctx.pick(_CALLED)
        ev = named.format(Title=" ".join(w[:1].upper() + w[1:] for w in event.split())
                          if ctx.chance(0.5) else cap(event), title=event)
    else:
        det = ctx.choice(("the", "a", "my", "our"))
        if det == "a" and event[0] in "aeiou":
            det = "an"
        ev = f"{det} {event}"
    if again is not None:
        people, word = again
        ev = f"{ev} with {word}"
        return ev, title, people, True
    if ctx.chance(0.55):
        people = recipients(ctx, "email", allow_literal=False, relation_ok=False)
        ev = f"{ev} with {said_list(ctx, [w.said for w in people])}"
        return ev, title, people, False
    return ev, title, [], False


def _folder(ctx: Ctx) -> tuple[str, str]:
    """An optional notes folder: (folder, " in my Work folder")."""
    if not ctx.chance(0.25):
        return "", ""
    folder = ctx.pick(FOLDERS)
    return folder, ctx.choice((f" in my {folder} folder", f" in the {folder} folder",
                               f" under {folder}"))


def _timing(ctx: Ctx, with_duration: bool) -> tuple[str, dt.datetime, int | None]:
    """When the event is said, its start, and the duration in minutes when stated."""
    today = _today(ctx)
    if with_duration and ctx.chance(0.1):  # "from 2 to 4pm"
        day_text, date = dates.day(ctx, today)
        h = ctx.rng.randint(13, 17)
        length = ctx.choice((1, 2, 1))
        start = dt.datetime.combine(date, dt.time(h, 0))
        a, b = (h - 12), (h + length - 12)
        span = ctx.choice((f"from {a} to {b}pm", f"from {a}pm to {b}pm", f"from {a}:00 to {b}:00"))
        return f" {day_text} {span}", start, length * 60
    w = dates.when(ctx, today, time=not with_duration or ctx.chance(0.95))
    minutes = None
    dur = ""
    if with_duration and ctx.chance(0.35):
        minutes = ctx.pick(dates.DURATIONS)
        dur = " " + dates.duration(ctx, minutes)
    return f" {w.text}{dur}" if ctx.chance(0.7) else f"{dur} {w.text}", w.moment, minutes


def calendar(ctx: Ctx) -> Clause:
    """A calendar event: invitee lookups, then create_calendar_event (60 minutes by default)."""
    ev, title, people, again = _event(ctx, zoom=False)
    rest, start, minutes = _timing(ctx, with_duration=True)
    location = ""
    if ctx.chance(0.25):
        location = ctx.pick(VENUES)
        prep = "in" if location.startswith(("Room", "Conference", "Lab", "Building")) else "at"
        where = f" {prep} {location}"
        rest = rest + where if ctx.chance(0.6) else where + rest
    end = start + dt.timedelta(minutes=minutes or 60)
    calls: list[Call] = []
    invitees = refs(ctx, "email", people, calls)
    bank = _CAL_SENT if _sentence_ok(ctx, 0.25) else _CAL
    text = fill(ctx.pick(bank), ev=ev, rest=rest)
    calls.append(Call("create_calendar_event", (title, iso(start), iso(end), location,
                                                invitees, "", "")))
    _remember(ctx, people)
    form = "sentence" if bank is _CAL_SENT else "vp"
    return Clause("calendar", calls, text, form, uses_ctx=again)


def zoom(ctx: Ctx) -> Clause:
    """A Zoom meeting, maybe also on the calendar (link as location) or emailed to invitees."""
    ev, topic, people, again = _event(ctx, zoom=True)
    if not people and ctx.chance(0.5):
        raise Skip("prefer zooms with people")
    rest, start, minutes = _timing(ctx, with_duration=False)
    if ctx.chance(0.4):
        minutes = ctx.pick(dates.DURATIONS)
        rest += " " + dates.duration(ctx, minutes)
    calls: list[Call] = []
    invitees = refs(ctx, "email", people, calls)
    text = fill(ctx.pick(_ZOOM), ev=ev, rest=rest)
    link = Call("get_zoom_meeting_link", (topic, iso(start), minutes or 60, invitees))
    calls.append(link)
    if ctx.chance(0.35):
        end = start + dt.timedelta(minutes=minutes or 60)
        text += " " + fill(ctx.pick(_ZOOM_CAL))
        calls.append(Call("create_calendar_event", (topic, iso(start), iso(end), link,
                                                    list(invitees), "", "")))
    if people and ctx.chance(0.25):
        text += " " + fill(ctx.pick(_ZOOM_MAIL))
        calls.append(Call("compose_new_email", (list(invitees), [], "", link, [])))
    _remember(ctx, people)
    return Clause("zoom", calls, text, uses_ctx=again)


# ---------------------------------------------------------------- reminders and notes

_REMIND = templates("mac.remind.vp", [
    "!remind me to {task}{when}@4", "!set a reminder to {task}{when}@2",
    "add a reminder to {task}{when}",
    "create a reminder to {task}{when}",
    "make a reminder for me to {task}{when}", "nudge me to {task}{when}", "ping me to {task}{when}",
    "set up a reminder to {task}{when}", "put a reminder in to {task}{when}",
])
_REMIND_FRONT = templates("mac.remind.front", [
    "!remind me{when} to {task}", "set a reminder for{when_bare}: {task}",
    "ping me{when} to {task}",
])
_REMIND_SENT = templates("mac.remind.sent", [
    "!I need to {task}{when}. Remind me{extra}.", "I have to {task}{when}, set a reminder{extra}.",
    "I keep forgetting to {task}. Add a reminder{when}{extra}.",
    "don't let me forget to {task}{when}{extra}.", "{when_cap}, remind me to {task}{extra}.",
])
_PRIORITY = templates("mac.priority", [
    "! with {level} priority@2", " as {level} priority", ", {level} priority",
    ", and make it {level} priority",
    " and mark it {level} priority",
])
_ALL_DAY = templates("mac.all_day", [
    "! as an all-day reminder", ", make it all-day", " as an all-day thing", ", all-day",
])
_LIST = templates("mac.list_phrase", [
    "! in my {L} list", " on my {L} list", " to the {L} list", " in {L}",
])


def reminder(ctx: Ctx) -> Clause:
    """A reminder: name in imperative, due date from today, optional list, priority, all-day."""
    task = ctx.pick(TASKS)
    due, when_text, has_date = "", "", False
    if ctx.chance(0.82):
        w = dates.when(ctx, _today(ctx), time=ctx.chance(0.6))
        due, when_text, has_date = iso(w.moment), w.text, True
    list_name, priority, all_day = "", 0, False
    extra = ""
    if ctx.chance(0.15):
        list_name = ctx.pick(LISTS)
        extra += ctx.pick(_LIST).format(L=list_name)
    if ctx.chance(0.15):
        level = ctx.choice(("high", "high", "medium", "low"))
        priority = {"high": 1, "medium": 5, "low": 9}[level]
        extra += ctx.pick(_PRIORITY).format(level=level)
    if has_date and ":00:00" in due and due.endswith("00:00:00") and ctx.chance(0.15):
        all_day = True
        extra += ctx.pick(_ALL_DAY)
    when = f" {when_text}" if when_text else ""
    form = "vp"
    if has_date and ctx.chance(0.15):
        bare = " " + when_text.removeprefix("on ")
        text = fill(ctx.pick(_REMIND_FRONT), when=when, when_bare=bare, task=task) + extra
    elif _sentence_ok(ctx, 0.3):
        tpl = ctx.pick_where(_REMIND_SENT, lambda t: has_date or "{when_cap}" not in t)
        if tpl is None:
            raise Skip("no sentence form")
        text = fill(tpl, task=task, when=when, when_cap=cap(when_text), extra=extra)
        form = "sentence"
    else:
        text = fill(ctx.pick(_REMIND), task=task, when=when) + extra
    call = Call("create_reminder", (spoken_text(task), due, "", list_name, priority, all_day))
    return Clause("reminder", [call], text, form)


_NOTE_NEW = templates("mac.note.create", [
    "!create a note called {N} with {Q}@3", "make a new note titled {N} saying {Q}",
    "jot down {Q} in a new note called {N}", "start a note named {N}: {Content}",
    "create a note named {N} that says {Q}", "write a note called {N} with the text {Q}",
    "take a note titled {N}: {Content}",
    "make a note named {N} and write {Q} in it", "!create a note called {N} with {content}",
])


def note_create(ctx: Ctx) -> Clause:
    """A new note with the user's words."""
    name, content = ctx.pick(NOTES), ctx.pick(NOTE_TEXTS)
    folder, folder_text = _folder(ctx)
    tpl = ctx.pick(_NOTE_NEW)
    if tpl.endswith("{content}") and "," not in content:
        tpl = tpl.replace("{content}", "{Q}")
    if tpl.endswith(("{content}", "{Content}")):  # dictated words last: say the folder first
        text = fill(tpl, N=name + folder_text, content=content, Content=cap(content))
    else:
        text = fill(tpl, N=name, content=content, Content=cap(content),
                    Q=_quote(ctx, content)) + folder_text
    return Clause("note_create", [Call("create_note", (name, spoken_text(content), folder))], text)


_NOTE_OPEN = templates("mac.note.open", [
    "!open my {N} note@3", "show me the {N} note", "pull up my {N} note",
    "open the note called {N}",
    "bring up the {N} note", "open up my {N} note", "find my {N} note and open it",
])
_NOTE_OPEN_Q = templates("mac.note.open_q", [
    "!what's in my {N} note?", "what did I write in the {N} note?", "can I see my {N} note?",
])


def note_open(ctx: Ctx) -> Clause:
    """Open a note (its content is the answer)."""
    name = ctx.pick(NOTES)
    folder, folder_text = _folder(ctx)
    if not folder and _sentence_ok(ctx, 0.35):
        text, form = fill(ctx.pick(_NOTE_OPEN_Q), N=name), "sentence"
    else:
        text, form = fill(ctx.pick(_NOTE_OPEN), N=name) + folder_text, "vp"
    return Clause("note_open", [Call("open_note", (name, folder))], text, form)


_NOTE_ADD = templates("mac.note.append", [
    "!add {Q} to my {N} note@3", "append {Q} to the {N} note", "put {Q} in my {N} note",
    "add {Q} to the note called {N}", "update my {N} note with {Q}",
    "!add {content} to my {N} note",
    "write {Q} at the end of my {N} note", "stick {Q} onto my {N} note",
    "tack {Q} onto the {N} note", "in my {N} note, add {Q}",
])
_NOTE_OPEN_ADD = templates("mac.note.open_append", [
    "!open my {N} note and add {Q} to it", "pull up the {N} note and append {content}",
    "open the {N} note and write {Q} at the bottom",
])


def note_append(ctx: Ctx) -> Clause:
    """Append to a note; open_note first only when the user asks to open it."""
    name, content = ctx.pick(NOTES), ctx.pick(NOTE_TEXTS)
    folder, folder_text = _folder(ctx)
    slots = {"N": name, "content": content, "Q": _quote(ctx, content)}
    calls: list[Call] = []
    if ctx.chance(0.15):
        text = fill(ctx.pick(_NOTE_OPEN_ADD), **slots)
        calls.append(Call("open_note", (name, folder)))
    else:
        text = fill(ctx.pick(_NOTE_ADD), **slots)
    calls.append(Call("append_note_content", (name, spoken_text(content), folder)))
    return Clause("note_append", calls, text + folder_text)


# ---------------------------------------------------------------- maps and contacts

_MAP_OPEN = templates("mac.map.open", [
    "!show me {P} on the map@3", "open {P} in Maps", "pull up {P} in Apple Maps",
    "find {P} on the map",
    "show {P} in Maps", "open Maps to {P}", "look up {P} on the map", "bring up {P} on the map",
    "drop a pin on {P}", "put {P} up on the map",
])
_MAP_OPEN_Q = templates("mac.map.open_q", [
    "!where is {P} on the map?", "where's {P}? Show me on the map.", "can I see {P} on a map?",
])


def _map_place(ctx: Ctx, avoid: str = "") -> tuple[str, str]:
    for _ in range(5):
        name = ctx.pick(MAP_PLACES)
        if name != avoid:
            return name, f"the {name}" if name in MAP_THE else name
    raise Skip("no second place")


def maps_open(ctx: Ctx) -> Clause:
    """Show a place in Maps."""
    name, said = _map_place(ctx)
    if _sentence_ok(ctx, 0.3):
        text, form = fill(ctx.pick(_MAP_OPEN_Q), P=said), "sentence"
    else:
        text, form = fill(ctx.pick(_MAP_OPEN), P=said), "vp"
    return Clause("maps_open", [Call("maps_open_location", (name,))], text, form)


_DIRECTIONS = templates("mac.directions.vp", [
    "!get {mode} directions{from} to {B}@3", "!show me directions{from} to {B}{by}@2",
    "give me directions{from} to {B}{by}", "directions{from} to {B}{by}",
    "show me how to get{from} to {B}{by}", "find the route{from} to {B}{by}",
    "plot a route{from} to {B}{by}", "map a {mode} route{from} to {B}", "navigate{from} to {B}{by}",
    "get me {mode} directions{from} to {B}", "show {mode} directions{from} to {B}",
    "pull up a route to {B}{from}{by}",
])
_DIRECTIONS_Q = templates("mac.directions.q", [
    "!how do I get{from} to {B}{by}?", "what's the best way to get{from} to {B}{by}?",
    "how can I get to {B}{by}?", "what's the route to {B}{by}?",
])


def directions(ctx: Ctx) -> Clause:
    """Directions in Maps: start "" for here, transport d unless walking (w) or transit (r)."""
    end, end_said = _map_place(ctx)
    start, start_said = "", ""
    roll = ctx.rng.random()
    if roll < 0.4:
        start, start_said = _map_place(ctx, avoid=end)
        start_said = f" from {start_said}"
    elif roll < 0.55:
        start_said = " from here"
    question = _sentence_ok(ctx, 0.35)
    bank = _DIRECTIONS_Q if question else _DIRECTIONS
    tpl = ctx.pick(bank)
    if "{from}" not in tpl:
        start, start_said = "", ""
    code, mode, by = "d", "", ""
    if "{mode}" in tpl:
        mode, code = ctx.pick(MODES)
    elif ctx.chance(0.6):
        phrase, code = ctx.pick(BY_MODES)
        by = f" {phrase}"
    text = fill(tpl, mode=mode, B=end_said, by=by, **{"from": start_said})
    return Clause("directions", [Call("maps_show_directions", (start, end, code))], text,
                  "sentence" if question else "vp")


_CONTACT_Q = templates("mac.contact.q", [
    "!what's {P}'s {thing}?@3", "what is {P}'s {thing}?", "do you have {P}'s {thing}?",
    "can you find {P}'s {thing}?", "what {thing} do I have for {P}?",
])
_CONTACT_VP = templates("mac.contact.vp", [
    "!look up {P}'s {thing}@2", "find {P}'s {thing}", "get me {P}'s {thing}",
    "pull up {P}'s {thing}",
    "check what {P}'s {thing} is",
])


def contact(ctx: Ctx) -> Clause:
    """What is P's number / email? Answered by the lookup alone."""
    p = ctx.pick(CONTACTS)
    phone = ctx.chance(0.5)
    thing = ctx.choice(("phone number", "number", "cell number", "mobile number")) if phone else \
        ctx.choice(("email", "email address", "e-mail"))
    kind = "phone" if phone else "email"
    if (kind, p.name) in ctx.lookups:
        raise Skip("already looked up")
    if _sentence_ok(ctx, 0.7):
        text, form = fill(ctx.pick(_CONTACT_Q), P=p.name, thing=thing), "sentence"
    else:
        text, form = fill(ctx.pick(_CONTACT_VP), P=p.name, thing=thing), "vp"
    calls: list[Call] = []
    lookup(ctx, kind, p.name, calls)
    ctx.last_people = (p,)
    ctx.since_mention = 0
    return Clause("contact", calls, text, form, lookup=True)


INTENTS: tuple[Intent, ...] = (
    Intent("sms", 8, sms),
    Intent("email", 8, email),
    Intent("send_file", 5, send_file),
    Intent("reply", 5, reply, repeat=False),
    Intent("forward", 5, forward, repeat=False),
    Intent("summarize", 7, summarize),
    Intent("open_file", 3, open_file_intent),
    Intent("calendar", 8, calendar),
    Intent("zoom", 6, zoom),
    Intent("reminder", 9, reminder),
    Intent("note_create", 5, note_create),
    Intent("note_open", 4, note_open),
    Intent("note_append", 5, note_append),
    Intent("maps_open", 5, maps_open, repeat=False),
    Intent("directions", 6, directions, repeat=False),
    Intent("contact", 4, contact),
)
