"""The synthetic data generator: determinism, valid plans, held-out test split, coverage, CLI."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter

import pytest
from click.testing import CliRunner

from tinyagent_ros import dataset
from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.datagen import generate_cases, heldout, unserved, write_splits
from tinyagent_ros.datagen import numbers as num
from tinyagent_ros.datagen.added import ADDED
from tinyagent_ros.datagen.clause import Ctx
from tinyagent_ros.datagen.cli import data
from tinyagent_ros.datagen.dates import clock, day, when
from tinyagent_ros.datagen.generate import generate_samples, generate_unserved, query_key
from tinyagent_ros.datagen.heldout import REGISTRY, Bank
from tinyagent_ros.datagen.unserved import EMPTY_PLAN
from tinyagent_ros.plan import parse_plan

CATALOGS = ("robot", "mac")
N = 250


@functools.cache
def samples(catalog: str, split: str, seed: int = 0, n: int = N) -> list:
    return generate_samples(catalog, seed, n, split)  # type: ignore[arg-type]


def skill_names(plan: str) -> set[str]:
    return {line.split(". ", 1)[1].split("(", 1)[0] for line in plan.splitlines()[:-1]}


@pytest.mark.parametrize("catalog", CATALOGS)
def test_same_seed_same_cases(catalog: str) -> None:
    a = generate_cases(catalog, 7, 60, "train")
    b = generate_cases(catalog, 7, 60, "train")
    c = generate_cases(catalog, 8, 60, "train")
    assert a == b
    assert [x.query for x in a] != [x.query for x in c]


def test_same_cases_under_another_hash_seed() -> None:
    code = ("from tinyagent_ros.datagen import generate_cases;"
            "print([c.query for c in generate_cases('mac', 3, 30, 'test')])")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.strip()
    assert out == str([c.query for c in generate_cases("mac", 3, 30, "test")])


@pytest.mark.parametrize("catalog", CATALOGS)
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_every_plan_is_valid_and_cases_are_clean(catalog: str, split: str, monkeypatch) -> None:
    cat = load_catalog(catalog)
    cases = [s.case for s in samples(catalog, split)]
    for case in cases:
        plan = parse_plan(case.plan, cat)
        assert plan.tasks, case
        assert case.id.startswith(f"syn-{catalog}-{split}-")
        assert case.query == case.query.strip() and case.query
        assert (case.today is not None) == (catalog == "mac")
    # check_cases reloads the catalog for every case; cache it to keep this test fast.
    monkeypatch.setattr(dataset, "load_catalog", functools.lru_cache(maxsize=None)(load_catalog))
    assert dataset.check_cases(cases) == []
    assert len({query_key(c.query) for c in cases}) == len(cases)
    assert len({c.id for c in cases}) == len(cases)


@pytest.mark.parametrize("catalog", CATALOGS)
def test_test_split_holds_out_templates_and_entities(catalog: str) -> None:
    train = samples(catalog, "train") + samples(catalog, "val")
    test = samples(catalog, "test")
    train_templates = {t for s in train for t in s.templates}
    train_entities = {(b, k) for s in train for b, k, _ in s.entities}
    for s in test:
        assert s.templates, s.case.query
        assert not set(s.templates) & train_templates, s.case.query
        assert all(tier in ("test", "shared") for _, _, tier in s.entities), s.case.query
        held = {(b, k) for b, k, tier in s.entities if tier == "test"}
        assert not held & train_entities, s.case.query
    assert all(tier in ("train", "shared") for s in train for _, _, tier in s.entities)
    # And in the words themselves: no held-out entity of this catalog appears in a train query.
    train_text = "\n".join(s.case.query.lower() for s in train)
    for bank in REGISTRY.values():
        if bank.kind != "entity" or not bank.name.startswith(f"{catalog}."):
            continue
        for item in bank.held_out():
            pattern = r"(?<!\w)" + re.escape(item.key.lower()) + r"(?!\w)"
            assert not re.search(pattern, train_text), (bank.name, item.key)


def test_every_bank_holds_out_a_part() -> None:
    for bank in REGISTRY.values():
        tiers = Counter(it.tier for it in bank.items)
        assert tiers["test"] + tiers["shared"] >= 1, bank.name
        assert tiers["train"] + tiers["shared"] >= 1, bank.name
        if not tiers["shared"]:
            share = tiers["test"] / len(bank.items)
            assert 0.04 <= share <= 0.5, (bank.name, share)
        train_keys = {it.key for it in bank.pool("train")}
        test_keys = {it.key for it in bank.pool("test")}
        assert {it.key for it in bank.items if it.tier == "shared"} == train_keys & test_keys


def test_added_phrasings_join_training_and_move_no_item(monkeypatch) -> None:
    values = [f"say thing {i}" for i in range(20)]
    before = Bank("test.added.probe", values, kind="template")
    del REGISTRY["test.added.probe"]
    monkeypatch.setitem(heldout.ADDED, "test.added.probe", ("a new way", "another way"))
    after = Bank("test.added.probe", values, kind="template")
    del REGISTRY["test.added.probe"]
    tiers = [(it.key, it.tier) for it in after.items]
    assert tiers[:20] == [(it.key, it.tier) for it in before.items]
    assert tiers[20:] == [("a new way", "train"), ("another way", "train")]
    assert after.pool("test") == before.pool("test")
    monkeypatch.setitem(heldout.ADDED, "test.added.probe", ("say thing 3",))
    with pytest.raises(ValueError, match="duplicate keys"):
        Bank("test.added.probe", values, kind="template")


def test_added_phrasings_fit_their_banks() -> None:
    """Each added template names a real bank and fills the slots one of its own items fills."""

    def slots(value: str | tuple) -> tuple[str, ...]:
        text = value if isinstance(value, str) else value[0]
        return tuple(sorted(re.findall(r"\{(\w+)\}", text)))

    for name, added in ADDED.items():
        assert name in REGISTRY, name
        bank = REGISTRY[name]
        assert bank.kind == "template", name  # entities are held out by family; none added
        own = [it.value for it in bank.items[: len(bank.items) - len(added)]]
        tiers = {it.key: it.tier for it in bank.items}
        for value in added:
            assert type(value) is type(own[0]), (name, value)
            assert slots(value) in {slots(v) for v in own}, (name, value)
            assert tiers[bank.key(value)] == "train", (name, value)


@pytest.mark.parametrize("catalog", CATALOGS)
def test_all_skills_covered_and_intent_mix(catalog: str) -> None:
    cases = samples(catalog, "train")
    counts = Counter(name for s in cases for name in skill_names(s.case.plan))
    for skill in load_catalog(catalog).names:
        assert counts[skill] / len(cases) >= 0.03, (skill, counts[skill])
    sizes = Counter(min(len(s.intents), 3) for s in cases)
    assert 0.25 <= sizes[1] / len(cases) <= 0.45
    assert 0.25 <= sizes[2] / len(cases) <= 0.45
    assert 0.2 <= sizes[3] / len(cases) <= 0.4


def test_robot_conventions_hold() -> None:
    cat = load_catalog("robot")
    for s in samples("robot", "train"):
        tasks = parse_plan(s.case.plan, cat).tasks
        by_idx = {t.idx: t for t in tasks}
        for t in tasks:
            if t.name == "navigate_to" and str(t.args[0]).startswith("$"):
                ref = by_idx[int(str(t.args[0])[1:])]
                assert ref.name == "locate_person" and ref.idx == t.idx - 1, s.case
            if t.name == "pick_up":
                assert by_idx[int(str(t.args[0])[1:])].name == "find_object"
            if t.name in ("place", "hand_over"):
                assert by_idx[int(str(t.args[0])[1:])].name == "pick_up"
            if t.name == "navigate_to":
                assert t.args[0] != "charging dock"
            if t.name in ("say", "send_message") and t.args[-1 if t.name == "say" else 1]:
                text = t.args[0] if t.name == "say" else t.args[1]
                assert text[:1].isupper() and not text.endswith("."), text


def test_numbers_and_turns() -> None:
    ctx = Ctx(random.Random(0), "train")
    assert num.int_words(25) == "twenty-five"
    assert num.int_words(135) == "one hundred and thirty-five"
    assert num.whole(2.0) == 2 and isinstance(num.whole(2.0), int)
    assert num.words(ctx, 2.5) == "two and a half"
    seen = {num.distance(ctx, 0.5) for _ in range(200)}
    assert {"half a meter", "50 cm"} & seen or {"half a metre", "fifty centimeters"} & seen
    turns = dict(REGISTRY["robot.turn.named"].values)
    assert turns["turn around"] == 180 and turns["spin around"] == 360
    assert turns["do a quarter turn to the right"] == -90 and turns["turn left"] == 90


def test_dates_follow_the_conventions() -> None:
    ctx = Ctx(random.Random(1), "train")
    today = dt.date(2026, 11, 21)  # a Saturday
    for _ in range(300):
        text, date = day(ctx, today)
        m = re.search(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)", text)
        if m:
            assert 1 <= (date - today).days <= 6
            assert date.strftime("%A") == m.group(1)
        if text == "tomorrow":
            assert date == dt.date(2026, 11, 22)
    assert clock(ctx, 12, 0) in ("noon", "midday", "12 noon", "12pm", "12 PM", "12 pm",
                                 "12 p.m.", "12:00", "twelve pm")
    for _ in range(300):
        w = when(ctx, today)
        bare = re.search(r"\bat (\d{1,2})(?::(\d\d))?$", w.text) or \
            re.search(r"\bat (\d{1,2})(?::(\d\d))? ", w.text)
        if bare and not re.search(r"am|pm|a\.m\.|p\.m\.|AM|PM|morning|afternoon|evening", w.text):
            h = int(bare.group(1))
            if len(bare.group(1)) == 1 or h <= 12:
                assert (w.moment.hour == h + 12) if 1 <= h <= 7 else w.moment.hour == h, w.text


def test_cli_writes_three_files(tmp_path) -> None:
    out = tmp_path / "syn"
    result = CliRunner().invoke(data, ["generate", "--catalog", "robot", "--seed", "2", "--train",
                                       "200", "--val", "40", "--test", "40", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "and 14 unserved requests" in result.output  # 5 % of each split by default
    keys: set[str] = set()
    for split, n in (("train", 200), ("val", 40), ("test", 40)):
        path = out / f"robot_{split}.jsonl"
        cases = dataset.load_cases(path)
        assert len(cases) == n + round(0.05 * n)
        assert cases[0].id == f"syn-robot-{split}-000001"
        assert all(c.plan == EMPTY_PLAN for c in cases[n:])
        assert all(c.plan != EMPTY_PLAN for c in cases[:n])
        split_keys = {query_key(c.query) for c in cases}
        assert len(split_keys) == len(cases)
        assert not split_keys & keys
        keys |= split_keys
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert set(first) == {"id", "catalog", "query", "plan"}


@pytest.mark.parametrize("catalog", CATALOGS)
def test_unserved_requests_leave_the_other_cases_as_they_were(tmp_path, catalog) -> None:
    plain = write_splits(catalog, 3, 60, 10, 10, tmp_path / "plain", unserved=0.0)
    mixed = write_splits(catalog, 3, 60, 10, 10, tmp_path / "mixed", unserved=0.5)
    for split, n in (("train", 60), ("val", 10), ("test", 10)):
        before = plain[split].read_text(encoding="utf-8").splitlines()
        after = mixed[split].read_text(encoding="utf-8").splitlines()
        assert after[:n] == before
        extra = [json.loads(line) for line in after[n:]]
        assert len(extra) == n // 2
        for row in extra:
            assert row["plan"] == EMPTY_PLAN and row["catalog"] == catalog
            assert row["id"].startswith(f"syn-{catalog}-{split}-unserved-")
            assert not parse_plan(row["plan"], load_catalog(catalog)).tasks
    result = subprocess.run([sys.executable, "-m", "tinyagent_ros.cli", "check", "--dataset",
                             str(mixed["train"])], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("catalog", CATALOGS)
def test_unserved_test_requests_use_held_out_phrasings(catalog) -> None:
    banks = [unserved.TASKS[catalog], unserved.QUESTIONS[catalog]]  # small talk: glue words
    test = [c.query.lower() for c in generate_unserved(catalog, 0, 300, "test")]
    train = [c.query.lower() for c in generate_unserved(catalog, 0, 300, "train")]
    for bank in banks:
        held = [it.value.lower() for it in bank.held_out()]
        trained = [it.value.lower() for it in bank.items if it.tier == "train"
                   and not any(it.value.lower() in h for h in held)]
        assert held and trained
        assert not [t for t in trained if any(t in q for q in test)][:1], bank.name
        assert not [h for h in held if any(h in q for q in train)][:1], bank.name
        assert any(h in q for h in held for q in test), bank.name


def test_write_splits_mac_has_today(tmp_path) -> None:
    paths = write_splits("mac", 0, 30, 5, 5, tmp_path)
    assert set(paths) == {"train", "val", "test"}
    line = json.loads(paths["test"].read_text(encoding="utf-8").splitlines()[0])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", line["today"])
