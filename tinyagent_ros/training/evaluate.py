"""Compare the base planner with LoRA adapters on a dataset (grammar on, greedy).

The offered skills are the same for every variant of a case: the gold skills
plus seeded random negatives (as in training), the gold skills only, or the
whole catalog. This isolates the planner from the tool selector.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.dag import dag_success, strict_success
from tinyagent_ros.dataset import load_cases
from tinyagent_ros.training.examples import PairSettings, case_today, offer_skills

EVAL_PAIRS = PairSettings(skills_min=5, skills_max=7, min_negatives=1, p_all_skills=0.0)


def offered_for(case: Any, catalog: Any, mode: str, seed: int) -> list[str]:
    """The skills offered for a case in an evaluation (independent of the variant)."""
    gold = case.gold(catalog).names
    if mode == "all":
        return list(catalog.names)
    if mode == "gold":
        return [n for n in catalog.names if n in set(gold)] or list(catalog.names)
    rng = random.Random(f"{seed}:{case.id}")
    return offer_skills(gold, catalog, rng, EVAL_PAIRS)[0]


def evaluate(dataset: str | Path, variants: Sequence[str | None], limit: int | None = 100,
             base_gguf: str | Path | None = None, skills: str = "offered", seed: int = 1,
             out_file: str | Path | None = None, n_threads: int | None = None,
             log: Callable[[str], Any] | None = print) -> dict[str, Any]:
    """Metrics per variant (None = the base model, else a GGUF adapter path)."""
    from tinyagent_ros.planner import Planner, PlannerSettings

    say = log or (lambda _m: None)
    cases = load_cases(dataset, limit)
    catalogs = {name: load_catalog(name) for name in sorted({c.catalog for c in cases})}
    rows: list[dict[str, Any]] = []
    sink = Path(out_file).open("w", encoding="utf-8") if out_file else None
    report: dict[str, Any] = {"dataset": str(dataset), "cases": len(cases), "skills": skills,
                              "variants": {}}
    try:
        for variant in variants:
            label = "base" if variant is None else str(variant)
            dag = strict = valid = 0
            latency: list[float] = []
            t0 = time.monotonic()
            for cat_name, catalog in catalogs.items():
                planner = Planner(catalog, PlannerSettings(
                    model_path=Path(base_gguf) if base_gguf else None,
                    lora_path=Path(variant) if variant else None, n_threads=n_threads))
                for i, case in enumerate(c for c in cases if c.catalog == cat_name):
                    gold = case.gold(catalog)
                    offered = offered_for(case, catalog, skills, seed)
                    outcome = planner.plan(case.query, today=case_today(case), skills=offered)
                    ok_dag = ok_strict = False
                    if outcome.plan is not None:
                        valid += 1
                        ok_dag = dag_success(outcome.plan, gold, catalog)
                        ok_strict = ok_dag and strict_success(outcome.plan, gold, catalog)
                    dag += ok_dag
                    strict += ok_strict
                    latency.append(outcome.latency_s)
                    row = {"variant": label, "id": case.id, "query": case.query,
                           "skills": offered, "gold": case.plan, "pred": outcome.text,
                           "error": outcome.error, "dag": ok_dag, "strict": ok_strict,
                           "prompt_tokens": outcome.prompt_tokens,
                           "latency_s": round(outcome.latency_s, 3)}
                    rows.append(row)
                    if sink is not None:  # written as it goes: a long run can be watched
                        sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                        sink.flush()
                    if (i + 1) % 10 == 0:
                        say(f"{label}: {i + 1} {cat_name} cases, dag {dag}/{len(latency)}")
                del planner
            n = len(latency) or 1
            latency.sort()
            p50 = round(latency[len(latency) // 2], 3) if latency else None
            report["variants"][label] = {
                "dag_success": round(dag / n, 4), "strict_success": round(strict / n, 4),
                "valid_plans": round(valid / n, 4), "latency_p50_s": p50,
                "seconds": round(time.monotonic() - t0, 1)}
            say(f"{label}: {report['variants'][label]}")
    finally:
        if sink is not None:
            sink.close()
    return report
