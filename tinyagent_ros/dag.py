"""The plan DAG and the success metrics of contract section 2.

Edges come from data references and from resource conflicts (same resource,
at least one user exclusive, in plan order); the DAG is their transitive
reduction. DAG success is isomorphism with nodes matched on skill name;
strict success also compares arguments under the matching.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import networkx as nx
from networkx.algorithms.isomorphism import DiGraphMatcher

from tinyagent_ros.catalog import Catalog
from tinyagent_ros.plan import REF_PATTERN, Plan, whole_ref

#: Matchings tried for strict success before giving up (plans are small; this bounds bad cases).
MAX_MATCHINGS = 10_000


def dependency_edges(plan: Plan, catalog: Catalog) -> set[tuple[int, int]]:
    """Data edges plus resource edges, before reduction (unknown skills hold no resources)."""
    edges: set[tuple[int, int]] = set()
    tasks = list(plan.tasks)
    for j, later in enumerate(tasks):
        edges.update((ref, later.idx) for ref in later.refs)
        later_skill = catalog.get(later.name)
        if later_skill is None:
            continue
        for earlier in tasks[:j]:
            earlier_skill = catalog.get(earlier.name)
            if earlier_skill is not None and earlier_skill.conflicts_with(later_skill):
                edges.add((earlier.idx, later.idx))
    return edges


def plan_dag(plan: Plan, catalog: Catalog) -> nx.DiGraph:
    """The plan DAG (join excluded): nodes are task numbers with ``name`` and ``args``."""
    graph = nx.DiGraph()
    for task in plan.tasks:
        graph.add_node(task.idx, name=task.name, args=task.args)
    graph.add_edges_from(dependency_edges(plan, catalog))
    reduced = nx.transitive_reduction(graph)
    reduced.add_nodes_from(graph.nodes(data=True))
    return reduced


def _name_match(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["name"] == b["name"]


def dag_success(pred: Plan, gold: Plan, catalog: Catalog) -> bool:
    """The paper's metric: the predicted DAG is isomorphic to the gold one, matched on names."""
    g_pred, g_gold = plan_dag(pred, catalog), plan_dag(gold, catalog)
    return nx.is_isomorphic(g_pred, g_gold, node_match=_name_match)


def strict_success(pred: Plan, gold: Plan, catalog: Catalog) -> bool:
    """DAG success with equal arguments under some matching of the two DAGs."""
    g_pred, g_gold = plan_dag(pred, catalog), plan_dag(gold, catalog)
    if len(g_pred) != len(g_gold):  # the matcher maps any graph onto an empty one
        return False
    matcher = DiGraphMatcher(g_pred, g_gold, node_match=_name_match)
    for n, mapping in enumerate(matcher.isomorphisms_iter()):
        if n >= MAX_MATCHINGS:
            break
        if all(
            args_equal(g_pred.nodes[p]["args"], g_gold.nodes[g]["args"], mapping)
            for p, g in mapping.items()
        ):
            return True
    return False


def _normalise_text(text: str, mapping: dict[int, int] | None) -> str:
    if mapping is not None:
        text = REF_PATTERN.sub(
            lambda m: f"${mapping.get(int(m.group(1) or m.group(2)), -1)}", text
        )
    else:
        text = REF_PATTERN.sub(lambda m: f"${m.group(1) or m.group(2)}", text)
    text = text.strip()
    if text.endswith("."):
        text = text[:-1].rstrip()
    return text.casefold()


def value_equal(pred: Any, gold: Any, mapping: dict[int, int]) -> bool:
    """Contract equality of one argument: text case-insensitive, numbers to 1e-6, refs mapped."""
    p_ref, g_ref = whole_ref(pred), whole_ref(gold)
    if p_ref is not None or g_ref is not None:
        return p_ref is not None and g_ref is not None and mapping.get(p_ref) == g_ref
    if isinstance(pred, bool) or isinstance(gold, bool):
        return isinstance(pred, bool) and isinstance(gold, bool) and pred == gold
    if isinstance(pred, int | float) and isinstance(gold, int | float):
        return math.isclose(pred, gold, rel_tol=1e-6, abs_tol=0.0)
    if isinstance(pred, str) and isinstance(gold, str):
        return _normalise_text(pred, mapping) == _normalise_text(gold, None)
    if isinstance(pred, list | tuple) and isinstance(gold, list | tuple):
        return len(pred) == len(gold) and all(
            value_equal(p, g, mapping) for p, g in zip(pred, gold, strict=True)
        )
    return False


def args_equal(pred: tuple[Any, ...], gold: tuple[Any, ...], mapping: dict[int, int]) -> bool:
    """All arguments equal under the node mapping (pred task number -> gold task number)."""
    return len(pred) == len(gold) and all(
        value_equal(p, g, mapping) for p, g in zip(pred, gold, strict=True)
    )


def tool_recall(gold_tools: Iterable[str], selected: Iterable[str]) -> float:
    """|gold tools ∩ selected| / |gold tools| (1.0 when the gold plan uses no tool)."""
    gold = set(gold_tools)
    if not gold:
        return 1.0
    return len(gold & set(selected)) / len(gold)
