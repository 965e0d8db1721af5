"""Combine clauses into one request: joins, reordering, wrappers, fillers, distractors, casing.

The plan is always the clauses' calls in order; only the words vary. A pair of
actions may be said in reverse with "before you B, A" (the plan still does A
first), so the text order is not a shortcut for the plan order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tinyagent_ros.datagen.clause import Clause, Ctx, cap, tidy
from tinyagent_ros.datagen.heldout import Bank
from tinyagent_ros.datagen.lexicon import (
    BEFORE,
    DISTRACT_POST,
    DISTRACT_PRE,
    FILLERS,
    INDIRECT,
    JOIN_SENT,
    JOIN_VP,
    POLITE,
    POLITE_Q,
    SERIES,
)


def _series(ctx: Ctx, items: Sequence[str]) -> str:
    """Three or more verb phrases said as one list ("first a, then b, and finally c")."""
    form = ctx.pick(SERIES)
    *head, last = items
    if form == "first_then_finally":
        mid = "".join(f", then {x}" for x in head[1:])
        return f"first {head[0]}{mid}, and finally {last}"
    if form == "comma_list":
        return f"{', '.join(head)}, and {last}"
    if form == "then_chain":
        return ", then ".join(items)
    if form == "semicolons":
        return "; ".join(items)
    if form == "first_after_lastly":
        mid = "".join(f", after that {x}" for x in head[1:])
        return f"first {head[0]}{mid}, and lastly {last}"
    if form == "and_finally":
        return f"{', '.join(head)} and finally {last}"
    if form == "steps":
        words = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
        return ". ".join(f"{cap('step')} {words[i]}, {x}" for i, x in enumerate(items))
    if form == "and_then_chain":
        return ", and then ".join(items)
    if form == "numbered":
        return ", ".join(f"({i + 1}) {x}" for i, x in enumerate(items))
    return ". ".join([items[0]] + [f"Then {x}" for x in items[1:]])


def _join_run(ctx: Ctx, run: list[Clause]) -> tuple[str, bool]:
    """Verb phrases of consecutive clauses as one text; True if it may be wrapped."""
    texts = [c.text for c in run]
    if len(run) == 1:
        return texts[0], True
    if (len(run) == 2 and not run[1].uses_ctx and not any(c.lookup or c.open_end for c in run)
            and ctx.chance(0.15)):
        return ctx.pick(BEFORE).format(a=texts[0], b=texts[1]), False
    if len(run) >= 3 and not any(c.open_end for c in run[:-1]) and ctx.chance(0.45):
        text = _series(ctx, texts)
        return text, ". " not in text
    out = texts[0]
    for prev, t in zip(run, texts[1:], strict=False):
        conn = ctx.pick_where(JOIN_VP, lambda j: j.startswith((",", ";"))) if prev.open_end \
            else ctx.pick(JOIN_VP)
        out += (conn or ", then {b}").format(b=t)
    return out, True


def _ends_vp(template: str) -> bool:
    return template.rstrip(".?!").endswith("{vp}")


def _wrap(ctx: Ctx, body: str, open_end: bool) -> tuple[str, str]:
    """A request wrapper around the first verb phrase; returns (text, end punctuation).

    After dictated words only wrappers that end with the request are used, so
    "please" never reads as part of a message.
    """
    roll = ctx.rng.random()
    bank = POLITE_Q if roll < 0.22 else POLITE if roll < 0.34 else INDIRECT if roll < 0.48 else None
    if bank is None:
        return body, ctx.choice((".",) * 12 + ("!",))
    tpl = ctx.pick_where(bank, lambda t: not open_end or _ends_vp(t))
    if tpl is None:
        return body, "."
    text = tpl.format(vp=body)
    end = text[-1] if text[-1] in ".?!" else "."
    return text.rstrip(".?!"), end


def _segments(ctx: Ctx, clauses: Sequence[Clause]) -> list[str]:
    segs: list[str] = []
    i = 0
    while i < len(clauses):
        c = clauses[i]
        if c.form == "sentence":
            text = c.text
            if segs and ctx.chance(0.3):
                text = ctx.choice(("Also, ", "Oh, and ", "And ", "Oh, also, ")) + text
            segs.append(text)
            i += 1
            continue
        run = [c]
        while i + len(run) < len(clauses) and clauses[i + len(run)].form == "vp":
            nxt = clauses[i + len(run)]
            if ctx.chance(0.18) or (run[-1].open_end and ctx.chance(0.85)):
                break  # a new sentence; always likely after dictated words
            run.append(nxt)
        i += len(run)
        body, wrappable = _join_run(ctx, run)
        open_end = run[-1].open_end
        if not segs:
            if wrappable:
                body, end = _wrap(ctx, body, open_end)
            else:
                end = "."
            segs.append(body + end)
        else:
            if wrappable and ctx.chance(0.12):
                ok = _ends_vp if open_end else (lambda t: True)
                tpl = ctx.pick_where(POLITE_Q, ok) or "could you {vp}?"
                body = tpl.format(vp=body).rstrip("?")
                segs.append(ctx.choice(("Also, ", "And ", "Then ", "After that, ")) + body + "?")
            else:
                segs.append(ctx.pick(JOIN_SENT).format(b=body) + ".")
    return segs


_FINAL_PUNCT = re.compile(r"[.!?]+$")
#: A lower-case letter starting a sentence (not after "a.m." / "p.m.").
_SENTENCE_START = re.compile(r"(?<![ap]\.m)([.?!][\"']?\s+)([a-z])")
_STRIP = re.compile(r"[,;!?\"()—]|(?<![A-Za-z0-9])'|'(?![A-Za-z])|[.:](?=\s|$)")


def transcript(text: str) -> str:
    """What a speech recogniser without punctuation would give: lower case, no punctuation."""
    return tidy(_STRIP.sub(" ", text.lower()))


def compose(ctx: Ctx, clauses: Sequence[Clause], address: Bank[str], asr_p: float = 0.06) -> str:
    """The whole request for these clauses, in their (plan) order."""
    segs = _segments(ctx, clauses)
    segs = [cap(s.strip()) for s in segs]
    if ctx.chance(0.12):  # rambling: a filler at the start, maybe one inside
        filler = ctx.pick(FILLERS)
        segs[0] = f"{cap(filler)} {segs[0][:1].lower()}{segs[0][1:]}" \
            if not segs[0].startswith(("I ", "I'")) else f"{cap(filler)} {segs[0]}"
        if " and " in segs[0] and ctx.chance(0.5):
            segs[0] = segs[0].replace(" and ", f" and, {ctx.pick(FILLERS).rstrip(',')}, ", 1)
    if ctx.chance(0.08):
        first = segs[0]
        if not first.startswith(("I ", "I'")):
            first = first[:1].lower() + first[1:]
        segs[0] = cap(ctx.pick(address).format(s=first))
    if ctx.chance(0.1):
        segs.insert(0, ctx.pick(DISTRACT_PRE))
    if ctx.chance(0.08):
        segs.append(ctx.pick(DISTRACT_POST))
    text = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), tidy(" ".join(segs)))
    if ctx.chance(asr_p):
        return transcript(text)
    if ctx.chance(0.07):
        text = _FINAL_PUNCT.sub("", text)
    return text
