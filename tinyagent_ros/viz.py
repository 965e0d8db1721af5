"""Pictures people would rather look at than read: the plan DAG and the execution timeline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from tinyagent_ros.catalog import Catalog
from tinyagent_ros.dag import plan_dag
from tinyagent_ros.plan import Plan, render_value

if TYPE_CHECKING:
    from tinyagent_ros.executor import ExecutionResult

_OUTCOME_COLOURS = {
    "succeeded": "#4caf50",
    "failed": "#e53935",
    "timed_out": "#fb8c00",
    "skipped": "#9e9e9e",
    "cancelled": "#8e24aa",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(name: str, args: tuple, width: int = 22) -> str:
    text = ", ".join(render_value(a) for a in args)
    if len(text) > width:
        text = text[: width - 3] + "..."
    return f"{name}\n({text})"


def draw_dag(plan: Plan, catalog: Catalog, path: str | Path) -> Path:
    """Draw the plan DAG left to right by dependency depth; data edges solid, resource dashed."""
    plt = _pyplot()
    graph = plan_dag(plan, catalog)
    data_edges = {(r, t.idx) for t in plan.tasks for r in t.refs}
    layers = list(nx.topological_generations(graph)) if len(graph) else []
    pos = {}
    for x, layer in enumerate(layers):
        for y, node in enumerate(sorted(layer)):
            pos[node] = (x, -(y - (len(layer) - 1) / 2))
    join_x = len(layers)
    pos["join"] = (join_x, 0.0)
    fig_w = max(4.0, 2.6 * (join_x + 1))
    fig_h = max(2.5, 1.3 * max((len(layer) for layer in layers), default=1))
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    sinks = [n for n in graph if graph.out_degree(n) == 0]
    for edges, style in (
        ([e for e in graph.edges if e in data_edges], "solid"),
        ([e for e in graph.edges if e not in data_edges], "dashed"),
        ([(n, "join") for n in sinks], "dotted"),
    ):
        for a, b in edges:
            ax.annotate(
                "", xy=pos[b], xytext=pos[a],
                arrowprops={"arrowstyle": "-|>", "linestyle": style, "color": "#555",
                            "shrinkA": 38, "shrinkB": 38},
            )
    for node, (x, y) in pos.items():
        if node == "join":
            text, colour = f"{plan.join.idx}. join()", "#fff3e0"
        else:
            data = graph.nodes[node]
            text, colour = f"{node}. {_label(data['name'], data['args'])}", "#e3f2fd"
        ax.text(x, y, text, ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round,pad=0.4", "fc": colour, "ec": "#1565c0"})
    ax.set_xlim(-0.7, join_x + 0.7)
    ys = [y for _, y in pos.values()]
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
    ax.set_title("plan DAG  (solid: data  dashed: resource)", fontsize=9)
    out = Path(path)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out


def draw_timeline(result: ExecutionResult, path: str | Path) -> Path:
    """Draw a Gantt chart of an execution: one bar per task, coloured by outcome."""
    plt = _pyplot()
    steps = sorted(result.results.values(), key=lambda s: s.idx)
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(steps), 2) + 1.2))
    for row, step in enumerate(steps):
        colour = _OUTCOME_COLOURS.get(step.outcome.value, "#607d8b")
        if step.started is not None:
            end = step.ended if step.ended is not None else result.makespan_s
            ax.barh(row, max(end - step.started, 1e-3), left=step.started, color=colour)
        else:
            ax.text(0, row, f"  {step.outcome.value}", va="center", fontsize=8, color=colour)
    ax.set_yticks(range(len(steps)), [f"{s.idx}. {s.name}" for s in steps], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since start")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in _OUTCOME_COLOURS.values()]
    ax.legend(handles, list(_OUTCOME_COLOURS), fontsize=7, loc="lower right")
    ax.set_title(f"execution timeline (makespan {result.makespan_s:.2f} s)", fontsize=9)
    out = Path(path)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out
