"""Benchmark harness: tool selection (and, given a planner, planning) over a dataset.

:func:`run_bench` returns the metrics of contract section 6 (``cases``,
``dag_success``, ``strict_success``, ``tool_recall``, ``avg_tools``,
``prompt_tokens_mean``, ``latency_p50_s``, ``latency_p95_s``) plus a few
extra keys. Without a planner (``--tools-only``) the planning keys are None,
the latencies are those of tool selection, and prompt tokens are those of the
prompt the planner WOULD get, counted with the planner model's own tokenizer
(llama.cpp loading only the GGUF vocabulary) after its chat template.
With a planner, every case is planned and compared with its gold plan
(:mod:`tinyagent_ros.dag`); a plan that fails to parse counts as a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from tinyagent_ros.catalog import Catalog, load_catalog
from tinyagent_ros.dag import dag_success, strict_success, tool_recall
from tinyagent_ros.dataset import Case, load_cases
from tinyagent_ros.plan import Plan, PlanError
from tinyagent_ros.prompt import Prompt, build_prompt

#: The keys every benchmark result has (contract section 6).
CONTRACT_KEYS = ("cases", "dag_success", "strict_success", "tool_recall", "avg_tools",
                 "prompt_tokens_mean", "latency_p50_s", "latency_p95_s")


class BenchError(RuntimeError):
    """The benchmark cannot run (bad dataset, missing model); one line."""


# =========================================================================== prompt tokens


class PromptTokenCounter:
    """Counts a prompt's tokens as the planner sees them: its chat template, its tokenizer.

    Loads only the vocabulary of the planner GGUF (``vocab_only=True``: about
    a second, no weights), so tool-only benchmarks need no LLM run.
    """

    def __init__(self, model_path: str | Path | None = None) -> None:
        from tinyagent_ros.planner import (
            PlannerError,
            chat_formatter,
            default_model_path,
            quiet_llama_logs,
        )

        try:
            from llama_cpp import Llama
        except ImportError as err:
            raise BenchError(f"llama-cpp-python is not installed ({err})") from None
        try:
            path = Path(model_path) if model_path else default_model_path()
        except PlannerError as err:
            raise BenchError(str(err)) from None
        if not path.is_file():
            raise BenchError(f"planner model not found: {path}")
        self.model_path = path
        quiet_llama_logs()
        self.llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
        self._chat = chat_formatter(self.llm)

    def render(self, prompt: Prompt) -> str:
        """The prompt through the model's chat template, ending where the plan begins."""
        return self._chat(prompt.messages())

    def __call__(self, prompt: Prompt) -> int:
        """Token count of the rendered prompt."""
        text = self.render(prompt)
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def default_counter(warn: Callable[[str], Any] | None = None) -> PromptTokenCounter | None:
    """A :class:`PromptTokenCounter`, or None (with a warning) when llama.cpp or the model is
    missing.
    """
    try:
        return PromptTokenCounter()
    except BenchError as err:
        if warn is not None:
            warn(f"prompt tokens not counted: {err}")
        return None


# =========================================================================== helpers


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


class _PerCatalog:
    """Resolves a selector/planner/retriever given as one object, a mapping or a factory."""

    def __init__(self, spec: Any, method: str) -> None:
        self.spec = spec
        self.method = method
        self.cache: dict[str, Any] = {}

    def get(self, catalog: str) -> Any:
        if self.spec is None or hasattr(self.spec, self.method):
            return self.spec
        if isinstance(self.spec, Mapping):
            if catalog not in self.spec:
                raise BenchError(f"no {self.method} for catalog {catalog!r}")
            return self.spec[catalog]
        if callable(self.spec):
            if catalog not in self.cache:
                self.cache[catalog] = self.spec(catalog)
            return self.cache[catalog]
        raise BenchError(f"not a {self.method} provider: {self.spec!r}")


def _today(case: Case, catalog: Catalog) -> dt.date | None:
    """The date the planner is told (as :meth:`Planner.prompt_for` does)."""
    if case.today is None and catalog.name == "mac":
        return dt.date.today()
    return case.today


def _bar(total: int, desc: str, progress: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="case", disable=not progress, leave=False,
                file=sys.stderr, dynamic_ncols=True)


# =========================================================================== the benchmark


def run_bench(
    cases: Sequence[Case],
    selector: Any = None,
    planner: Any = None,
    *,
    retriever: Any = None,
    counter: Callable[[Prompt], int] | str | None = "auto",
    progress: bool = False,
    desc: str = "bench",
    warn: Callable[[str], Any] | None = None,
    on_case: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Benchmark tool selection and, when ``planner`` is given, planning.

    ``selector``: a ToolSelector (``.select(query)``), a mapping catalog name ->
    selector, or a factory ``f(catalog_name)``; None offers every skill.
    ``planner``: None (tools only) or an object (or mapping/factory) with
    ``.plan(query, today=..., skills=...) -> PlanOutcome``; its own retriever
    and tokenizer then make the prompt and count its tokens.
    ``retriever`` (tools only): adds retrieved examples to the counted prompt.
    ``counter``: prompt -> token count; ``"auto"`` loads the planner tokenizer
    (None when unavailable), None skips counting. ``on_case`` receives one
    record per planned case (query, gold, plan, verdict).
    """
    if not cases:
        raise BenchError("no cases to benchmark")
    if counter == "auto":
        counter = default_counter(warn) if planner is None else None
    selectors = _PerCatalog(selector, "select")
    planners = _PerCatalog(planner, "plan")
    retrievers = _PerCatalog(retriever, "retrieve")
    catalogs: dict[str, Catalog] = {}
    recalls: list[float] = []
    n_tools: list[int] = []
    all_gold: list[bool] = []
    select_s: list[float] = []
    total_s: list[float] = []
    first_s: list[float] = []
    tokens: list[int] = []
    dag_ok: list[bool] = []
    strict_ok: list[bool] = []
    parse_failures = 0
    loops = 0
    verdicts: Counter[str] = Counter()
    #: Commands declined without the model (no skill fits), by whether a skill serves them.
    declined: Counter[bool] = Counter()
    unserved = 0
    with _bar(len(cases), desc, progress) as bar:
        for case in cases:
            catalog = catalogs.setdefault(case.catalog, load_catalog(case.catalog))
            try:
                gold = case.gold(catalog)
            except PlanError as err:
                raise BenchError(f"case {case.id}: gold plan does not validate: {err}") from None
            sel = selectors.get(case.catalog)
            t0 = time.perf_counter()
            if sel is None:
                chosen = list(catalog.names)
            else:
                picked = set(sel.select(case.query))
                chosen = [n for n in catalog.names if n in picked] or list(catalog.names)
            t_sel = time.perf_counter() - t0
            select_s.append(t_sel)
            unserved += not gold.names
            if gold.names:  # a request nothing serves has no tool to recall
                recall = tool_recall(gold.names, chosen)
                recalls.append(recall)
                all_gold.append(recall == 1.0)
                n_tools.append(len(chosen))
            today = _today(case, catalog)
            pl = planners.get(case.catalog)
            if pl is None:
                ret = retrievers.get(case.catalog)
                examples = ret.retrieve(case.query, chosen) if ret is not None else []
                total_s.append(time.perf_counter() - t0)
                if counter is not None:
                    prompt = build_prompt(catalog, case.query, chosen, examples, today)
                    tokens.append(int(counter(prompt)))  # type: ignore[operator]
            else:
                outcome = pl.plan(case.query, today=today, skills=chosen)
                total_s.append(t_sel + outcome.latency_s)
                if outcome.first_task_s is not None:
                    first_s.append(t_sel + outcome.first_task_s)
                tokens.append(int(outcome.prompt_tokens))
                if outcome.plan is None:
                    parse_failures += 1
                loops += outcome.loop_error is not None
                verdict = classify(outcome.plan, gold, catalog)
                verdicts[verdict] += 1
                declined[bool(gold.names)] += outcome.prompt.declines
                dag_ok.append(verdict in ("correct", "wrong_arguments"))
                strict_ok.append(verdict == "correct")
                if on_case is not None:
                    on_case({"id": case.id, "query": case.query, "gold": case.plan,
                             "plan": outcome.text, "error": outcome.error, "verdict": verdict,
                             "skills": chosen, "latency_s": t_sel + outcome.latency_s,
                             "loop_error": outcome.loop_error})
            bar.update(1)
    planned = planner is not None
    return {
        "cases": len(cases),
        "dag_success": _mean(dag_ok) if planned else None,
        "strict_success": _mean(strict_ok) if planned else None,
        "tool_recall": _mean(recalls),
        "avg_tools": _mean(n_tools),
        "prompt_tokens_mean": _mean(tokens),
        "latency_p50_s": _percentile(total_s, 50),
        "latency_p95_s": _percentile(total_s, 95),
        # extras
        "all_gold_selected": _mean(all_gold),
        "select_latency_p50_s": _percentile(select_s, 50),
        "select_latency_p95_s": _percentile(select_s, 95),
        "first_task_p50_s": _percentile(first_s, 50) if planned else None,
        "parse_failures": parse_failures if planned else None,
        # plans cut for looping and written again with every skill allowed
        "loop_retries": loops if planned else None,
        "verdicts": dict(verdicts) if planned else None,
        "unserved_cases": unserved,
        "declined_served": declined[True] if planned else None,
        "declined_unserved": declined[False] if planned else None,
    }


#: How a plan compares with the gold plan, from worst to best.
VERDICTS = ("invalid", "wrong_skills", "wrong_dependencies", "wrong_arguments", "correct")


def classify(plan: Plan | None, gold: Plan, catalog: Catalog) -> str:
    """Where a plan went wrong: it does not validate; its skills differ from the gold
    plan's (as a multiset); same skills but another DAG; same DAG but other arguments.
    """
    if plan is None:
        return "invalid"
    if strict_success(plan, gold, catalog):
        return "correct"
    if dag_success(plan, gold, catalog):
        return "wrong_arguments"
    if sorted(plan.names) != sorted(gold.names):
        return "wrong_skills"
    return "wrong_dependencies"


def run_tool_bench(
    cases: Sequence[Case],
    selector: Any = None,
    *,
    retriever: Any = None,
    counter: Callable[[Prompt], int] | str | None = "auto",
    progress: bool = False,
    desc: str = "tools",
    warn: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Tool selection only (``bench --tools-only``): :func:`run_bench` without a planner."""
    return run_bench(cases, selector, None, retriever=retriever, counter=counter,
                     progress=progress, desc=desc, warn=warn)


# =========================================================================== settings and table


def make_selector(kind: str, catalog: str, k: int = 5, threshold: float | None = None) -> Any:
    """``all``, ``topk`` (EmbeddingTopK with ``k``) or ``classifier`` for a catalog."""
    from tinyagent_ros.toolrag import AllTools, EmbeddingTopK, ToolClassifier

    if kind == "all":
        return AllTools(catalog)
    if kind == "topk":
        return EmbeddingTopK(catalog, k)
    if kind == "classifier":
        return ToolClassifier.load(catalog, threshold=threshold)
    raise BenchError(f"unknown selector {kind!r}; use all, topk or classifier")


def compare_selectors(
    cases: Sequence[Case],
    ks: Sequence[int] = (3, 4, 5, 6),
    *,
    counter: Callable[[Prompt], int] | str | None = "auto",
    with_examples: bool = False,
    progress: bool = False,
    warn: Callable[[str], Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Tool-only results for every skill, EmbeddingTopK for each k, and the classifier."""
    from tinyagent_ros.retrieval import ExampleRetriever

    if counter == "auto":
        counter = default_counter(warn)
    retriever = (lambda name: ExampleRetriever.load(name)) if with_examples else None
    settings: list[tuple[str, Any]] = [("all skills", lambda name: make_selector("all", name))]
    for k in ks:
        settings.append((f"EmbeddingTopK k={k}", lambda name, k=k: make_selector("topk", name, k)))
    settings.append(("ToolRAG classifier", lambda name: make_selector("classifier", name)))
    return {label: run_tool_bench(cases, factory, retriever=retriever, counter=counter,
                                  progress=progress, desc=label)
            for label, factory in settings}


def _fmt(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(results: Mapping[str, Mapping[str, Any]], title: str = "setting") -> str:
    """A Markdown table of several results (rows: settings) with the contract metrics."""
    columns = [("cases", "cases", 0), ("tool_recall", "tool recall", 4),
               ("all_gold_selected", "all gold tools", 4), ("avg_tools", "avg tools", 2),
               ("prompt_tokens_mean", "prompt tokens", 0),
               ("select_latency_p50_s", "select p50 ms", 1),
               ("select_latency_p95_s", "select p95 ms", 1),
               ("dag_success", "DAG success", 3), ("strict_success", "strict success", 3),
               ("latency_p50_s", "latency p50 s", 2), ("latency_p95_s", "latency p95 s", 2),
               ("first_task_p50_s", "first task p50 s", 2),
               ("declined_served", "declined (a skill serves)", 0),
               ("declined_unserved", "declined (none serves)", 0)]
    rows = list(results.items())
    keep = [c for c in columns if any(r.get(c[0]) is not None for _, r in rows)
            and (c[0] != "declined_served" or any(r.get(c[0]) for _, r in rows))
            and (c[0] != "declined_unserved" or any(r.get("unserved_cases") for _, r in rows))]
    planned = any(r.get("dag_success") is not None for _, r in rows)
    if not planned:  # tool-only: latency is the selection latency, shown in ms already
        keep = [c for c in keep if not c[0].startswith("latency_")]
    head = "| " + " | ".join([title] + [c[1] for c in keep]) + " |"
    rule = "|" + "|".join(["---"] + ["---:"] * len(keep)) + "|"
    lines = [head, rule]
    for label, r in rows:
        cells = []
        for key, _, digits in keep:
            value = r.get(key)
            if key.startswith("select_latency") and value is not None:
                value = value * 1000.0
            cells.append(_fmt(value, digits))
        lines.append("| " + " | ".join([label] + cells) + " |")
    return "\n".join(lines)


# =========================================================================== entry point


def bench_main(
    dataset: str | Path,
    tools_only: bool = True,
    limit: int | None = None,
    as_json: bool = False,
    *,
    selector: str = "classifier",
    k: int = 5,
    threshold: float | None = None,
    planner_factory: Callable[[str, Any], Any] | None = None,
    progress: bool = True,
    echo: Callable[[str], Any] = click.echo,
    cases_out: str | Path | None = None,
) -> dict[str, Any]:
    """Load a dataset, run the benchmark, print a table or (``as_json``) one JSON line.

    ``cases_out``: a JSONL file for one record per planned case (its verdict among
    :data:`VERDICTS`), to see where plans go wrong.

    ``selector``: ``classifier`` (ToolRAG), ``topk`` (EmbeddingTopK with ``k``)
    or ``all``. Planning needs ``planner_factory(catalog_name, selector) ->
    planner`` (the planner brings its own example retriever); ``tools_only`` skips
    it. Raises :class:`BenchError`.
    """
    from tinyagent_ros.dataset import DatasetError
    from tinyagent_ros.toolrag import ToolRAGError

    try:
        cases = load_cases(dataset, limit)
    except DatasetError as err:
        raise BenchError(str(err)) from None
    if not cases:
        raise BenchError(f"{dataset}: no cases")

    def warn(msg: str) -> None:
        click.echo(f"warning: {msg}", err=True)

    try:
        selectors = {name: make_selector(selector, name, k, threshold)
                     for name in sorted({c.catalog for c in cases})}
    except ToolRAGError as err:
        raise BenchError(str(err)) from None
    planners = None
    if not tools_only:
        if planner_factory is None:
            raise BenchError("planning needs a planner; use --tools-only for tool selection")
        planners = {name: planner_factory(name, selectors[name]) for name in selectors}
    records: list[dict[str, Any]] = []
    result = run_bench(cases, selectors, planners, progress=progress,
                       desc=Path(dataset).name, warn=warn, on_case=records.append)
    if cases_out is not None:
        Path(cases_out).write_text("".join(json.dumps(r) + "\n" for r in records),
                                   encoding="utf-8")
    result["selector"] = selector if selector != "topk" else f"topk{k}"
    if as_json:
        echo(json.dumps(result))
    else:
        echo(markdown_table({f"{Path(dataset).name} ({result['selector']})": result}))
        if result["verdicts"]:
            echo("verdicts: " + ", ".join(f"{v} {result['verdicts'].get(v, 0)}"
                                          for v in VERDICTS))
    return result


@click.command("toolrag-compare")
@click.option("--dataset", "datasets", multiple=True, required=True,
              type=click.Path(dir_okay=False, exists=True))
@click.option("--limit", type=click.IntRange(1), default=None)
@click.option("--k", "ks", multiple=True, type=click.IntRange(1), default=(3, 4, 5, 6),
              show_default=True)
@click.option("--examples/--no-examples", default=False, show_default=True,
              help="Count the retrieved in-context examples in the prompt.")
@click.option("--json", "as_json", is_flag=True)
def compare_cli(datasets: tuple[str, ...], limit: int | None, ks: tuple[int, ...],
                examples: bool, as_json: bool) -> None:
    """Tool-only comparison: all skills, EmbeddingTopK (each k), ToolRAG classifier."""
    out: dict[str, Any] = {}
    for path in datasets:
        cases = load_cases(path, limit)
        res = compare_selectors(cases, ks, with_examples=examples, progress=True,
                                warn=lambda m: click.echo(f"warning: {m}", err=True))
        out[path] = res
        if not as_json:
            click.echo(f"\n{path} ({len(cases)} cases)\n")
            click.echo(markdown_table(res))
    if as_json:
        click.echo(json.dumps(out))


if __name__ == "__main__":  # python -m tinyagent_ros.bench --dataset FILE ...
    compare_cli()
