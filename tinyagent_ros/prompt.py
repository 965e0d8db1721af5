"""The planner prompt in TinyAgent's structure.

Instruction and rules first (the same for every command of a catalog, so
llama.cpp can reuse their KV cache), then the selected skills, the date,
retrieved examples, and the question as the user turn. With a date, each
question is followed by what its dates and times resolve to
(:mod:`tinyagent_ros.datetimes`), in the examples as well, so the model
learns to copy them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from tinyagent_ros.catalog import Catalog, Skill
from tinyagent_ros.datetimes import hint
from tinyagent_ros.paths import share_path


@dataclass(frozen=True)
class Example:
    """An in-context example: a command and its plan text."""

    query: str
    plan: str
    #: The day the example's relative dates were said on (for its date line).
    today: dt.date | None = None


@dataclass(frozen=True)
class Prompt:
    """The planner's chat messages and what went into them."""

    system: str
    user: str
    skills: tuple[str, ...]
    examples: tuple[Example, ...]
    #: The command asks for something (ToolRAG found a skill it needs): no empty plan,
    #: unless it is declined (then it tells a request from small talk).
    must_act: bool = False
    #: The skills the grammar lets the model call, when not all of those listed.
    allowed: tuple[str, ...] | None = None

    @property
    def callable(self) -> tuple[str, ...]:
        """The skills the plan may call."""
        return self.skills if self.allowed is None else self.allowed

    @property
    def declines(self) -> bool:
        """No skill fits the command (relevance gate): the empty plan, written without the model."""
        return self.allowed == ()

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


def question(query: str, today: dt.date | None, date_hints: bool = True) -> str:
    """The question as the prompt states it, with its resolved dates when ``today`` is known."""
    text = f"Question: {query.strip()}"
    dates = hint(query, today) if today is not None and date_hints else ""
    return f"{text}\n{dates}" if dates else text


def format_examples(examples: tuple[Example, ...] | list[Example],
                    date_hints: bool = True) -> str:
    """TinyAgent's example block: Question, plan, ``###``."""
    if not examples:
        return ""
    body = "".join(f"{question(e.query, e.today, date_hints)}\n{e.plan}\n###\n"
                   for e in examples)
    return f"\nHere are some examples:\n{body}"


def build_prompt(
    catalog: Catalog,
    query: str,
    skills: list[str] | None = None,
    examples: list[Example] | tuple[Example, ...] = (),
    today: dt.date | None = None,
    date_hints: bool = True,
) -> Prompt:
    """Build the prompt for ``query`` with the selected skills (all when None), in catalog order.

    ``today`` (catalogs with dates) adds the date line and, unless
    ``date_hints`` is off, what the question's dates and times resolve to.
    """
    selected = catalog if skills is None else catalog.subset(skills)
    listed = "\n".join(describe_skill(i, s) for i, s in enumerate(selected.skills, 1))
    rules = "".join(f"- {r}\n" for r in catalog.rules)
    date_line = ""
    if today is not None:
        date_line = f"Today is {today:%A}, {today.isoformat()}.\n"
    system = _template().format(
        description=catalog.description.strip(),
        rules=rules,
        skills=listed,
        n_join=len(selected.skills) + 1,
        today=date_line,
        examples=format_examples(tuple(examples), date_hints),
    ).strip()
    return Prompt(
        system=system,
        user=question(query, today, date_hints),
        skills=tuple(selected.names),
        examples=tuple(examples),
    )
