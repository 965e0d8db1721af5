"""The planner prompt in TinyAgent's structure.

Instruction and rules first (the same for every command of a catalog, so
llama.cpp can reuse their KV cache), then the selected skills, the date,
retrieved examples, and the question as the user turn.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from tinyagent_ros.catalog import Catalog, Skill
from tinyagent_ros.paths import share_path


@dataclass(frozen=True)
class Example:
    """An in-context example: a command, its plan text, and the date it was planned on."""

    query: str
    plan: str
    #: Shown with the example, so the model sees its dates as relative to that day.
    today: dt.date | None = None


@dataclass(frozen=True)
class Prompt:
    """The planner's chat messages and what went into them."""

    system: str
    user: str
    skills: tuple[str, ...]
    examples: tuple[Example, ...]

    def messages(self) -> list[dict[str, str]]:
        """Chat messages for the model's chat template."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


@cache
def _template() -> str:
    return share_path("config", "prompts", "planner.txt").read_text(encoding="utf-8")


def describe_skill(number: int, skill: Skill) -> str:
    """One skill as the prompt lists it: signature, result, meaning."""
    returns = f" -> {skill.returns}" if skill.returns else ""
    return f"{number}. {skill.signature}{returns}\n   {skill.description.strip()}"


def format_examples(examples: tuple[Example, ...] | list[Example]) -> str:
    """TinyAgent's example block: (the example's date,) Question, plan, ``###``."""
    if not examples:
        return ""
    body = "".join(f"{_today_line(e.today)}Question: {e.query}\n{e.plan}\n###\n"
                   for e in examples)
    return f"\nHere are some examples:\n{body}"


def _today_line(today: dt.date | None) -> str:
    return f"Today is {today:%A}, {today.isoformat()}.\n" if today is not None else ""


def date_context(today: dt.date) -> str:
    """Today and the dates of the coming week: a 0.5B model cannot count days reliably,
    but it copies a date it can see ("on Friday" -> the Friday listed here).
    """
    week = ", ".join(f"{d:%A} {d.isoformat()}"
                     for d in (today + dt.timedelta(days=n) for n in range(1, 8)))
    return f"{_today_line(today)}The next seven days: {week} (tomorrow is the first).\n"


def build_prompt(
    catalog: Catalog,
    query: str,
    skills: list[str] | None = None,
    examples: list[Example] | tuple[Example, ...] = (),
    today: dt.date | None = None,
) -> Prompt:
    """Build the prompt for ``query`` with the selected skills (all when None), in catalog order."""
    selected = catalog if skills is None else catalog.subset(skills)
    listed = "\n".join(describe_skill(i, s) for i, s in enumerate(selected.skills, 1))
    rules = "".join(f"- {r}\n" for r in catalog.rules)
    date_line = date_context(today) if today is not None else ""
    system = _template().format(
        description=catalog.description.strip(),
        rules=rules,
        skills=listed,
        n_join=len(selected.skills) + 1,
        today=date_line,
        examples=format_examples(tuple(examples)),
    ).strip()
    return Prompt(
        system=system,
        user=f"Question: {query.strip()}",
        skills=tuple(selected.names),
        examples=tuple(examples),
    )
