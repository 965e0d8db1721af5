"""Hard examples: the training commands the current planner gets wrong.

More steps on random training cases stopped helping once the adapter got
nearly all of them right (loss 0.0007, session 12): almost every gradient came
from a plan it already wrote. Planning part of the training split with the
shipped planner (``tinyagent bench --out CASES``) finds the ones it misses;
training on those, mixed with as many it gets right so that nothing is
forgotten, spends every step on a real mistake.

The same verdict file also holds the plans the planner wrote. A wrong but
complete plan beside the gold one is a preference pair (``rejected_plans``):
preference training (DPO, :mod:`tinyagent_ros.training.lora`) pushes the
model away from its own mistake instead of only toward the gold plan.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyagent_ros.datagen.generate import case_json
from tinyagent_ros.dataset import Case, load_cases, read_jsonl
from tinyagent_ros.plan import END_OF_PLAN
from tinyagent_ros.training.examples import TrainingDataError

#: Verdicts of plans that parsed and ran to ``join()`` but are not the gold plan.
WRONG_PLANS = ("wrong_skills", "wrong_arguments", "wrong_dependencies")


@dataclass(frozen=True)
class HardExamples:
    """The mix to train on, and what it was drawn from."""

    cases: list[Case]
    missed: int
    passed: int
    planned: int
    verdicts: dict[str, int]


def _case_lines(cases_file: str | Path, *fields: str) -> Iterator[tuple[Any, ...]]:
    """These fields of each per-case line ``tinyagent bench --out`` writes."""
    for n, row in read_jsonl(cases_file):
        try:
            yield tuple(row[name] for name in fields)
        except (KeyError, TypeError):
            raise TrainingDataError(
                f"{cases_file}:{n}: not a case line of tinyagent bench --out "
                f"(needs {', '.join(fields[:-1])} and {fields[-1]})") from None


def read_verdicts(cases_file: str | Path) -> dict[str, str]:
    """Case id -> verdict, from the per-case lines ``tinyagent bench --out`` writes."""
    return {str(case_id): str(verdict)
            for case_id, verdict in _case_lines(cases_file, "id", "verdict")}


def rejected_plans(cases_file: str | Path) -> dict[str, str]:
    """Case id -> the plan the planner wrote, for its complete but wrong plans.

    Invalid plans are left out: their text stops where the parser gave up, so it
    is not something the model would end there.
    """
    rejected = {str(case_id): plan
                for case_id, verdict, plan in _case_lines(cases_file, "id", "verdict", "plan")
                if verdict in WRONG_PLANS and isinstance(plan, str)
                and plan.endswith(END_OF_PLAN)}
    if not rejected:
        raise TrainingDataError(f"{cases_file}: no complete wrong plan to learn from")
    return rejected


def hard_examples(cases_file: str | Path, train_file: str | Path, passed_ratio: float = 1.0,
                  seed: int = 0) -> HardExamples:
    """The training cases the planner missed, plus ``passed_ratio`` times as many it got right.

    Both kinds come from the cases that were planned, so the mix stays within
    the slice of the training split that was looked at; the order is shuffled
    with ``seed``.
    """
    if passed_ratio < 0:
        raise TrainingDataError(f"passed ratio must be >= 0, got {passed_ratio}")
    verdicts = read_verdicts(cases_file)
    train = {case.id: case for case in load_cases(train_file)}
    unknown = sorted(set(verdicts) - set(train))
    if unknown:
        raise TrainingDataError(
            f"{cases_file}: {len(unknown)} case(s) not in {train_file}, e.g. {unknown[0]!r}")
    missed = [train[i] for i, verdict in verdicts.items() if verdict != "correct"]
    passed = [train[i] for i, verdict in verdicts.items() if verdict == "correct"]
    if not missed:
        raise TrainingDataError(f"{cases_file}: the planner got every case right; nothing to learn")
    rng = random.Random(seed)
    kept = rng.sample(passed, min(len(passed), round(len(missed) * passed_ratio)))
    mix = missed + kept
    rng.shuffle(mix)
    return HardExamples(cases=mix, missed=len(missed), passed=len(kept), planned=len(verdicts),
                        verdicts=dict(Counter(verdicts.values())))


def write_cases(cases: list[Case], path: str | Path) -> None:
    """Write cases as the JSON Lines the training reads."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for case in cases:
            out.write(case_json(case) + "\n")
