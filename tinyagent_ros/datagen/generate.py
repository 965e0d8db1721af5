"""Draw whole cases (intent mix, clauses, words, plan), de-duplicate them, write the splits."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tinyagent_ros.catalog import Catalog, load_catalog
from tinyagent_ros.datagen import dates, mac, robot
from tinyagent_ros.datagen.clause import Call, Clause, Ctx, Intent, Skip, render_plan
from tinyagent_ros.datagen.compose import compose
from tinyagent_ros.datagen.heldout import SPLITS, Bank, Split
from tinyagent_ros.datagen.lexicon import ADDRESS_MAC, ADDRESS_ROBOT
from tinyagent_ros.datagen.unserved import EMPTY_PLAN, unserved_query
from tinyagent_ros.dataset import Case
from tinyagent_ros.plan import parse_plan


@dataclass(frozen=True)
class Grammar:
    """What one catalog's generator draws from."""

    catalog: str
    intents: tuple[Intent, ...]
    address: Bank[str]
    #: How many requests one case holds -> weight.
    counts: dict[int, float]
    max_tasks: int
    asr_p: float
    dated: bool


GRAMMARS: dict[str, Grammar] = {
    "robot": Grammar("robot", robot.INTENTS, ADDRESS_ROBOT,
                     {1: 35, 2: 35, 3: 15, 4: 8, 5: 4, 6: 2, 7: 1}, 18, 0.06, False),
    "mac": Grammar("mac", mac.INTENTS, ADDRESS_MAC,
                   {1: 35, 2: 35, 3: 17, 4: 8, 5: 4, 6: 1}, 16, 0.02, True),
}


@dataclass
class Sample:
    """A generated case plus what it was made of (for the held-out checks and statistics)."""

    case: Case
    intents: list[str]
    templates: list[str] = field(default_factory=list)
    entities: list[tuple[str, str, str]] = field(default_factory=list)


def _snapshot(ctx: Ctx) -> tuple:
    return (ctx.at_place, ctx.at_person, ctx.last_person, set(ctx.opened), ctx.holding,
            dict(ctx.lookups), ctx.last_people, len(ctx.templates), len(ctx.entities),
            ctx.since_mention)


def _restore(ctx: Ctx, snap: tuple) -> None:
    (ctx.at_place, ctx.at_person, ctx.last_person, ctx.opened, ctx.holding, ctx.lookups,
     ctx.last_people, nt, ne, ctx.since_mention) = snap
    del ctx.templates[nt:]
    del ctx.entities[ne:]


def _choose(ctx: Ctx, grammar: Grammar, position: int, k: int, used: list[str]) -> Intent:
    if ctx.holding is not None and ctx.chance(0.8):
        return ctx.choice([i for i in grammar.intents if i.needs_holding])
    pool = [i for i in grammar.intents
            if not i.needs_holding and (i.repeat or i.name not in used)]
    weights = [i.weight * (0.25 if i.name == "dock" and position < k - 1 else 1.0) for i in pool]
    if position == k - 1:  # a picked-up object should go somewhere
        weights = [w * (0.3 if i.name == "pick" else 1.0)
                   for i, w in zip(pool, weights, strict=True)]
    return ctx.rng.choices(pool, weights)[0]


def _clauses(ctx: Ctx, grammar: Grammar) -> list[Clause] | None:
    counts = list(grammar.counts)
    k = ctx.rng.choices(counts, [grammar.counts[c] for c in counts])[0]
    clauses: list[Clause] = []
    texts: set[str] = set()
    for _ in range(k * 6):
        if len(clauses) >= k and ctx.holding is None:
            break
        if len(clauses) >= k + 1:
            break
        ctx.allow_sentence = ctx.chance(0.4 if k == 1 else 0.25)
        intent = _choose(ctx, grammar, len(clauses), k, [c.intent for c in clauses])
        snap = _snapshot(ctx)
        ctx.since_mention += 1  # the builders reset it when they name someone
        try:
            clause = intent.build(ctx)
        except Skip:
            _restore(ctx, snap)
            continue
        if clause.text in texts:
            _restore(ctx, snap)
            continue
        texts.add(clause.text)
        clauses.append(clause)
    return clauses or None


def make_sample(rng: random.Random, grammar: Grammar, catalog: Catalog, split: Split,
                case_id: str) -> Sample | None:
    """One case, or None when the draw went over the task limit."""
    ctx = Ctx(rng, split)
    if grammar.dated:
        ctx.today = dates.draw_today(ctx)
    clauses = _clauses(ctx, grammar)
    if not clauses:
        return None
    calls: list[Call] = [c for clause in clauses for c in clause.calls]
    if len(calls) > grammar.max_tasks:
        return None
    plan = render_plan(calls)
    parse_plan(plan, catalog)  # a generator bug if this raises
    query = compose(ctx, clauses, grammar.address, grammar.asr_p)
    case = Case(id=case_id, catalog=grammar.catalog, query=query, plan=plan, today=ctx.today)
    return Sample(case, [c.intent for c in clauses], ctx.templates, ctx.entities)


T = TypeVar("T")

_NORM = re.compile(r"[^a-z0-9]+")


def query_key(query: str) -> str:
    """What counts as the same query: case, punctuation and spacing ignored."""
    return _NORM.sub(" ", query.lower()).strip()


def _distinct(draw: Callable[[int], T | None], query: Callable[[T], str], n: int,
              exclude: set[str] | None, what: str,
              progress: Callable[[int], None] | None = None) -> list[T]:
    """N drawn items whose queries differ (and are not in ``exclude``).

    ``draw(i)`` makes the i-th item, or None when a draw failed.
    """
    seen = set(exclude or ())
    out: list[T] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise RuntimeError(f"could only draw {len(out)} distinct {what} of {n}")
        item = draw(len(out) + 1)
        if item is None:
            continue
        key = query_key(query(item))
        if key in seen:
            continue
        seen.add(key)
        out.append(item)
        if progress is not None:
            progress(1)
    return out


def generate_samples(catalog: str, seed: int, n: int, split: Split,
                     exclude: set[str] | None = None,
                     progress: Callable[[int], None] | None = None) -> list[Sample]:
    """N distinct samples for a split, deterministic for (catalog, seed, split)."""
    if catalog not in GRAMMARS:
        raise ValueError(f"unknown catalog {catalog!r}; use one of {', '.join(GRAMMARS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    grammar = GRAMMARS[catalog]
    cat = load_catalog(catalog)
    rng = random.Random(f"tinyagent-datagen|{catalog}|{seed}|{split}")
    return _distinct(
        lambda i: make_sample(rng, grammar, cat, split, f"syn-{catalog}-{split}-{i:06d}"),
        lambda sample: sample.case.query, n, exclude, f"{split} cases", progress)


def generate_cases(catalog: str, seed: int, n: int, split: str) -> list[Case]:
    """N distinct generated cases of a catalog's split, deterministic for the seed."""
    return [s.case for s in generate_samples(catalog, seed, n, split)]  # type: ignore[arg-type]


def case_json(case: Case) -> str:
    """One JSONL line in the contract's format (section 5)."""
    obj: dict[str, str] = {"id": case.id, "catalog": case.catalog, "query": case.query,
                           "plan": case.plan}
    if case.today is not None:
        obj["today"] = case.today.isoformat()
    return json.dumps(obj, ensure_ascii=False)


def generate_unserved(catalog: str, seed: int, n: int, split: Split,
                      exclude: set[str] | None = None) -> list[Case]:
    """N distinct requests no skill serves (gold: the empty plan), from their own random stream.

    The stream is separate from the in-scope cases', so adding these leaves every
    other case of a split as it was.
    """
    if catalog not in GRAMMARS:
        raise ValueError(f"unknown catalog {catalog!r}; use one of {', '.join(GRAMMARS)}")
    rng = random.Random(f"tinyagent-datagen|{catalog}|{seed}|{split}|unserved")
    return _distinct(
        lambda i: Case(id=f"syn-{catalog}-{split}-unserved-{i:05d}", catalog=catalog,
                       query=unserved_query(catalog, rng, split), plan=EMPTY_PLAN),
        lambda case: case.query, n, exclude, f"unserved {split} requests")


def write_splits(catalog: str, seed: int, train: int, val: int, test: int, out_dir: str | Path,
                 progress: Callable[[int], None] | None = None,
                 unserved: float = 0.0) -> dict[str, Path]:
    """Write <out>/<catalog>_train.jsonl, _val.jsonl and _test.jsonl; no query in two of them.

    ``unserved``: requests no skill serves, as a share of each split's size,
    written after its in-scope cases.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    paths: dict[str, Path] = {}
    for split, n in (("train", train), ("val", val), ("test", test)):
        samples = generate_samples(catalog, seed, n, split, exclude=seen, progress=progress)
        cases = [s.case for s in samples]
        seen.update(query_key(c.query) for c in cases)
        extra = generate_unserved(catalog, seed, round(unserved * n), split, exclude=seen)
        seen.update(query_key(c.query) for c in extra)
        path = out / f"{catalog}_{split}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for case in cases + extra:
                handle.write(case_json(case) + "\n")
        paths[split] = path
    return paths
