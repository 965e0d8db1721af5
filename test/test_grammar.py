"""The plan grammar: llama.cpp accepts it, and it admits exactly the valid plans we try."""

from __future__ import annotations

import pytest

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.grammar import plan_grammar

llama_cpp = pytest.importorskip("llama_cpp")


@pytest.mark.parametrize("name", ["robot", "mac"])
def test_llama_cpp_parses_the_full_catalog_grammar(name):
    gbnf = plan_grammar(load_catalog(name))
    assert llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False) is not None


def test_only_selected_skills_and_earlier_references_are_offered():
    robot = load_catalog("robot")
    gbnf = plan_grammar(robot.subset(["locate_person", "navigate_to"]), max_tasks=3)
    assert "say(" not in gbnf
    assert 'ref2 ::= "\\"$" ("1") "\\""' in gbnf
    assert 'ref3' not in gbnf.split("step3 ::=")[0].split("ref2 ::=")[0]
    assert 'step3 ::= "3. " "join()<END_OF_PLAN>"' in gbnf


def test_rejects_max_tasks_below_one():
    with pytest.raises(ValueError):
        plan_grammar(load_catalog("robot"), max_tasks=0)


def test_must_act_takes_away_the_empty_plan_only():
    robot = load_catalog("robot").subset(["dock"])
    free, must = plan_grammar(robot, max_tasks=3), plan_grammar(robot, max_tasks=3, must_act=True)
    assert 'step1 ::= "1. " ("join()<END_OF_PLAN>" |' in free
    assert 'step1 ::= "1. " (call1-dock) "\\n" step2' in must
    assert must.split("step2 ::=")[1] == free.split("step2 ::=")[1]
    assert llama_cpp.LlamaGrammar.from_string(must, verbose=False) is not None
