"""Banks of phrasings and entities, each split once into train-only and test-only parts.

Every template bank and entity pool is a :class:`Bank`. Its items are split by a
stable hash of (bank name, item key), independent of any seed, so the same items
are held out in every run: the test split draws only from the held-out part
(plus items a bank declares ``shared``, such as the core rooms of the home) and
the train and val splits never see it. Items marked pinned (a leading ``!`` on a
template) are canonical phrasings that always stay in training. Phrasings written
after the split (added.py) join the train tier without moving any other item, so
the test split stays exactly as it was measured.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from tinyagent_ros.datagen.added import ADDED

T = TypeVar("T")

#: The share of each bank held out for the test split.
HELDOUT_FRACTION = 0.22

Split = Literal["train", "val", "test"]
Tier = Literal["train", "test", "shared"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")

#: Every bank ever built, by name (for the docs and the held-out tests).
REGISTRY: dict[str, Bank] = {}

_WEIGHT = re.compile(r"^(.*)@(\d+(?:\.\d+)?)$", re.DOTALL)


def stable_hash(text: str) -> str:
    """A hex digest that does not depend on PYTHONHASHSEED."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Item(Generic[T]):
    """One bank entry with the split tier it belongs to."""

    key: str
    value: T
    tier: Tier
    weight: float = 1.0


@dataclass
class Bank(Generic[T]):
    """A named pool of templates or entities, partitioned into train and test tiers.

    ``kind`` is ``template`` (phrasings: recorded as template ids) or ``entity``
    (values: recorded as held-out entities). ``pinned`` keys always stay in
    training; ``shared`` keys are used by every split and never held out.
    """

    name: str
    values: Sequence[T]
    kind: Literal["template", "entity"] = "entity"
    key: Callable[[T], str] = str
    pinned: Iterable[str] = ()
    shared: Iterable[str] = ()
    weights: Sequence[float] | None = None
    items: list[Item[T]] = field(init=False)

    def __post_init__(self) -> None:
        if self.name in REGISTRY:
            raise ValueError(f"bank {self.name!r} defined twice")
        keys = [self.key(v) for v in self.values]
        added = list(ADDED.get(self.name, ()))
        every = keys + [self.key(v) for v in added]
        if len(set(every)) != len(every):
            dup = sorted({k for k in every if every.count(k) > 1})
            raise ValueError(f"bank {self.name!r}: duplicate keys {dup[:3]}")
        # Entities are held out by family, so "cup" and "coffee cup" share a tier
        # and a held-out word never appears inside a training entity.
        fam = families(keys) if self.kind == "entity" else {k: k for k in keys}
        pinned = {fam[k] for k in self.pinned}
        shared = {fam[k] for k in self.shared}
        groups = list(dict.fromkeys(fam[k] for k in keys))
        open_groups = [g for g in groups if g not in pinned and g not in shared]
        n_test = max(1, round(HELDOUT_FRACTION * len(groups)))
        if not pinned and not shared:
            n_test = min(n_test, len(open_groups) - 1)
        n_test = min(n_test, len(open_groups))
        if n_test < 1 and not shared:
            raise ValueError(f"bank {self.name!r} has nothing to hold out for the test split")
        held = set(sorted(open_groups, key=lambda g: stable_hash(f"{self.name}|{g}"))[:n_test])
        weights = list(self.weights) if self.weights is not None else [1.0] * len(keys)
        self.items = []
        for value, k, w in zip(self.values, keys, weights, strict=True):
            g = fam[k]
            tier: Tier = "shared" if g in shared else "test" if g in held else "train"
            self.items.append(Item(k, value, tier, w))
        for value in added:
            self.items.append(Item(self.key(value), value, "train"))
        self._by_split: dict[str, tuple[list[Item[T]], list[float]]] = {}
        for split in SPLITS:
            allowed = {"test", "shared"} if split == "test" else {"train", "shared"}
            pool = [it for it in self.items if it.tier in allowed]
            if not pool:
                raise ValueError(f"bank {self.name!r} has no items for the {split} split")
            self._by_split[split] = (pool, [it.weight for it in pool])
        REGISTRY[self.name] = self

    def pool(self, split: Split) -> list[Item[T]]:
        """The items a split may draw."""
        return self._by_split[split][0]

    def draw(self, rng: random.Random, split: Split) -> Item[T]:
        """One item for this split, by weight."""
        pool, weights = self._by_split[split]
        return rng.choices(pool, weights)[0]

    def item_id(self, item: Item[T]) -> str:
        """A stable id for a drawn item: the bank name and a short hash of its key."""
        return f"{self.name}#{stable_hash(item.key)[:8]}"

    def held_out(self) -> list[Item[T]]:
        """The test-only items."""
        return [it for it in self.items if it.tier == "test"]


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9']+", " ", text.lower()).strip() + " "


def families(keys: Sequence[str]) -> dict[str, str]:
    """Each key's family: keys found inside one another as whole words share one.

    "coffee cup" joins "cup", "basement door" joins "basement", and "phone
    charger" joins both "phone" and "charger". A family is named by its shortest key.
    """
    padded = {k: _words(k) for k in keys}
    parent = {k: k for k in keys}

    def root(k: str) -> str:
        while parent[k] != k:
            k = parent[k]
        return k

    words = [k for k in keys if re.search(r"[A-Za-z]", k)]  # numbers are their own family
    for a in words:
        for b in words:
            if a != b and padded[a] in padded[b]:
                ra, rb = root(a), root(b)
                if ra != rb:
                    first, second = sorted((ra, rb), key=lambda x: (len(x), x))
                    parent[second] = first
    return {k: root(k) for k in keys}


def templates(name: str, texts: Sequence[str], shared: Sequence[str] = ()) -> Bank[str]:
    """A template bank; a leading ``!`` pins a canonical phrasing to training.

    A text may end in ``@N`` to give it weight N (default 1). ``shared`` texts are
    glue every split uses (they are not recorded as templates).
    """
    values: list[str] = []
    pinned: list[str] = []
    weights: list[float] = []
    for raw in texts:
        text, weight = raw, 1.0
        m = _WEIGHT.match(raw)
        if m:
            text, weight = m.group(1), float(m.group(2))
        if text.startswith("!"):
            text = text[1:]
            pinned.append(text)
        values.append(text)
        weights.append(weight)
    return Bank(name, values, kind="template", pinned=pinned, shared=shared, weights=weights)


def count_heldout(bank: Bank) -> tuple[int, int, int]:
    """(train, test, shared) item counts of a bank."""
    tiers = [it.tier for it in bank.items]
    return tiers.count("train"), tiers.count("test"), tiers.count("shared")
