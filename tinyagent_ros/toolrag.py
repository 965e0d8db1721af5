"""ToolRAG: pick the few skills a command needs, so the planner prompt stays short.

As in TinyAgent, a small encoder reads the command and a multi-label
classifier head gives each skill of the catalog a probability; the skills at
or above the threshold are offered to the planner. Here the encoder is
all-MiniLM-L6-v2 as int8 ONNX (:mod:`tinyagent_ros.encoder`): the installed
one, frozen, or the classifier's own copy whose layers were fine-tuned for the
catalog (:mod:`tinyagent_ros.training.encoder_tuning`). The head is
label-wise attention over the encoder's token states (or an MLP over the
pooled embedding), trained with numpy on the synthetic training split
(labels: the set of skills in each gold plan). Run time needs only
onnxruntime, tokenizers and numpy.

Also here: the baselines :class:`AllTools` and :class:`EmbeddingTopK`, the
trainer :func:`train_toolrag` (minutes on a CPU for a user's own catalog) and
the ``toolrag`` click group.

A trained model directory (``models/toolrag/<catalog>/``) holds
``toolrag.json`` (skill order, threshold, encoder sha256, training data and
metrics), ``head.npz`` (float32 weights), optionally ``serves.npz`` (the
decline head) and ``encoder.onnx`` (tuned encoder layers), and the example
store of :mod:`tinyagent_ros.retrieval` (``examples.npz`` + ``examples.jsonl``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from tinyagent_ros.catalog import Catalog, CatalogError, load_catalog
from tinyagent_ros.encoder import Encoder, EncoderError, default_encoder, tuned_encoder
from tinyagent_ros.paths import share_path
from tinyagent_ros.plan import PlanError, parse_plan

if TYPE_CHECKING:
    from tinyagent_ros.training.encoder_tuning import TuneSettings

#: File names inside a model directory.
META_FILE = "toolrag.json"
HEAD_FILE = "head.npz"
#: The head that tells a command some skill serves from one none does (optional).
SERVES_FILE = "serves.npz"
#: The classifier's own tuned encoder layers (optional; without it, the installed encoder).
ENCODER_FILE = "encoder.onnx"
FORMAT_VERSION = 1
#: Skills returned when no score reaches the threshold.
DEFAULT_MIN_TOOLS = 2
DEFAULT_THRESHOLD = 0.5


class ToolRAGError(RuntimeError):
    """A model directory or training set that cannot be used; the message is one line."""


def _as_catalog(catalog: Catalog | str | os.PathLike[str]) -> Catalog:
    if isinstance(catalog, Catalog):
        return catalog
    try:
        return load_catalog(catalog)
    except CatalogError as err:
        raise ToolRAGError(str(err)) from None


def model_dir(name_or_dir: str | os.PathLike[str]) -> Path:
    """A model directory: an existing directory as given, else a shipped catalog's model."""
    path = Path(name_or_dir)
    if path.is_dir():
        return path
    shipped = share_path("models", "toolrag", str(name_or_dir))
    if shipped.is_dir():
        return shipped
    raise ToolRAGError(f"no ToolRAG model {str(name_or_dir)!r}: not a directory and not a "
                       f"shipped catalog model under {shipped.parent}")


# =========================================================================== selectors


class AllTools:
    """The no-ToolRAG baseline: every skill of the catalog."""

    def __init__(self, catalog: Catalog | str) -> None:
        self.catalog = _as_catalog(catalog)

    def select(self, query: str) -> list[str]:
        """All skill names, in catalog order."""
        return list(self.catalog.names)


def skill_text(catalog: Catalog, name: str) -> str:
    """What :class:`EmbeddingTopK` embeds for a skill: ``name: description``."""
    return f"{name}: {catalog[name].description.strip()}"


class EmbeddingTopK:
    """The basic retrieval baseline: cosine(query, "name: description") and the top k skills."""

    def __init__(self, catalog: Catalog | str, k: int = 5, encoder: Encoder | None = None) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.catalog = _as_catalog(catalog)
        self.k = k
        self.encoder = encoder or default_encoder()
        self.names = list(self.catalog.names)
        self.matrix = self.encoder.embed([skill_text(self.catalog, n) for n in self.names])

    def scores(self, query: str) -> dict[str, float]:
        """Cosine similarity of the query to each skill, in catalog order."""
        sims = np.einsum("nd,d->n", self.matrix, self.encoder.embed_one(query))
        return {n: float(s) for n, s in zip(self.names, sims, strict=True)}

    def select(self, query: str) -> list[str]:
        """The k most similar skills, in catalog order."""
        sims = np.einsum("nd,d->n", self.matrix, self.encoder.embed_one(query))
        top = set(np.argsort(-sims, kind="stable")[: self.k].tolist())
        return [n for i, n in enumerate(self.names) if i in top]


class SkillRelevance:
    """Says whether any skill could serve a request: cosine(query, "name: description").

    For catalogs without a trained classifier (a user's function list, BFCL): a
    request that no description resembles gets an empty plan instead of the
    wrong call a small model always makes.
    """

    def __init__(self, catalog: Catalog | str, threshold: float,
                 encoder: Encoder | None = None) -> None:
        self.threshold = threshold
        self._similarity = EmbeddingTopK(catalog, k=1, encoder=encoder)

    def best(self, query: str) -> float:
        """The highest similarity of the request to any skill."""
        return max(self._similarity.scores(query).values(), default=-1.0)

    def relevant(self, query: str) -> bool:
        """True when some skill reaches the threshold."""
        return self.best(query) >= self.threshold


# =========================================================================== heads


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


def _gelu_grad(x: np.ndarray) -> np.ndarray:
    c = 0.7978845608028654
    inner = c * (x + 0.044715 * x**3)
    t = np.tanh(inner)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * x * x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def pad_states(states: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack (T_i, d) token states into a zero-padded (B, T, d) float32 array and a bool mask."""
    width = max(1, max(len(s) for s in states))
    dim = states[0].shape[1]
    h = np.zeros((len(states), width, dim), np.float32)
    mask = np.zeros((len(states), width), bool)
    for row, st in enumerate(states):
        h[row, : len(st)] = st
        mask[row, : len(st)] = True
    return h, mask


class Head:
    """MLP over the pooled sentence embedding: logits = gelu(x W1 + b1) W2 + b2 (or linear)."""

    kind = "mlp"

    def __init__(self, w2: np.ndarray, b2: np.ndarray, w1: np.ndarray | None = None,
                 b1: np.ndarray | None = None) -> None:
        self.w1, self.b1, self.w2, self.b2 = w1, b1, w2, b2

    @property
    def n_labels(self) -> int:
        """Number of outputs (skills)."""
        return int(self.b2.shape[0])

    def params(self) -> dict[str, np.ndarray]:
        """The weights by name."""
        out = {"w2": self.w2, "b2": self.b2}
        if self.w1 is not None and self.b1 is not None:
            out |= {"w1": self.w1, "b1": self.b1}
        return out

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Logits for a (n, d) batch of embeddings (einsum for one row: see AttentionHead)."""
        if len(x) == 1:
            if self.w1 is not None:
                x = _gelu(np.einsum("nd,dh->nh", x, self.w1) + self.b1)
            return np.einsum("nh,hl->nl", x, self.w2) + self.b2
        if self.w1 is not None:
            x = _gelu(x @ self.w1 + self.b1)
        return x @ self.w2 + self.b2

    def probs(self, x: np.ndarray) -> np.ndarray:
        """Per-skill probabilities for a (n, d) batch of embeddings."""
        return _sigmoid(self.logits(x))

    def probs_for(self, states: Sequence[np.ndarray], pooled: np.ndarray) -> np.ndarray:
        """Per-skill probabilities (the MLP looks only at the pooled embeddings)."""
        return self.probs(pooled)


class AttentionHead:
    """Label-wise attention over the encoder's token states (LAAT).

    For skill l: a_t = softmax_t(q_l . tanh(h_t Wa + ca)) over the command's
    tokens, logit_l = sum_t a_t (h_t . u_l) + bias_l. Each skill looks for
    its own words anywhere in the command, so the fifth request of a long
    command counts as much as the first (mean pooling dilutes it).
    """

    kind = "attention"

    def __init__(self, wa: np.ndarray, ca: np.ndarray, q: np.ndarray, u: np.ndarray,
                 bias: np.ndarray) -> None:
        self.wa, self.ca, self.q, self.u, self.bias = wa, ca, q, u, bias

    @property
    def n_labels(self) -> int:
        """Number of outputs (skills)."""
        return int(self.bias.shape[0])

    def params(self) -> dict[str, np.ndarray]:
        """The weights by name."""
        return {"wa": self.wa, "ca": self.ca, "q": self.q, "u": self.u, "bias": self.bias}

    def forward(self, h: np.ndarray, mask: np.ndarray,
                blas: bool = True) -> tuple[np.ndarray, tuple]:
        """Logits (B, L) of a padded batch, and what the backward pass needs.

        ``blas=False`` multiplies with ``np.einsum`` instead of BLAS: for one
        command that is under a millisecond and single-threaded, while a
        multi-threaded BLAS can stall for tens of milliseconds on a busy CPU.
        """
        if blas:
            z = np.tanh(h @ self.wa + self.ca)                 # B,T,a
            s = z @ self.q.T                                   # B,T,L
            hu = h @ self.u.T                                  # B,T,L
        else:
            z = np.tanh(np.einsum("btd,da->bta", h, self.wa) + self.ca)
            s = np.einsum("bta,la->btl", z, self.q)
            hu = np.einsum("btd,ld->btl", h, self.u)
        s = np.where(mask[:, :, None], s, -1e9)
        s = s - s.max(axis=1, keepdims=True)
        a = np.exp(s) * mask[:, :, None]
        a /= np.maximum(a.sum(axis=1, keepdims=True), 1e-30)
        return (a * hu).sum(axis=1) + self.bias, (h, z, a, hu)

    def backward(self, g: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
        """Gradients of the parameters given d(loss)/d(logits) ``g`` (B, L)."""
        h, z, a, hu = cache
        dhu = a * g[:, None, :]
        da = hu * g[:, None, :]
        ds = a * (da - (a * da).sum(axis=1, keepdims=True))
        dz = (ds @ self.q) * (1.0 - z * z)
        # Contractions over batch and time as single matrix products (BLAS).
        h2 = h.reshape(-1, h.shape[-1])
        return {
            "bias": g.sum(axis=0),
            "u": dhu.reshape(-1, dhu.shape[-1]).T @ h2,
            "q": ds.reshape(-1, ds.shape[-1]).T @ z.reshape(-1, z.shape[-1]),
            "wa": h2.T @ dz.reshape(-1, dz.shape[-1]),
            "ca": dz.sum(axis=(0, 1)),
        }

    def probs_for(self, states: Sequence[np.ndarray], pooled: np.ndarray | None = None,
                  batch_size: int = 64) -> np.ndarray:
        """Per-skill probabilities for commands given as token states."""
        out = np.zeros((len(states), self.n_labels), np.float32)
        order = sorted(range(len(states)), key=lambda i: len(states[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            h, mask = pad_states([states[i] for i in chunk])
            out[chunk] = _sigmoid(self.forward(h, mask, blas=len(chunk) > 1)[0])
        return out


AnyHead = Head | AttentionHead


def save_head(head: AnyHead, path: Path) -> None:
    """Write a head's weights (float32) and kind to one .npz."""
    arrays = {k: v.astype(np.float32) for k, v in head.params().items()}
    np.savez(path, kind=np.array(head.kind), **arrays)


def load_head(path: Path) -> AnyHead:
    """Read a head written by :func:`save_head`."""
    with np.load(path) as data:
        kind = str(data["kind"]) if "kind" in data else "mlp"
        arrays = {k: data[k] for k in data.files if k != "kind"}
    if kind == "attention":
        return AttentionHead(**arrays)
    if kind == "mlp":
        return Head(**arrays)
    raise ValueError(f"unknown head kind {kind!r}")


class _Adam:
    """Adam with decoupled-from-nothing L2 on matrices and a cosine learning-rate decay."""

    def __init__(self, params: dict[str, np.ndarray], lr: float, total_steps: int,
                 weight_decay: float) -> None:
        self.params = params
        self.lr, self.total, self.wd = lr, max(1, total_steps), weight_decay
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.step_no = 0

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.step_no += 1
        t = self.step_no
        rate = self.lr * 0.5 * (1.0 + math.cos(math.pi * min(t, self.total) / self.total))
        for k, grad in grads.items():
            p = self.params[k]
            if self.wd and p.ndim == 2:
                grad = grad + self.wd * p
            self.m[k] = 0.9 * self.m[k] + 0.1 * grad
            self.v[k] = 0.999 * self.v[k] + 0.001 * grad * grad
            m_hat = self.m[k] / (1 - 0.9**t)
            v_hat = self.v[k] / (1 - 0.999**t)
            p -= (rate * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)


def _bce_grad(logits: np.ndarray, y: np.ndarray, pos_weight: float,
              unserved_weight: float = 1.0) -> np.ndarray:
    """d(mean binary cross-entropy)/d(logits), positives weighted by ``pos_weight``.

    Rows without any positive label (requests nothing serves) weigh ``unserved_weight``.
    """
    p = _sigmoid(logits)
    weight = 1.0 + (pos_weight - 1.0) * y
    if unserved_weight != 1.0:
        weight = weight * np.where(y.any(axis=1), 1.0, unserved_weight)[:, None]
    return (weight * (p - y) / len(y)).astype(np.float32)


def _prior_bias(y: np.ndarray) -> np.ndarray:
    freq = np.clip(y.mean(axis=0), 1e-3, 1 - 1e-3)
    return np.log(freq / (1 - freq)).astype(np.float32)


def _epochs(epochs: int, desc: str, progress: bool) -> Iterable[int]:
    if not progress:
        return range(epochs)
    from tqdm import tqdm

    return tqdm(range(epochs), desc=desc, unit="epoch", file=sys.stderr, leave=False,
                dynamic_ncols=True)


def train_head(
    x: np.ndarray,
    y: np.ndarray,
    *,
    hidden: int = 256,
    epochs: int = 30,
    lr: float = 2e-3,
    batch_size: int = 128,
    weight_decay: float = 1e-4,
    pos_weight: float = 1.0,
    seed: int = 0,
    progress: bool = False,
) -> Head:
    """Fit the pooled-embedding MLP with sigmoid + binary cross-entropy and Adam.

    ``x``: (n, d) float32 embeddings; ``y``: (n, m) 0/1 labels. ``pos_weight``
    scales the loss of positive labels (> 1 trades precision for recall).
    """
    rng = np.random.default_rng(seed)
    n, d = x.shape
    m = y.shape[1]
    y = y.astype(np.float32)
    if hidden:
        head = Head(w1=(rng.standard_normal((d, hidden)) * math.sqrt(2.0 / d)).astype(np.float32),
                    b1=np.zeros(hidden, np.float32),
                    w2=(rng.standard_normal((hidden, m)) * math.sqrt(1.0 / hidden)).astype(
                        np.float32),
                    b2=_prior_bias(y))
    else:
        head = Head(w2=np.zeros((d, m), np.float32), b2=_prior_bias(y))
    opt = _Adam(head.params(), lr, epochs * math.ceil(n / batch_size), weight_decay)
    for _ in _epochs(epochs, "training head", progress):
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            xb = x[idx]
            if head.w1 is not None:
                pre = xb @ head.w1 + head.b1
                h = _gelu(pre)
            else:
                h = xb
            g = _bce_grad(h @ head.w2 + head.b2, y[idx], pos_weight)
            grads = {"w2": h.T @ g, "b2": g.sum(axis=0)}
            if head.w1 is not None:
                gh = (g @ head.w2.T) * _gelu_grad(pre)
                grads["w1"] = xb.T @ gh
                grads["b1"] = gh.sum(axis=0)
            opt.step(grads)
    return head


def train_attention_head(
    states: Sequence[np.ndarray],
    y: np.ndarray,
    *,
    attention: int = 128,
    epochs: int = 6,
    lr: float = 3e-3,
    batch_size: int = 64,
    weight_decay: float = 1e-4,
    pos_weight: float = 1.0,
    unserved_weight: float = 1.0,
    token_dropout: float = 0.0,
    seed: int = 0,
    progress: bool = False,
    on_epoch: Callable[[int, AttentionHead], None] | None = None,
) -> AttentionHead:
    """Fit an :class:`AttentionHead` on token states (one (T_i, d) array per command).

    Batches group commands of similar length (little padding); batch order is
    shuffled every epoch. ``token_dropout`` hides that share of each command's
    tokens from the head at random in every step (a regulariser: no single
    word may carry a skill alone).
    """
    rng = np.random.default_rng(seed)
    n = len(states)
    d = states[0].shape[1]
    m = y.shape[1]
    y = y.astype(np.float32)
    head = AttentionHead(
        wa=(rng.standard_normal((d, attention)) * math.sqrt(1.0 / d)).astype(np.float32),
        ca=np.zeros(attention, np.float32),
        q=(rng.standard_normal((m, attention)) * math.sqrt(1.0 / attention)).astype(np.float32),
        u=(rng.standard_normal((m, d)) * 0.1 * math.sqrt(1.0 / d)).astype(np.float32),
        bias=_prior_bias(y),
    )
    lengths = np.array([len(s) for s in states])
    order = np.argsort(lengths + rng.random(n), kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    opt = _Adam(head.params(), lr, epochs * len(batches), weight_decay)
    for epoch in _epochs(epochs, "training head", progress):
        for b in rng.permutation(len(batches)):
            idx = batches[b]
            h, mask = pad_states([states[i] for i in idx])
            if token_dropout:
                keep = mask & (rng.random(mask.shape) >= token_dropout)
                keep[:, 0] = mask[:, 0]  # [CLS] always stays, so no command is left empty
                mask = keep
            logits, cache = head.forward(h, mask)
            opt.step(head.backward(_bce_grad(logits, y[idx], pos_weight, unserved_weight), cache))
        if on_epoch is not None:
            on_epoch(epoch, head)
    return head


def implied_skills(y: np.ndarray, skills: Sequence[str], min_support: int = 50,
                   min_confidence: float = 0.995) -> dict[str, list[str]]:
    """Rules a -> b from the training labels: plans with a (at least ``min_support`` of them)
    also use b in at least ``min_confidence`` of cases (e.g. pick_up -> find_object).
    """
    pos = y > 0
    count = pos.sum(axis=0)
    both = pos.T.astype(np.int64) @ pos.astype(np.int64)
    rules: dict[str, list[str]] = {}
    for a, name in enumerate(skills):
        if count[a] < min_support:
            continue
        implied = [skills[b] for b in range(len(skills))
                   if b != a and both[a, b] >= min_confidence * count[a]]
        if implied:
            rules[name] = implied
    return rules


def apply_implied(chosen: np.ndarray, skills: Sequence[str],
                  rules: dict[str, list[str]]) -> np.ndarray:
    """Add implied skills to a boolean (n, m) selection (rules applied until nothing changes)."""
    if not rules:
        return chosen
    index = {s: i for i, s in enumerate(skills)}
    pairs = [(index[a], index[b]) for a, bs in rules.items() for b in bs
             if a in index and b in index]
    chosen = chosen.copy()
    for _ in range(len(skills)):
        before = chosen.sum()
        for a, b in pairs:
            chosen[:, b] |= chosen[:, a]
        if chosen.sum() == before:
            break
    return chosen


def select_from_probs(
    probs: np.ndarray, threshold: float = DEFAULT_THRESHOLD, min_tools: int = DEFAULT_MIN_TOOLS
) -> np.ndarray:
    """Boolean (n, m) selection: probability >= threshold, else the ``min_tools`` best of a row."""
    chosen = probs >= threshold
    empty = ~chosen.any(axis=1)
    if empty.any():
        top = np.argsort(-probs[empty], axis=1, kind="stable")[:, :min_tools]
        rows = np.nonzero(empty)[0]
        for r, cols in zip(rows, top, strict=True):
            chosen[r, cols] = True
    return chosen


def selection_metrics(chosen: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    """Mean tool recall, mean number of tools, share of cases with every gold tool selected.

    Over the cases that need some skill: a request nothing serves has no gold tool to recall.
    """
    served = y.sum(axis=1) > 0
    if not served.any():
        return {"tool_recall": None, "avg_tools": None, "all_gold_selected": None}
    chosen, y = chosen[served], y[served]
    gold = y.sum(axis=1)
    hit = (chosen & (y > 0)).sum(axis=1)
    return {
        "tool_recall": float((hit / gold).mean()),
        "avg_tools": float(chosen.sum(axis=1).mean()),
        "all_gold_selected": float((hit == gold).mean()),
    }


#: Candidate cut-offs for declining a request, highest first.
DECLINE_GRID = (0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01)


def choose_decline_below(serve: np.ndarray, served: np.ndarray) -> tuple[float, dict[str, Any]]:
    """The highest cut-off on P(some skill serves) that declines no command a skill serves.

    ``serve``: the serves head's probability per validation case; ``served``:
    whether its gold plan uses a skill. 0 (never decline) when the data holds
    only one kind. Returns the cut-off and what it does on that data.
    """
    if served.all() or not served.any():
        return 0.0, {}
    floor = float(serve[served].min())
    cut = next((c for c in DECLINE_GRID if c <= floor), 0.0)
    return cut, {
        "decline_below": cut,
        "unserved_cases": int((~served).sum()),
        "unserved_declined": float((serve[~served] < cut).mean()),
        "served_declined": float((serve[served] < cut).mean()),
        "served_min": round(floor, 4),
    }


def _num(value: float | None, spec: str) -> str:
    """A metric for a log line: formatted, or "-" when the data had no case for it."""
    return "-" if value is None else format(value, spec)


# =========================================================================== the classifier


class ToolClassifier:
    """ToolRAG's classifier: encoder + trained head; :meth:`select` never returns an empty list."""

    def __init__(
        self,
        skills: Sequence[str],
        head: AnyHead,
        encoder: Encoder,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        min_tools: int = DEFAULT_MIN_TOOLS,
        serves: AnyHead | None = None,
        decline_below: float = 0.0,
        implied: dict[str, list[str]] | None = None,
        meta: dict[str, Any] | None = None,
        path: Path | None = None,
    ) -> None:
        if not skills:
            raise ToolRAGError("a tool classifier needs at least one skill")
        self.skills = list(skills)
        self.head = head
        self.encoder = encoder
        self.threshold = threshold
        self.min_tools = max(1, min(min_tools, len(self.skills)))
        #: P(some skill serves the command), trained on requests none serves; None: never decline.
        self.serves = serves
        #: A command whose P(some skill serves) is under this is declined (0: never).
        self.decline_below = decline_below
        #: Skills added whenever a skill is selected (learned co-occurrence rules).
        self.implied = implied or {}
        self.meta = meta or {}
        self.path = path
        #: (command, skill probabilities, P(serves)) of the last command, shared by the calls.
        self._last: tuple[str, np.ndarray, float] | None = None
        #: (commands, token states, embeddings) of the last batch, shared by the batch calls.
        self._last_batch: tuple[tuple[str, ...], list[np.ndarray], np.ndarray] | None = None

    @classmethod
    def load(
        cls,
        name_or_dir: str | os.PathLike[str],
        *,
        threshold: float | None = None,
        min_tools: int | None = None,
        decline_below: float | None = None,
        implied: bool = True,
        encoder: Encoder | None = None,
    ) -> ToolClassifier:
        """Load a shipped model by catalog name (``robot``, ``mac``) or a trained directory.

        ``threshold``, ``min_tools`` and ``decline_below`` override the model's;
        ``implied=False`` drops the learned co-occurrence rules. A model with its
        own tuned encoder (``encoder.onnx``) runs on it, else on the installed one.
        """
        path = model_dir(name_or_dir)
        meta = read_meta(path)
        try:
            head = load_head(path / HEAD_FILE)
        except (OSError, KeyError, ValueError, TypeError) as err:
            raise ToolRAGError(f"{path / HEAD_FILE}: cannot read head ({err})") from None
        try:
            if encoder is None:
                tuned = path / ENCODER_FILE
                encoder = tuned_encoder(tuned) if tuned.is_file() else default_encoder()
        except EncoderError as err:
            raise ToolRAGError(str(err)) from None
        want = meta.get("encoder", {}).get("sha256")
        if want and want != encoder.sha256:
            raise ToolRAGError(f"{path}: trained with encoder sha256 {want[:12]}..., but the "
                               f"loaded encoder is {encoder.sha256[:12]}...; retrain it")
        skills = meta["skills"]
        if head.n_labels != len(skills):
            raise ToolRAGError(f"{path}: head has {head.n_labels} outputs for "
                               f"{len(skills)} skills")
        serves = None
        if (path / SERVES_FILE).is_file():
            try:
                serves = load_head(path / SERVES_FILE)
            except (OSError, KeyError, ValueError, TypeError) as err:
                raise ToolRAGError(f"{path / SERVES_FILE}: cannot read head ({err})") from None
        return cls(
            skills, head, encoder,
            threshold=meta.get("threshold", DEFAULT_THRESHOLD) if threshold is None else threshold,
            min_tools=meta.get("min_tools", DEFAULT_MIN_TOOLS) if min_tools is None else min_tools,
            serves=serves,
            decline_below=(meta.get("decline_below", 0.0) if decline_below is None
                           else decline_below),
            implied=meta.get("implied", {}) if implied else {},
            meta=meta, path=path,
        )

    @property
    def catalog_name(self) -> str:
        """The catalog the model was trained for."""
        return str(self.meta.get("catalog", ""))

    def _scores(self, query: str) -> tuple[np.ndarray, float]:
        last = self._last
        if last is not None and last[0] == query:
            return last[1], last[2]
        states, pooled = self.encoder.encode_one(query)
        probs = self.head.probs_for([states], pooled[None, :])[0]
        serve = 1.0 if self.serves is None else \
            float(self.serves.probs_for([states], pooled[None, :])[0, 0])
        self._last = (query, probs, serve)
        return probs, serve

    def probs(self, query: str) -> np.ndarray:
        """Per-skill probabilities (order of :attr:`skills`); the last command's are kept."""
        return self._scores(query)[0]

    @property
    def declines(self) -> bool:
        """Whether this model turns away commands no skill serves (it has a serves head)."""
        return self.serves is not None and self.decline_below > 0

    def choose(self, probs: np.ndarray) -> np.ndarray:
        """Boolean (n, m) selection from (n, m) probabilities: threshold, fallback, rules."""
        chosen = select_from_probs(probs, self.threshold, self.min_tools)
        return apply_implied(chosen, self.skills, self.implied)

    def needs_action(self, query: str) -> bool:
        """Whether some skill reaches the threshold: the command asks for something.

        Small talk ("thanks!", "ok cool") scores every skill near zero; a command
        the planner must not answer with an empty plan scores one near one. An
        empty command asks for nothing, whatever the head makes of no words.
        """
        return bool(query.strip()) and bool((self.probs(query) >= self.threshold).any())

    def serve_prob(self, query: str) -> float:
        """P(some skill serves the command); 1.0 without a serves head."""
        return self._scores(query)[1]

    def relevant(self, query: str) -> bool:
        """Whether some skill could serve the command (a ``planner.RelevanceGate``).

        Under ``decline_below`` the agent declines instead of acting.
        """
        return not self.declines or self.serve_prob(query) >= self.decline_below

    def scores(self, query: str) -> dict[str, float]:
        """Skill name -> probability that the command needs it."""
        return {n: float(p) for n, p in zip(self.skills, self.probs(query), strict=True)}

    def select(self, query: str) -> list[str]:
        """Skills scoring at least the threshold (the ``min_tools`` best if none does)."""
        chosen = self.choose(self.probs(query)[None, :])[0]
        return [n for n, c in zip(self.skills, chosen, strict=True) if c]

    def _encode_many(self, queries: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray]:
        """Token states and embeddings of a batch; the last batch's are kept, so the skill
        and serves heads of one evaluation share one encoder pass.
        """
        key = tuple(queries)
        last = self._last_batch
        if last is None or last[0] != key:
            last = self._last_batch = (key, *self.encoder.states_and_embed(list(key),
                                                                            dtype=np.float32))
        return last[1], last[2]

    def probs_many(self, queries: Sequence[str]) -> np.ndarray:
        """(n, m) probabilities for a batch of commands (batched encoder calls)."""
        return self.head.probs_for(*self._encode_many(queries))

    def serve_probs_many(self, queries: Sequence[str]) -> np.ndarray:
        """P(some skill serves) for a batch of commands; ones without a serves head."""
        if self.serves is None:
            return np.ones(len(queries), np.float32)
        return self.serves.probs_for(*self._encode_many(queries))[:, 0]

    def select_many(self, queries: Sequence[str]) -> list[list[str]]:
        """:meth:`select` for a batch (batched encoder calls)."""
        chosen = self.choose(self.probs_many(queries))
        return [[n for n, c in zip(self.skills, row, strict=True) if c] for row in chosen]


def read_meta(path: Path) -> dict[str, Any]:
    """The ``toolrag.json`` of a model directory, checked for the fields loading needs."""
    try:
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except OSError as err:
        raise ToolRAGError(f"{path / META_FILE}: cannot read ({err.strerror})") from None
    except ValueError as err:
        raise ToolRAGError(f"{path / META_FILE}: not JSON ({err})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("skills"), list):
        raise ToolRAGError(f"{path / META_FILE}: missing the skill list")
    if meta.get("format") != FORMAT_VERSION:
        raise ToolRAGError(f"{path / META_FILE}: unsupported format {meta.get('format')!r}")
    return meta


# =========================================================================== training data


@dataclass(frozen=True)
class Labelled:
    """A training command with its gold plan and the skills that plan uses."""

    query: str
    plan: str
    skills: tuple[str, ...]
    today: str | None = None


def read_labelled(path: str | os.PathLike[str], catalog: Catalog) -> tuple[list[Labelled], int]:
    """Cases of a JSONL file for this catalog (``query`` and ``plan`` required) and the count
    of lines skipped (another catalog, or a plan that does not validate).

    Lines with a ``catalog`` field naming another catalog are skipped, so one
    file may hold several catalogs' cases.
    """
    from tinyagent_ros.dataset import DatasetError, read_jsonl

    out: list[Labelled] = []
    skipped = 0
    try:
        for n, row in read_jsonl(path):
            if not isinstance(row, dict) or not isinstance(row.get("query"), str) \
                    or not isinstance(row.get("plan"), str):
                raise ToolRAGError(f"{path}:{n}: needs string fields 'query' and 'plan'")
            if row.get("catalog") not in (None, catalog.name):
                skipped += 1
                continue
            try:
                plan = parse_plan(row["plan"], catalog)
            except PlanError:
                skipped += 1
                continue
            names = tuple(n for n in catalog.names if n in set(plan.names))
            out.append(Labelled(row["query"], row["plan"], names, row.get("today")))
    except DatasetError as err:
        raise ToolRAGError(str(err)) from None
    if not out:
        raise ToolRAGError(f"{path}: no usable case for catalog {catalog.name!r} "
                           f"({skipped} skipped)")
    return out, skipped


def label_matrix(cases: Sequence[Labelled], skills: Sequence[str]) -> np.ndarray:
    """(n, m) 0/1 float32 labels in the order of ``skills``."""
    index = {s: i for i, s in enumerate(skills)}
    y = np.zeros((len(cases), len(skills)), np.float32)
    for r, case in enumerate(cases):
        for s in case.skills:
            y[r, index[s]] = 1.0
    return y


@dataclass
class Encoded:
    """Token states (one (T_i, d) float16 array per command) and pooled embeddings (n, d)."""

    states: list[np.ndarray]
    pooled: np.ndarray
    #: Read from the cache rather than computed now.
    cached: bool = False


def encode_cached(
    encoder: Encoder, texts: Sequence[str], cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Encoded:
    """Encode ``texts``, reusing ``cache_dir/enc-<hash>.npz`` when a cache directory is given."""
    path: Path | None = None
    if cache_dir is not None:
        h = hashlib.sha256(encoder.sha256.encode())
        for t in texts:
            h.update(t.encode("utf-8") + b"\0")
        path = Path(cache_dir) / f"enc-{h.hexdigest()[:24]}.npz"
        if path.exists():
            with np.load(path) as data:
                offs = data["offsets"]
                flat = data["states"]
                states = [flat[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
                return Encoded(states, data["pooled"], cached=True)
    states, pooled = encoder.states_and_embed(texts, progress=progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        offs = np.cumsum([0] + [len(s) for s in states])
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, states=np.concatenate(states), offsets=offs, pooled=pooled)
        os.replace(tmp, path)
    return Encoded(states, pooled)


# =========================================================================== training

#: Head kinds :func:`train_toolrag` can fit.
HEAD_KINDS = ("attention", "mlp")


def train_toolrag(
    catalog: Catalog | str | os.PathLike[str],
    train_jsonl: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    val_jsonl: str | os.PathLike[str] | None = None,
    head: str = "attention",
    epochs: int | None = None,
    hidden: int = 256,
    attention: int = 128,
    lr: float | None = None,
    batch_size: int | None = None,
    weight_decay: float = 1e-4,
    pos_weight: float = 5.0,
    unserved_weight: float = 5.0,
    token_dropout: float = 0.15,
    threshold: float = DEFAULT_THRESHOLD,
    min_tools: int = DEFAULT_MIN_TOOLS,
    rules: bool = True,
    n_examples: int = 4000,
    seed: int = 0,
    encoder: Encoder | None = None,
    tune: TuneSettings | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    log: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Train a ToolRAG model for ``catalog`` on ``train_jsonl`` and write it to ``out_dir``.

    ``head``: ``attention`` (label-wise attention over token states, the
    default) or ``mlp`` (MLP over the pooled embedding; ``hidden`` 0 makes it
    linear). ``pos_weight`` > 1 favours recall; ``token_dropout`` hides that
    share of tokens in each training step (attention head). ``rules`` learns co-occurrence
    rules (a skill that always comes with another). Cases whose gold plan is
    empty (requests no skill serves) train a second head, ``serves.npz``: P(some
    skill serves), with its cut-off ``decline_below`` chosen on ``val_jsonl``
    (on the training data without one, which is optimistic: give a validation set);
    ``unserved_weight`` weighs them in its loss. Writes the heads,
    ``toolrag.json`` and the example store (``n_examples`` diverse training
    cases with embeddings; 0 skips it). ``tune`` (attention head only; needs
    the training extras) also fine-tunes the encoder's layers, starting from
    the head fitted on frozen states, and writes them as ``encoder.onnx``; the
    heads are then fitted again on the tuned encoder's states, while the
    example store keeps the installed encoder's embeddings (the retriever's).
    Returns the report that
    ``toolrag.json`` also records (data, sizes, time, metrics on
    ``val_jsonl`` or, without one, on the training set).
    """
    if head not in HEAD_KINDS:
        raise ToolRAGError(f"unknown head {head!r}; use {' or '.join(HEAD_KINDS)}")
    if tune is not None and head != "attention":
        raise ToolRAGError("tuning the encoder needs the attention head")
    say = log or (lambda _msg: None)
    started = time.perf_counter()
    cat = _as_catalog(catalog)
    encoder = encoder or default_encoder()
    out = Path(out_dir)
    train, skipped = read_labelled(train_jsonl, cat)
    say(f"{len(train)} training cases for catalog {cat.name} ({skipped} skipped)")
    skills = list(cat.names)
    queries = [c.query for c in train]
    t0 = time.perf_counter()
    enc = encode_cached(encoder, queries, cache_dir, progress)
    embed_s = time.perf_counter() - t0
    y = label_matrix(train, skills)
    say(f"encoded {len(train)} commands in {embed_s:.1f} s" + (" (cached)" if enc.cached else ""))
    served = y.any(axis=1)  # the skill head learns from commands some skill serves
    rows = np.nonzero(served)[0]
    settings: dict[str, Any]
    model: AnyHead
    attention_settings = {"attention": attention, "epochs": epochs or 8, "lr": lr or 3e-3,
                          "batch_size": batch_size or 64, "token_dropout": token_dropout}

    def attention_head(states: Sequence[np.ndarray]) -> AttentionHead:
        return train_attention_head([states[i] for i in rows], y[rows],
                                    weight_decay=weight_decay, pos_weight=pos_weight,
                                    seed=seed, progress=progress, **attention_settings)

    store_pooled = enc.pooled  # the example retriever embeds with the installed encoder
    tuning: dict[str, Any] | None = None
    if tune is not None:
        from tinyagent_ros.training.encoder_tuning import tune_encoder

        tuning = tune_encoder(queries, y, attention_head(enc.states).params(),
                              out / ENCODER_FILE, tune, progress=progress, log=say)
        encoder = tuned_encoder(out / ENCODER_FILE)
        enc = encode_cached(encoder, queries, cache_dir, progress)
    else:
        (out / ENCODER_FILE).unlink(missing_ok=True)
    t0 = time.perf_counter()
    if head == "attention":
        settings = attention_settings
        model = attention_head(enc.states)
    else:
        settings = {"hidden": hidden, "epochs": epochs or 30, "lr": lr or 2e-3,
                    "batch_size": batch_size or 128}
        model = train_head(enc.pooled[rows], y[rows], weight_decay=weight_decay,
                           pos_weight=pos_weight, seed=seed, progress=progress, **settings)
    head_s = time.perf_counter() - t0
    say(f"trained the {head} head in {head_s:.1f} s")
    implied = implied_skills(y[rows], skills) if rules else {}
    serves: AttentionHead | None = None
    if not served.all():  # requests no skill serves: learn to tell them apart
        serves = train_attention_head(enc.states, served[:, None].astype(np.float32),
                                      weight_decay=weight_decay, pos_weight=1.0,
                                      unserved_weight=unserved_weight, seed=seed,
                                      progress=progress, **attention_settings)
        say(f"trained the serves head on {int((~served).sum())} requests no skill serves")

    if val_jsonl is not None:
        val, _ = read_labelled(val_jsonl, cat)
        venc = encode_cached(encoder, [c.query for c in val], cache_dir, progress)
        yv, eval_on = label_matrix(val, skills), Path(val_jsonl).name
    else:
        venc, yv, eval_on = enc, y, "train"
    probs = model.probs_for(venc.states, venc.pooled)
    chosen = apply_implied(select_from_probs(probs, threshold, min_tools), skills, implied)
    metrics: dict[str, Any] = selection_metrics(chosen, yv)
    metrics |= {"cases": int(len(yv)), "data": eval_on}
    say(f"{eval_on}: recall {_num(metrics['tool_recall'], '.4f')}, "
        f"{_num(metrics['avg_tools'], '.2f')} tools on average")
    decline_below, decline = 0.0, {}
    if serves is not None:
        serve = serves.probs_for(venc.states, venc.pooled)[:, 0]
        decline_below, decline = choose_decline_below(serve, yv.any(axis=1))
    if decline:
        metrics["decline"] = decline
        say(f"{eval_on}: declining under {decline_below} turns away "
            f"{decline['unserved_declined']:.1%} of {decline['unserved_cases']} requests "
            f"nothing serves and {decline['served_declined']:.1%} of the others")

    out.mkdir(parents=True, exist_ok=True)
    save_head(model, out / HEAD_FILE)
    if serves is not None:
        save_head(serves, out / SERVES_FILE)
    else:
        (out / SERVES_FILE).unlink(missing_ok=True)
    examples = 0
    if n_examples:
        from tinyagent_ros.retrieval import write_example_store

        examples = write_example_store(out, [train[i] for i in rows], store_pooled[rows],
                                       skills, n_examples, seed=seed)  # no empty plans
        say(f"example store: {examples} cases")
    label_counts = y.sum(axis=0)
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "catalog": cat.name,
        "skills": skills,
        "threshold": threshold,
        "min_tools": min_tools,
        "decline_below": decline_below,
        "serves": None if serves is None else {
            "file": SERVES_FILE, "type": "attention", "output": "sigmoid: some skill serves",
            "unserved_weight": unserved_weight, "unserved_cases": int((~served).sum())},
        "implied": implied,
        "encoder": {
            "name": (ENCODER_FILE if tuning else
                     encoder.onnx_path.parent.name + "/" + encoder.onnx_path.name),
            "sha256": encoder.sha256,
            "features": "last_hidden_state token states (attention head) or their "
                        "attention-masked mean, L2-normalised (mlp head)",
            **({"tuned": tuning} if tuning else {}),
        },
        "head": {"type": head, **settings, "weight_decay": weight_decay,
                 "pos_weight": pos_weight, "seed": seed, "output": "sigmoid per skill"},
        "training": {
            "data": Path(train_jsonl).name,
            "cases": len(train),
            "skipped": skipped,
            "label_counts": {s: int(c) for s, c in zip(skills, label_counts, strict=True)},
            "embed_s": round(embed_s, 1), "embed_cached": enc.cached,
            "head_s": round(head_s, 1),
            "total_s": round(time.perf_counter() - started, 1),
            "trained_at": dt.datetime.now().isoformat(timespec="seconds"),
        },
        "metrics": metrics,
        "examples": examples,
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    say(f"wrote {out} in {meta['training']['total_s']:.1f} s")
    return meta


# =========================================================================== evaluation helper


def evaluate(selector: Any, cases: Sequence[Labelled]) -> dict[str, Any]:
    """Tool recall and average tools of any selector over the cases some skill serves.

    For a classifier that declines (it has a serves head), also the share of
    each kind of case it declines: served ones it should not, unserved ones it should.
    """
    queries = [c.query for c in cases]
    if hasattr(selector, "select_many"):
        chosen_lists = selector.select_many(queries)
    else:
        chosen_lists = [selector.select(q) for q in queries]
    served = [bool(c.skills) for c in cases]
    pairs = [(c, ch) for c, ch, s in zip(cases, chosen_lists, served, strict=True) if s]
    recall = [len(set(c.skills) & set(ch)) / len(c.skills) for c, ch in pairs]
    out: dict[str, Any] = {
        "cases": len(cases), "unserved_cases": served.count(False),
        "tool_recall": float(np.mean(recall)) if recall else None,
        "avg_tools": float(np.mean([len(ch) for _, ch in pairs])) if pairs else None,
        "all_gold_selected": float(np.mean([r == 1.0 for r in recall])) if recall else None,
    }
    if getattr(selector, "declines", False):
        declined = selector.serve_probs_many(queries) < selector.decline_below
        mask = np.array(served)
        out["served_declined"] = float(declined[mask].mean()) if mask.any() else None
        out["unserved_declined"] = float(declined[~mask].mean()) if (~mask).any() else None
    return out


# =========================================================================== CLI


@click.group("toolrag", context_settings={"help_option_names": ["-h", "--help"]})
def toolrag_cli() -> None:
    """Train and check the ToolRAG tool classifier (and its example store).

    \b
    Examples:
      tinyagent toolrag train --catalog my_robot.yaml --data my_train.jsonl --out models/mine
      tinyagent toolrag eval --model models/mine --data my_val.jsonl
    """


@toolrag_cli.command("train", short_help="Train a tool classifier for a catalog.")
@click.option("--catalog", "catalog", required=True,
              help="Catalog name (robot, mac) or YAML file.")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False),
              help="Training JSONL (query + gold plan per line).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory to write the model to.")
@click.option("--val", "val", type=click.Path(dir_okay=False), default=None,
              help="Validation JSONL to report recall on.")
@click.option("--head", "head", type=click.Choice(HEAD_KINDS), default="attention",
              show_default=True,
              help="attention: label-wise attention over token states; mlp: pooled embedding.")
@click.option("--epochs", type=click.IntRange(1, 1000), default=None,
              help="Passes over the data [attention: 8, mlp: 30].")
@click.option("--hidden", default=256, show_default=True, type=click.IntRange(0, 4096),
              help="Hidden units of the mlp head (0: linear).")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=None,
              help="Adam learning rate [attention: 3e-3, mlp: 2e-3].")
@click.option("--pos-weight", default=5.0, show_default=True,
              type=click.FloatRange(0, min_open=True),
              help="Loss weight of positive labels (above 1 favours recall).")
@click.option("--unserved-weight", default=5.0, show_default=True,
              type=click.FloatRange(0, min_open=True),
              help="Loss weight of requests no skill serves (gold: the empty plan) in the "
                   "serves head, which learns to decline them.")
@click.option("--token-dropout", default=0.15, show_default=True,
              type=click.FloatRange(0, 0.9),
              help="Share of tokens hidden at random in each training step (attention head).")
@click.option("--threshold", default=DEFAULT_THRESHOLD, show_default=True,
              type=click.FloatRange(0, 1))
@click.option("--rules/--no-rules", default=True, show_default=True,
              help="Learn 'skill A always comes with skill B' rules from the data.")
@click.option("--examples", "n_examples", default=4000, show_default=True,
              type=click.IntRange(0), help="Cases kept for example retrieval (0: none).")
@click.option("--tune-encoder", "tune_epochs", default=0.0, show_default=True,
              type=click.FloatRange(0, 100),
              help="Also fine-tune the encoder's layers for this many passes over the data "
                   "(0: keep it frozen). Needs requirements-train.txt; about 10 minutes an "
                   "epoch of 20,000 commands on 2 cores.")
@click.option("--tune-lr", default=5e-5, show_default=True,
              type=click.FloatRange(0, min_open=True), help="Encoder learning rate when tuning.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              help="Directory to cache encoder outputs in (reruns skip encoding).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def train_cmd(catalog: str, data: str, out: str, val: str | None, head: str,
              epochs: int | None, hidden: int, lr: float | None, pos_weight: float,
              unserved_weight: float, token_dropout: float, threshold: float, rules: bool,
              n_examples: int, tune_epochs: float, tune_lr: float, seed: int,
              cache_dir: str | None, as_json: bool, quiet: bool) -> None:
    """Train ToolRAG's classifier (and example store) for a catalog on a CPU.

    Labels are the skills of each gold plan. Encodes every command once with
    the installed MiniLM encoder (frozen), then fits the head with numpy; a
    few minutes for 20,000 commands on 2 cores. With --tune-encoder the
    encoder's layers are fine-tuned too (torch) and saved beside the head.
    Load the result with ToolClassifier.load(DIR) / ExampleRetriever.load(DIR).

    \b
    Example:
      tinyagent toolrag train --catalog robot --data train.jsonl --val val.jsonl --out models/r
    """
    def say(msg: str) -> None:
        if not quiet:
            click.echo(msg, err=True)

    tune = None
    if tune_epochs:
        from tinyagent_ros.training.encoder_tuning import TuneSettings

        tune = TuneSettings(epochs=tune_epochs, lr=tune_lr, seed=seed)
    try:
        meta = train_toolrag(catalog, data, out, val_jsonl=val, head=head, epochs=epochs,
                             hidden=hidden, lr=lr, pos_weight=pos_weight,
                             unserved_weight=unserved_weight, token_dropout=token_dropout,
                             threshold=threshold, rules=rules, n_examples=n_examples,
                             seed=seed, tune=tune, cache_dir=cache_dir, progress=not quiet,
                             log=say)
    except (ToolRAGError, EncoderError) as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(json.dumps(meta))
    else:
        m = meta["metrics"]
        click.echo(f"{out}: recall {_num(m['tool_recall'], '.4f')} with "
                   f"{_num(m['avg_tools'], '.2f')} tools "
                   f"on {m['data']} ({m['cases']} cases); {meta['training']['total_s']:.0f} s")


@toolrag_cli.command("eval", short_help="Tool recall of a model on a dataset.")
@click.option("--model", "model", required=True, help="Catalog name or model directory.")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False))
@click.option("--catalog", "catalog", default=None,
              help="Catalog name or YAML file (default: the one the model was trained for).")
@click.option("--threshold", default=None, type=click.FloatRange(0, 1),
              help="Override the model's threshold.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_cmd(model: str, data: str, catalog: str | None, threshold: float | None,
             as_json: bool) -> None:
    """Print tool recall and the average number of selected skills.

    \b
    Example:
      tinyagent toolrag eval --model robot --data test/data/natural_robot.jsonl
    """
    try:
        clf = ToolClassifier.load(model, threshold=threshold)
        cat = _as_catalog(catalog or clf.catalog_name)
        if cat.names != clf.skills:
            raise ToolRAGError(f"catalog {cat.name!r} does not have the model's skills")
        cases, _ = read_labelled(data, cat)
    except (ToolRAGError, EncoderError) as err:
        raise click.ClickException(str(err)) from None
    result = evaluate(clf, cases)
    if as_json:
        click.echo(json.dumps(result))
    else:
        line = (f"{data}: recall {_num(result['tool_recall'], '.4f')}, "
                f"{_num(result['avg_tools'], '.2f')} tools, {result['cases']} cases")
        if "served_declined" in result:
            line += (f"; declined {_num(result['served_declined'], '.1%')} of the served and "
                     f"{_num(result['unserved_declined'], '.1%')} of "
                     f"{result['unserved_cases']} unserved")
        click.echo(line)
