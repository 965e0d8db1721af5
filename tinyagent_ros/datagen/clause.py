"""The generator's core types: skill calls with symbolic references, clauses, the draw context."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from tinyagent_ros.datagen.heldout import Bank, Item, Split
from tinyagent_ros.plan import END_OF_PLAN, JOIN, render_value

T = TypeVar("T")


@dataclass(eq=False)
class Call:
    """One skill call; an argument that is another Call becomes ``"$N"`` when rendered."""

    name: str
    args: tuple[Any, ...] = ()


def _arg(value: Any, index: dict[int, int], me: int) -> Any:
    if isinstance(value, Call):
        n = index.get(id(value))
        if n is None or n >= me:
            raise ValueError(f"call {value.name} is referenced before it is planned")
        return f"${n}"
    if isinstance(value, list | tuple):
        return [_arg(v, index, me) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def render_plan(calls: Sequence[Call]) -> str:
    """Plan text (contract section 1, CONVENTIONS.md style) for calls in order."""
    index: dict[int, int] = {}
    lines: list[str] = []
    for n, call in enumerate(calls, 1):
        if id(call) in index:
            raise ValueError(f"call {call.name} appears twice in a plan")
        args = [_arg(a, index, n) for a in call.args]
        lines.append(f"{n}. {call.name}({', '.join(render_value(a) for a in args)})")
        index[id(call)] = n
    lines.append(f"{len(calls) + 1}. {JOIN}(){END_OF_PLAN}")
    return "\n".join(lines)


Form = Literal["vp", "sentence"]

#: Free-text arguments (skill -> argument positions): words the user dictates.
FREE_TEXT: dict[str, tuple[int, ...]] = {
    "say": (0,), "send_message": (1,), "send_sms": (1,), "compose_new_email": (3,),
    "reply_to_email": (1,), "forward_email": (2,), "create_note": (1,),
    "append_note_content": (1,), "create_reminder": (0,),
}


@dataclass
class Clause:
    """One request: its words and the calls it adds to the plan.

    ``form`` is ``vp`` for an imperative verb phrase ("go to the kitchen") that
    can be joined and wrapped, or ``sentence`` for a standalone sentence with its
    own punctuation ("Where is Emma?", "I'm thirsty. I need a soda.").
    """

    intent: str
    calls: list[Call]
    text: str
    form: Form = "vp"
    lookup: bool = False
    uses_ctx: bool = False
    #: Does the text end in dictated words without quotes ("text Bob that I'm late")?
    #: Then a following request must not be glued on with a bare "and".
    open_end: bool = field(init=False)

    def __post_init__(self) -> None:
        end = self.text.rstrip(" .!?").lower()
        self.open_end = any(
            isinstance(c.args[i], str) and c.args[i] and end.endswith(c.args[i].lower())
            for c in self.calls for i in FREE_TEXT.get(c.name, ())
            if i < len(c.args)
        )


@dataclass
class Ctx:
    """Random source, split, what was drawn, and what earlier clauses left behind."""

    rng: random.Random
    split: Split
    templates: list[str] = field(default_factory=list)
    entities: list[tuple[str, str, str]] = field(default_factory=list)
    #: May the next clause be a standalone sentence (question, need, terse)?
    allow_sentence: bool = False
    #: Must the next clause refer back to the previous one (pronoun, "there")?
    force_ctx: bool = False
    # robot state
    at_place: str | None = None
    at_person: str | None = None
    last_person: Any = None
    #: Clauses since a person was last mentioned (pronouns reach back one clause at most).
    since_mention: int = 0
    opened: set[str] = field(default_factory=set)
    holding: Any = None
    # mac state
    today: dt.date | None = None
    lookups: dict[tuple[str, str], Call] = field(default_factory=dict)
    last_people: tuple[Any, ...] = ()

    def item(self, bank: Bank[T]) -> Item[T]:
        """Draw an item for this split and record it."""
        it = bank.draw(self.rng, self.split)
        self._record(bank, it)
        return it

    def _record(self, bank: Bank[T], it: Item[T]) -> None:
        if bank.kind == "entity":
            self.entities.append((bank.name, it.key, it.tier))
        elif it.tier != "shared":  # shared glue ("and", "then") is not a template
            self.templates.append(bank.item_id(it))

    def note(self, bank: Bank[T], key: str) -> None:
        """Record an entity chosen outside the bank's draw (e.g. a place named by a subject)."""
        for it in bank.items:
            if it.key == key:
                self._record(bank, it)
                return
        raise KeyError(f"{key!r} is not in bank {bank.name!r}")

    def pick_where(self, bank: Bank[T], ok: Callable[[T], bool]) -> T | None:
        """Draw a value for this split among those that pass ``ok``; None if there is none."""
        pool = [it for it in bank.pool(self.split) if ok(it.value)]
        if not pool:
            return None
        it = self.rng.choices(pool, [p.weight for p in pool])[0]
        self._record(bank, it)
        return it.value

    def pick(self, bank: Bank[T]) -> T:
        """Draw a value for this split and record it."""
        return self.item(bank).value

    def pick_distinct(self, bank: Bank[T], n: int) -> list[T]:
        """Draw n different values (fewer if the split's pool is smaller)."""
        out: list[T] = []
        keys: list[str] = []
        pool_size = len(bank.pool(self.split))
        for _ in range(n * 8):
            if len(out) >= min(n, pool_size):
                break
            it = bank.draw(self.rng, self.split)
            if it.key in keys:
                continue
            self._record(bank, it)
            keys.append(it.key)
            out.append(it.value)
        return out

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.rng.random() < p

    def choice(self, seq: Sequence[T]) -> T:
        """An untracked choice (glue that is not held out)."""
        return seq[self.rng.randrange(len(seq))]


_SPACES = re.compile(r"\s+")
_SPACE_PUNCT = re.compile(r"\s+([,.?!:;])")


def tidy(text: str) -> str:
    """Collapse spaces left by empty slots and spaces before punctuation."""
    text = _SPACE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)).strip()
    return text.replace(",,", ",").replace(" ,", ",").replace("..", ".")


def fill(template: str, **slots: Any) -> str:
    """Format a template with slots and tidy the result."""
    return tidy(template.format(**slots))


def cap(text: str) -> str:
    """First letter upper case, rest untouched."""
    return text[:1].upper() + text[1:] if text else text


_SUBJECTS = frozenset(
    "i i'm i'll i've i'd the we we're we've it it's there there's everything your my our he "
    "she they dinner lunch breakfast tea dessert pancakes school homework practice visiting "
    "movie parking traffic mail".split()
)


def that_ok(text: str) -> bool:
    """Whether dictated words read well after "that" (a statement, not "please ...")."""
    return text.split(" ", 1)[0].lower() in _SUBJECTS


def no_bare_that(text: str) -> Callable[[str], bool]:
    """A template filter: keep "... that {x}" templates only for statements."""
    ok = that_ok(text)
    return lambda tpl: ok or "that {" not in tpl


def spoken_text(text: str) -> str:
    """Message or speech text as the gold plan writes it: capitalised, no final period."""
    return cap(text.strip().rstrip(".").strip())


class Skip(Exception):
    """An intent cannot be built in this context; the generator picks another."""


@dataclass(frozen=True)
class Intent:
    """A named intent, how often to draw it, and its builder."""

    name: str
    weight: float
    build: Callable[[Ctx], Clause]
    needs_holding: bool = False
    #: May the intent occur twice in one case?
    repeat: bool = True
