"""GBNF grammars that let the planner write only valid plans.

Generated from the selected skills' signatures: only those names, exact arity,
a typed literal or a reference to an EARLIER task for each argument, sequential
numbering, then ``join()<END_OF_PLAN>``. Strings may hold a ``$`` only when no
digit follows, so every reference goes through the checked rule. Counting is
unrolled up to ``max_tasks`` (a context-free grammar cannot count otherwise),
so a task can only reference task numbers that exist before it.
"""

from __future__ import annotations

import re

from tinyagent_ros.catalog import Catalog
from tinyagent_ros.plan import END_OF_PLAN

#: Tasks the grammar allows before join() is forced (long errands reach 18 in our data).
DEFAULT_MAX_TASKS = 20

_SCALARS = {
    "str": "str",
    "int": "int",
    "float": "num",
    "bool": "bool",
}

_BASE_RULES = r"""
str ::= "\"" strchar* "\""
strchar ::= [^"\\\n\r$] | "\\" ["\\/nrt] | "$" [^0-9{"\\\n\r$]
int ::= "-"? ("0" | [1-9] [0-9]{0,8})
num ::= "-"? ("0" | [1-9] [0-9]{0,8}) ("." [0-9]{1,6})?
bool ::= "True" | "False"
sep ::= ", "
"""


def _rule_name(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9-]", "-", text)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value_rule(type_name: str, ref: str | None) -> str:
    """The GBNF expression for one argument of a type, with task references allowed if any."""
    if type_name.startswith("list["):
        item = _value_rule(type_name[5:-1], ref)
        return f'("[" ({item} (sep {item})*)? "]")'
    scalar = _SCALARS[type_name]
    return f"({scalar} | {ref})" if ref else scalar


def plan_grammar(catalog: Catalog, max_tasks: int = DEFAULT_MAX_TASKS,
                 must_act: bool = False) -> str:
    """A GBNF grammar for plans over exactly the skills of ``catalog``.

    ``must_act``: the plan has at least one task (no bare ``join()``).
    """
    if max_tasks < 1:
        raise ValueError("max_tasks must be at least 1")
    lines = ["root ::= step1"]
    end = _quote(f"join(){END_OF_PLAN}")
    for k in range(1, max_tasks + 1):
        ref = f"ref{k}" if 1 < k < max_tasks and catalog.skills else None
        if ref:
            earlier = " | ".join(_quote(str(i)) for i in range(1, k))
            lines.append(f'{ref} ::= "\\"$" ({earlier}) "\\""')
        number = _quote(f"{k}. ")
        if k == max_tasks or not catalog.skills:
            lines.append(f"step{k} ::= {number} {end}")
            continue
        calls = []
        for skill in catalog.skills:
            rule = f"call{k}-{_rule_name(skill.name)}"
            args = " sep ".join(_value_rule(p.type, ref) for p in skill.params)
            body = f'{_quote(skill.name + "(")} {args} ")"' if args else _quote(skill.name + "()")
            lines.append(f"{rule} ::= {body}")
            calls.append(rule)
        more = f'({" | ".join(calls)}) "\\n" step{k + 1}'
        if k == 1 and must_act:
            lines.append(f"step{k} ::= {number} {more}")
        else:
            lines.append(f"step{k} ::= {number} ({end} | {more})")
    return "\n".join(lines) + "\n" + _BASE_RULES.strip() + "\n"
