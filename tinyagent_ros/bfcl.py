"""The Berkeley Function Calling Leaderboard's non-live AST categories through our planner.

Each case brings its own functions: they become a catalog on the fly
(:mod:`tinyagent_ros.function_tools`), the planner writes a grammar-constrained
plan over all of them (no ToolRAG: the lists are short), and the plan's tasks,
turned back into keyword calls, are scored with BFCL's AST rules as written in
``shared/bfcl/README.md``:

- simple / multiple: exactly one call; parallel / parallel_multiple: the same
  set of calls in any order; irrelevance: no call at all;
- a call matches when the function name is right, every required parameter is
  there, no parameter is unknown to the answer, and each value is among the
  accepted ones (``""`` accepted: the parameter may be left out);
- types as the schema says (an int is accepted for a float); strings compared
  case-insensitively after removing spaces and ``,./-_*^``.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyagent_ros.function_tools import FunctionSchemaError, function_catalog

CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
#: The SkillRelevance threshold of ``bench-bfcl``, chosen on BFCL cases 20 and later of
#: each category, never on the first 20 that docs/bfcl.md reports.
RELEVANCE = 0.3
_STRIP = re.compile(r"[\s,./\-_*^]")


class BFCLError(ValueError):
    """BFCL data that is missing or unreadable."""


@dataclass
class BFCLCase:
    """One question, its functions and (except irrelevance) the accepted calls."""

    id: str
    category: str
    question: str
    functions: list[dict[str, Any]]
    answer: list[dict[str, dict[str, list[Any]]]] | None


@dataclass
class BFCLResult:
    """One scored case."""

    id: str
    category: str
    passed: bool
    reason: str
    calls: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    plan: str = ""
    latency_s: float = 0.0


def _read_lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as err:
                        raise BFCLError(f"{path}:{number}: not JSON ({err})") from None
    except OSError as err:
        raise BFCLError(f"cannot read {path}: {err.strerror}") from None


def load_category(data_dir: Path, category: str) -> list[BFCLCase]:
    """The cases of one category, each with its possible answer."""
    if category not in CATEGORIES:
        raise BFCLError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
    questions = list(_read_lines(data_dir / f"BFCL_v4_{category}.json"))
    answers: dict[str, Any] = {}
    if category != "irrelevance":
        answers = {a["id"]: a["ground_truth"]
                   for a in _read_lines(data_dir / "possible_answer" / f"BFCL_v4_{category}.json")}
    cases = []
    for q in questions:
        turns = q.get("question") or [[]]
        text = "\n".join(m.get("content", "") for m in turns[0] if m.get("role") == "user")
        if category != "irrelevance" and q["id"] not in answers:
            raise BFCLError(f"no possible answer for {q['id']}")
        cases.append(BFCLCase(q["id"], category, text.strip(), q.get("function", []),
                              answers.get(q["id"])))
    return cases


# ---------------------------------------------------------------- the AST checker


def _norm(text: str) -> str:
    return _STRIP.sub("", text).lower()


def _schema_ok(value: Any, kind: str) -> bool:
    """The value has the schema's type (an int passes for a float)."""
    kind = kind.lower()
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "number"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("array", "tuple"):
        return isinstance(value, list | tuple)
    if kind in ("dict", "object"):
        return isinstance(value, dict)
    return True


def _equal(value: Any, accepted: Any) -> bool:
    if isinstance(accepted, str):
        return isinstance(value, str) and _norm(value) == _norm(accepted)
    if isinstance(accepted, bool) or isinstance(value, bool):
        return value is accepted
    if isinstance(accepted, int | float):
        return isinstance(value, int | float) and float(value) == float(accepted)
    if isinstance(accepted, list | tuple):
        return (isinstance(value, list | tuple) and len(value) == len(accepted)
                and all(_equal(v, a) for v, a in zip(value, accepted, strict=True)))
    if isinstance(accepted, dict):
        if not isinstance(value, dict):
            return False
        for key, options in accepted.items():
            opts = options if isinstance(options, list) else [options]
            if key not in value:
                if "" not in opts:
                    return False
            elif not any(_equal(value[key], o) for o in opts if o != ""):
                return False
        return set(value) <= set(accepted)
    return bool(value == accepted)


def check_call(call: dict[str, dict[str, Any]], expected: dict[str, dict[str, list[Any]]],
               functions: list[dict[str, Any]]) -> str:
    """"" when ``call`` matches ``expected``; else the first reason it does not."""
    (name, kwargs), = call.items()
    (want, accepted), = expected.items()
    if name != want:
        return f"called {name}, expected {want}"
    schema = next((f for f in functions if f.get("name") == name), {}).get("parameters", {})
    props = schema.get("properties", {})
    for param in schema.get("required", []):
        if param not in kwargs:
            return f"{name}: required {param!r} missing"
    for param, value in kwargs.items():
        if param not in accepted:
            return f"{name}: unexpected {param!r}"
        kind = str(props.get(param, {}).get("type", "any"))
        if not _schema_ok(value, kind):
            return f"{name}: {param!r} is not of type {kind}"
        if not any(_equal(value, a) for a in accepted[param] if a != ""):
            return f"{name}: {param}={value!r} not among {accepted[param]!r}"
    for param, options in accepted.items():
        if param not in kwargs and "" not in options:
            return f"{name}: {param!r} missing"
    return ""


def score(case: BFCLCase, calls: list[dict[str, dict[str, Any]]]) -> str:
    """"" when the calls pass the case; else why not."""
    if case.answer is None:  # irrelevance
        return "" if not calls else f"made {len(calls)} call(s); none was wanted"
    if case.category in ("simple_python", "multiple"):
        if len(calls) != 1:
            return f"{len(calls)} calls; expected exactly one"
        return check_call(calls[0], case.answer[0], case.functions)
    if len(calls) != len(case.answer):
        return f"{len(calls)} calls; expected {len(case.answer)}"
    if _match_all(calls, case.answer, case.functions):
        return ""
    for expected in case.answer:  # say why: the first expected call that nothing matches
        reasons = [check_call(c, expected, case.functions) for c in calls]
        if all(reasons):
            (want,) = expected
            same = [r for r, c in zip(reasons, calls, strict=True) if want in c]
            return f"no call matches {want}: {same[0] if same else 'never called'}"
    return "the calls do not match the expected set"


def _match_all(calls: list[Any], expected: list[Any], functions: list[Any]) -> bool:
    """Every expected call matched by a distinct call (small sets: depth-first search)."""
    if not expected:
        return True
    first, rest = expected[0], expected[1:]
    for i, call in enumerate(calls):
        if not check_call(call, first, functions) and \
                _match_all(calls[:i] + calls[i + 1:], rest, functions):
            return True
    return False


# ---------------------------------------------------------------- running


def run_case(planner: Any, case: BFCLCase, relevance: float | None = None,
             keep_unstated: bool = False) -> BFCLResult:
    """Plan one case with ``planner`` (a Planner; its catalog is replaced) and score it.

    ``relevance``: a :class:`~tinyagent_ros.toolrag.SkillRelevance` threshold; a
    question no function description reaches it gets an empty plan.
    ``keep_unstated``: keep optional values the question never states in the calls
    (:meth:`~tinyagent_ros.function_tools.FunctionCatalog.calls` leaves them out).
    """
    start = time.perf_counter()
    try:
        tools = function_catalog(case.functions, name="bfcl")
    except FunctionSchemaError as err:
        return BFCLResult(case.id, case.category, False, f"functions: {err}")
    gate = None
    if relevance:
        from tinyagent_ros.toolrag import SkillRelevance

        gate = SkillRelevance(tools.catalog, relevance)
    outcome = planner.for_catalog(tools.catalog, gate).plan(case.question)
    latency = time.perf_counter() - start
    if outcome.plan is None:  # an unusable plan makes no call (as BFCL counts a decode failure)
        passed = case.answer is None
        return BFCLResult(case.id, case.category, passed,
                          "" if passed else f"invalid plan: {outcome.error}",
                          plan=outcome.text, latency_s=latency)
    calls = tools.calls(outcome.plan, None if keep_unstated else case.question)
    reason = score(case, calls)
    return BFCLResult(case.id, case.category, not reason, reason, calls, outcome.text, latency)


def summarize(results: list[BFCLResult]) -> dict[str, Any]:
    """Accuracy per category, the unweighted mean over categories, latency percentiles."""
    by_cat: dict[str, list[BFCLResult]] = {}
    for r in results:
        by_cat.setdefault(r.category, []).append(r)
    accuracy = {c: sum(r.passed for r in rs) / len(rs) for c, rs in by_cat.items()}
    latencies = sorted(r.latency_s for r in results)
    return {
        "cases": len(results),
        "accuracy": accuracy,
        "cases_per_category": {c: len(rs) for c, rs in by_cat.items()},
        "overall": statistics.fmean(accuracy.values()) if accuracy else None,
        "latency_p50_s": statistics.median(latencies) if latencies else None,
        "latency_p95_s": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        if latencies else None,
    }


def run_bfcl(planner: Any, cases: list[BFCLCase],
             progress: Callable[[BFCLResult], None] | None = None,
             relevance: float | None = None, keep_unstated: bool = False) -> list[BFCLResult]:
    """Plan and score every case in order (``relevance``, ``keep_unstated``: see
    :func:`run_case`).
    """
    results = []
    for case in cases:
        result = run_case(planner, case, relevance, keep_unstated)
        results.append(result)
        if progress is not None:
            progress(result)
    return results
