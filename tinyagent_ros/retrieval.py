"""In-context example retrieval, TinyAgent's way.

The training commands of a catalog are embedded once with the same encoder
as the tool classifier; a diverse subsample (every skill set of the training
split, round-robin) is stored as a float16 matrix
(``examples.npz``) next to the commands and their gold plans
(``examples.jsonl``). For a new command, :meth:`ExampleRetriever.retrieve`
returns the most similar stored examples whose skills all lie among the
skills selected for the prompt, so every example shows only skills the
planner is offered.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinyagent_ros.encoder import Encoder, EncoderError, default_encoder
from tinyagent_ros.prompt import Example

if TYPE_CHECKING:
    from tinyagent_ros.toolrag import Labelled

EXAMPLES_NPZ = "examples.npz"
EXAMPLES_JSONL = "examples.jsonl"
DEFAULT_K = 3
#: Two stored examples of one skill combination closer than this are near-duplicates.
NEAR_DUPLICATE = 0.97


def choose_diverse(
    signatures: Sequence[tuple[str, ...]], x: np.ndarray, n: int, seed: int = 0
) -> list[int]:
    """Indices of up to ``n`` cases spread over the signatures (e.g. skill sets).

    Each signature gets a share proportional to the square root of its
    frequency (common commands keep many examples, less common skill
    combinations are still covered; combinations seen once or twice may get
    none); what is left goes round-robin, commonest first. Within a signature the order
    is random and near-duplicate commands (cosine >= 0.97 to one already
    taken) are passed over.
    """
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, sig in enumerate(signatures):
        groups[sig].append(i)
    keys = sorted(groups)
    queues = [[groups[k][j] for j in rng.permutation(len(groups[k]))] for k in keys]
    roots = np.sqrt([len(q) for q in queues])
    quota = np.floor(n * roots / roots.sum()).astype(int)
    taken: list[int] = []
    mine: list[list[int]] = [[] for _ in queues]
    pos = [0] * len(queues)

    def take(g: int) -> bool:
        queue = queues[g]
        while pos[g] < len(queue):
            i = queue[pos[g]]
            pos[g] += 1
            if mine[g] and float(np.max(x[mine[g]] @ x[i])) >= NEAR_DUPLICATE:
                continue
            mine[g].append(i)
            taken.append(i)
            return True
        return False

    # Round-robin up to each quota, then top up (commonest first in every round).
    order = sorted(range(len(queues)), key=lambda g: (-len(queues[g]), keys[g]))
    for limit in (quota, None):
        progressed = True
        while progressed and len(taken) < n:
            progressed = False
            for g in order:
                if len(taken) >= n:
                    break
                if limit is not None and len(mine[g]) >= limit[g]:
                    continue
                progressed = take(g) or progressed
    return sorted(taken)


def write_example_store(
    out_dir: str | os.PathLike[str],
    cases: Sequence[Labelled],
    x: np.ndarray,
    skills: Sequence[str],
    n: int,
    seed: int = 0,
) -> int:
    """Write ``n`` diverse cases and their embeddings to ``out_dir``; returns how many.

    Diversity is over skill sets: every skill combination of the training
    data gets an example before any gets a second one.
    """
    signatures = [tuple(case.skills) for case in cases]
    idx = choose_diverse(signatures, x, n, seed)
    index = {s: i for i, s in enumerate(skills)}
    masks = np.zeros((len(idx), len(skills)), np.uint8)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / EXAMPLES_JSONL).open("w", encoding="utf-8") as handle:
        for row, i in enumerate(idx):
            case = cases[i]
            for s in case.skills:
                masks[row, index[s]] = 1
            record = {"query": case.query, "plan": case.plan, "skills": list(case.skills)}
            if case.today:
                record["today"] = case.today
            handle.write(json.dumps(record) + "\n")
    np.savez_compressed(out / EXAMPLES_NPZ, embeddings=x[idx].astype(np.float16), masks=masks,
                        skills=np.array(list(skills)))
    return len(idx)


class RetrievalError(RuntimeError):
    """An example store that cannot be loaded; one line."""


class ExampleRetriever:
    """The k most similar stored examples that use only the selected skills."""

    def __init__(
        self,
        examples: Sequence[Example],
        matrix: np.ndarray,
        masks: np.ndarray,
        skills: Sequence[str],
        encoder: Encoder,
        k: int = DEFAULT_K,
    ) -> None:
        if len(examples) != len(matrix) or len(matrix) != len(masks):
            raise RetrievalError("examples, embeddings and masks differ in length")
        self.examples = list(examples)
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.masks = masks.astype(bool)
        self.skills = list(skills)
        self._index = {s: i for i, s in enumerate(self.skills)}
        self.encoder = encoder
        self.k = k

    @classmethod
    def load(
        cls, name_or_dir: str | os.PathLike[str], *, k: int = DEFAULT_K,
        encoder: Encoder | None = None,
    ) -> ExampleRetriever:
        """Load the store of a shipped catalog model (``robot``, ``mac``) or a model directory."""
        from tinyagent_ros.toolrag import ToolRAGError, model_dir

        try:
            path = model_dir(name_or_dir)
        except ToolRAGError as err:
            raise RetrievalError(str(err)) from None
        try:
            with np.load(path / EXAMPLES_NPZ) as data:
                matrix, masks = data["embeddings"], data["masks"]
                skills = [str(s) for s in data["skills"]]
            lines = (path / EXAMPLES_JSONL).read_text(encoding="utf-8").splitlines()
            rows = [json.loads(line) for line in lines if line.strip()]
        except (OSError, KeyError, ValueError) as err:
            raise RetrievalError(f"{path}: cannot read the example store ({err})") from None
        try:
            encoder = encoder or default_encoder()
        except EncoderError as err:
            raise RetrievalError(str(err)) from None
        examples = [Example(r["query"], r["plan"], _day(r.get("today"))) for r in rows]
        return cls(examples, matrix, masks, skills, encoder, k)

    def __len__(self) -> int:
        return len(self.examples)

    def _usable(self, skills: Sequence[str]) -> np.ndarray:
        """Per stored example: True when all its skills lie in ``skills``."""
        allowed = np.zeros(len(self.skills), bool)
        for s in skills:
            if s in self._index:
                allowed[self._index[s]] = True
        return ~(self.masks & ~allowed).any(axis=1)

    def ranked(self, query: str, skills: Sequence[str] | None = None) -> list[tuple[int, float]]:
        """All stored examples as (index, cosine), usable ones (skills within ``skills``) first."""
        sims = _similarities(self.matrix, self.encoder.embed_one(query))
        order = np.argsort(-sims, kind="stable")
        if skills is None:
            return [(int(i), float(sims[i])) for i in order]
        usable = self._usable(skills)
        first = [int(i) for i in order if usable[i]]
        rest = [int(i) for i in order if not usable[i]]
        return [(i, float(sims[i])) for i in first + rest]

    def retrieve(self, query: str, skills: Sequence[str], k: int | None = None) -> list[Example]:
        """The ``k`` most similar examples whose skills all lie in ``skills``.

        When fewer than ``k`` qualify, the most similar other examples fill the list.
        """
        k = self.k if k is None else k
        if k <= 0 or not self.examples:
            return []
        sims = _similarities(self.matrix, self.encoder.embed_one(query))
        usable = self._usable(skills)
        masked = np.where(usable, sims, -np.inf)
        chosen = _top(masked, k)
        chosen = [i for i in chosen if usable[i]]
        if len(chosen) < k:
            rest = np.where(usable, -np.inf, sims)
            chosen += [i for i in _top(rest, k - len(chosen)) if not usable[i]]
        return [self.examples[i] for i in chosen]


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _similarities(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Matrix @ vector without BLAS: single-threaded and steady (about a millisecond for 4000
    rows), where a multi-threaded BLAS matrix-vector product stalls on a busy CPU.
    """
    return np.einsum("nd,d->n", matrix, vector)


def _top(values: np.ndarray, k: int) -> list[int]:
    """Indices of the k largest values, largest first."""
    k = min(k, len(values))
    part = np.argpartition(-values, k - 1)[:k]
    return [int(i) for i in part[np.argsort(-values[part], kind="stable")]]
