"""Training pairs for the planner: the exact runtime prompt and the plan the grammar writes.

For each dataset case the prompt is :func:`tinyagent_ros.prompt.build_prompt`
with the skills a ToolRAG selector would offer: the gold plan's skills plus a
few random irrelevant ones (TinyAgent found such negatives important), in
catalog order, optionally with ``examples_k`` in-context examples taken from
other training cases that only use offered skills, and the case's ``today``.
The prompt is rendered with the model's chat template through the same
:func:`tinyagent_ros.planner.format_chat` the runtime uses. The target is the
gold plan in canonical form (``Plan.render()`` without thoughts, which is what
the grammar-constrained decoder writes) followed by the end-of-turn token;
only target tokens carry loss.

Nothing here needs torch: tokenizers are duck-typed (a Hugging Face tokenizer,
or a ``llama_cpp.Llama`` for the runtime check).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyagent_ros.catalog import Catalog, load_catalog
from tinyagent_ros.dataset import Case, load_cases
from tinyagent_ros.grammar import DEFAULT_MAX_TASKS
from tinyagent_ros.plan import REF_PATTERN, Join, Plan, whole_ref
from tinyagent_ros.prompt import Example, Prompt, build_prompt

#: Label value that carries no loss (PyTorch's cross-entropy ``ignore_index``).
IGNORE = -100
CATALOGS = ("robot", "mac")


class TrainingDataError(ValueError):
    """Training data that cannot be used; one line naming the file or case."""


@dataclass(frozen=True)
class PairSettings:
    """How prompts are built for training (recorded in ``training_config.json``)."""

    skills_min: int = 5
    skills_max: int = 7
    min_negatives: int = 1
    p_all_skills: float = 0.1
    examples_k: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.skills_min <= self.skills_max:
            raise ValueError("need 1 <= skills_min <= skills_max")
        if self.min_negatives < 0 or self.examples_k < 0:
            raise ValueError("min_negatives and examples_k must be >= 0")
        if not 0.0 <= self.p_all_skills <= 1.0:
            raise ValueError("p_all_skills must lie in [0, 1]")

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainingPair:
    """One training example: the runtime prompt and the canonical gold plan."""

    case_id: str
    catalog: str
    prompt: Prompt
    target: str
    negatives: tuple[str, ...]
    today: dt.date | None

    @property
    def skills(self) -> tuple[str, ...]:
        """The skills offered in the prompt, in catalog order."""
        return self.prompt.skills


# --------------------------------------------------------------------------- data


def split_files(data_dir: str | Path, catalog: str, split: str) -> list[Path]:
    """``DATA/{robot,mac}_{split}.jsonl`` for a catalog (``both`` gives both files)."""
    names = CATALOGS if catalog == "both" else (catalog,)
    if catalog != "both" and catalog not in CATALOGS:
        raise TrainingDataError(f"unknown catalog {catalog!r}; use robot, mac or both")
    return [Path(data_dir) / f"{name}_{split}.jsonl" for name in names]


def load_split(data_dir: str | Path, catalog: str, split: str,
               limit: int | None = None) -> list[Case]:
    """The cases of a split; with ``both`` and a limit, the limit applies per catalog."""
    cases: list[Case] = []
    for path in split_files(data_dir, catalog, split):
        if not path.is_file():
            raise TrainingDataError(f"{path}: no such data file")
        cases.extend(load_cases(path, limit))
    return cases


def canonical_plan(plan: Plan) -> str:
    """The plan as the grammar-constrained decoder writes it: no thoughts, canonical literals."""
    tasks = tuple(dataclasses.replace(t, thought=None) for t in plan.tasks)
    return Plan(tasks, Join(plan.join.idx)).render()


_FLOAT_EXP = re.compile(r"(?<![\w\"])-?\d+(?:\.\d+)?[eE][-+]?\d+")


def grammar_problem(plan: Plan, max_tasks: int = DEFAULT_MAX_TASKS) -> str | None:
    """Why the runtime grammar could not write this plan, or None if it can."""
    if len(plan.tasks) + 1 > max_tasks:
        return f"{len(plan.tasks) + 1} steps, the grammar allows {max_tasks}"

    def walk(value: Any) -> str | None:
        if isinstance(value, str):
            if whole_ref(value) is None and REF_PATTERN.search(value):
                return "a reference inside a longer string"
            if any(ch in value for ch in "\n\r"):
                return "a line break in a string"
        if isinstance(value, float) and "e" in repr(value):
            return "a float in exponent notation"
        if isinstance(value, float) and len(repr(value).split(".")[-1]) > 6:
            return "a float with more than 6 decimals"
        if isinstance(value, list | tuple):
            for item in value:
                why = walk(item)
                if why:
                    return why
        return None

    for task in plan.tasks:
        for arg in task.args:
            why = walk(arg)
            if why:
                return f"task {task.idx}: {why}"
    return None


def offer_skills(gold: Iterable[str], catalog: Catalog, rng: random.Random,
                 settings: PairSettings) -> tuple[list[str], list[str]]:
    """The offered skills (catalog order) and the negatives among them.

    All gold skills, plus random others up to a total drawn from
    ``[skills_min, skills_max]`` (at least ``min_negatives``); with
    probability ``p_all_skills`` the whole catalog, as when no selector is set.
    """
    gold_set = {g for g in gold if g in catalog}
    others = [n for n in catalog.names if n not in gold_set]
    if rng.random() < settings.p_all_skills:
        negatives = others
    else:
        total = rng.randint(settings.skills_min, settings.skills_max)
        n_neg = max(settings.min_negatives, total - len(gold_set))
        negatives = rng.sample(others, min(n_neg, len(others)))
    chosen = gold_set | set(negatives)
    offered = [n for n in catalog.names if n in chosen]
    return offered, [n for n in catalog.names if n in set(negatives)]


_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


@dataclass(frozen=True)
class _PoolItem:
    case: Case
    skills: frozenset[str]
    words: frozenset[str]
    plan: str


def _pool(cases: Sequence[Case], catalogs: dict[str, Catalog]) -> dict[str, list[_PoolItem]]:
    pool: dict[str, list[_PoolItem]] = {}
    for case in cases:
        plan = case.gold(catalogs[case.catalog])
        pool.setdefault(case.catalog, []).append(
            _PoolItem(case, frozenset(plan.names), _words(case.query), canonical_plan(plan)))
    return pool


def choose_examples(case: Case, offered: Sequence[str], pool: Sequence[_PoolItem], k: int,
                    rng: random.Random) -> list[Example]:
    """Up to ``k`` other cases using only offered skills, most word-similar first.

    A cheap stand-in for the runtime's embedding retriever (same eligibility rule:
    every skill of an example lies among the offered skills).
    """
    if k <= 0:
        return []
    allowed = set(offered)
    words = _words(case.query)
    scored = []
    for item in pool:
        if item.case.id == case.id or item.case.query == case.query or not item.skills <= allowed:
            continue
        union = len(words | item.words) or 1
        scored.append((len(words & item.words) / union, rng.random(), item))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [Example(item.case.query, item.plan, item.case.today) for _, _, item in scored[:k]]


def case_today(case: Case) -> dt.date | None:
    """The date the runtime tells the planner: the case's, else today's for mac, else none."""
    if case.today is not None:
        return case.today
    return dt.date.today() if case.catalog == "mac" else None


def build_pairs(cases: Sequence[Case], settings: PairSettings | None = None,
                pool_cases: Sequence[Case] | None = None,
                catalogs: dict[str, Catalog] | None = None) -> tuple[list[TrainingPair], list[str]]:
    """Training pairs for ``cases`` (deterministic for a seed), and the skipped cases' reasons.

    ``pool_cases`` (default: ``cases``) are where in-context examples come from.
    """
    settings = settings or PairSettings()
    catalogs = dict(catalogs or {})
    for case in cases:
        if case.catalog not in catalogs:
            catalogs[case.catalog] = load_catalog(case.catalog)
    pool = _pool(pool_cases if pool_cases is not None else cases, catalogs) \
        if settings.examples_k > 0 else {}
    rng = random.Random(settings.seed)
    pairs: list[TrainingPair] = []
    skipped: list[str] = []
    for case in cases:
        catalog = catalogs[case.catalog]
        try:
            plan = case.gold(catalog)
        except ValueError as err:
            skipped.append(f"{case.id}: invalid gold plan ({err})")
            continue
        why = grammar_problem(plan)
        if why:
            skipped.append(f"{case.id}: the runtime grammar cannot write it ({why})")
            continue
        offered, negatives = offer_skills(plan.names, catalog, rng, settings)
        examples = choose_examples(case, offered, pool.get(case.catalog, []),
                                   settings.examples_k, rng)
        today = case_today(case)
        prompt = build_prompt(catalog, case.query, offered, examples, today)
        pairs.append(TrainingPair(case.id, case.catalog, prompt, canonical_plan(plan),
                                  tuple(negatives), today))
    return pairs, skipped


# --------------------------------------------------------------------------- chat + tokens


class HFChatShim:
    """Lets :func:`tinyagent_ros.planner.format_chat` run on a Hugging Face tokenizer.

    ``format_chat`` reads ``metadata["tokenizer.chat_template"]``, ``token_bos``,
    ``token_eos`` and ``detokenize`` of a ``llama_cpp.Llama``; this provides the
    same from the tokenizer that transformers loads out of the GGUF.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        template = getattr(tokenizer, "chat_template", None)
        self.metadata = {"tokenizer.chat_template": template} if template else {}

    def token_bos(self) -> int:
        """The BOS token id, -1 if none."""
        bos = self.tokenizer.bos_token_id
        return -1 if bos is None else int(bos)

    def token_eos(self) -> int:
        """The EOS token id, -1 if none."""
        eos = self.tokenizer.eos_token_id
        return -1 if eos is None else int(eos)

    def detokenize(self, tokens: list[int], special: bool = True) -> bytes:
        """UTF-8 bytes of the tokens."""
        return self.tokenizer.decode(tokens, skip_special_tokens=not special).encode("utf-8")


def chat_text(model_or_tokenizer: Any, prompt: Prompt) -> str:
    """The prompt as the runtime renders it (chat template, reply open)."""
    from tinyagent_ros.planner import format_chat

    target = model_or_tokenizer
    if not hasattr(target, "detokenize"):
        target = HFChatShim(target)
    return format_chat(target, prompt.messages())


def end_of_turn_id(tokenizer: Any) -> int:
    """The token that ends the assistant's turn (``<|im_end|>`` for Qwen), else EOS."""
    for name in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>"):
        try:
            tid = tokenizer.convert_tokens_to_ids(name)
        except (KeyError, ValueError):
            continue
        if isinstance(tid, int) and tid >= 0 and tid != tokenizer.unk_token_id:
            return tid
    if tokenizer.eos_token_id is None:
        raise TrainingDataError("the tokenizer has no end-of-turn or EOS token")
    return int(tokenizer.eos_token_id)


@dataclass(frozen=True)
class Encoded:
    """Token ids of one pair with its loss labels (``IGNORE`` on the prompt)."""

    case_id: str
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    n_prompt: int

    @property
    def n_target(self) -> int:
        """Tokens that carry loss (the plan and the end-of-turn token)."""
        return len(self.input_ids) - self.n_prompt


def encode_pair(tokenizer: Any, pair: TrainingPair, max_len: int | None = None,
                add_bos: bool = False, eot_id: int | None = None,
                text: str | None = None) -> Encoded | None:
    """Tokenise prompt and target separately (as at run time); None if over ``max_len``."""
    text = text if text is not None else chat_text(tokenizer, pair.prompt)
    prompt_ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    if add_bos and tokenizer.bos_token_id is not None:
        prompt_ids = [int(tokenizer.bos_token_id)] + prompt_ids
    target_ids = list(tokenizer(pair.target, add_special_tokens=False)["input_ids"])
    target_ids.append(end_of_turn_id(tokenizer) if eot_id is None else eot_id)
    ids = prompt_ids + target_ids
    if max_len is not None and len(ids) > max_len:
        return None
    labels = [IGNORE] * len(prompt_ids) + target_ids
    return Encoded(pair.case_id, tuple(ids), tuple(labels), len(prompt_ids))


def runtime_prompt_tokens(llm: Any, text: str) -> list[int]:
    """The prompt tokens ``Llama.create_completion(text)`` evaluates (llama-cpp-python 0.3.36)."""
    model = llm._model
    cls, sep = model.token_cls(), model.token_sep()
    bos = [cls if cls != -1 else llm.token_bos()] if model.add_bos_token() else []
    if bos[:1] == [-1]:
        bos = []
    eos = [sep if sep != -1 else llm.token_eos()]
    if not model.add_eos_token() and sep == -1:
        eos = []
    return bos + llm.tokenize(text.encode("utf-8"), add_bos=False, special=True) + eos


def open_vocab(gguf_path: str | Path) -> Any:
    """A vocabulary-only ``llama_cpp.Llama`` of a GGUF (no weights; fast)."""
    from llama_cpp import Llama

    return Llama(model_path=str(gguf_path), vocab_only=True, verbose=False)


def runtime_add_bos(gguf_path: str | Path) -> bool:
    """Whether llama.cpp puts a BOS token before the prompt of this model.

    Read from the GGUF's ``tokenizer.ggml.add_bos_token`` where it is set (so a
    GPU machine without llama.cpp can train); llama.cpp's own default otherwise.
    """
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_path)).fields.get("tokenizer.ggml.add_bos_token")
    if field is not None:
        return bool(field.contents())
    return bool(open_vocab(gguf_path)._model.add_bos_token())


def verify_token_match(gguf_path: str | Path, tokenizer: Any, pair: TrainingPair,
                       add_bos: bool = False) -> dict[str, Any]:
    """Compare the training tokens of a pair's prompt with what llama.cpp evaluates at run time.

    The runtime text comes from ``format_chat`` on the real ``Llama`` (vocab only)
    and its tokens from the same path as ``create_completion``; the training
    side is :func:`encode_pair` with the Hugging Face tokenizer.
    """
    llm = open_vocab(gguf_path)
    runtime_text = chat_text(llm, pair.prompt)
    train_text = chat_text(tokenizer, pair.prompt)
    runtime_ids = runtime_prompt_tokens(llm, runtime_text)
    enc = encode_pair(tokenizer, pair, add_bos=add_bos, text=train_text)
    assert enc is not None
    train_ids = list(enc.input_ids[: enc.n_prompt])
    first_diff = next((i for i, (a, b) in enumerate(zip(runtime_ids, train_ids, strict=False))
                       if a != b), None)
    if first_diff is None and len(runtime_ids) != len(train_ids):
        first_diff = min(len(runtime_ids), len(train_ids))
    target_runtime = llm.tokenize(pair.target.encode("utf-8"), add_bos=False, special=True)
    target_train = list(enc.input_ids[enc.n_prompt:-1])
    return {
        "case_id": pair.case_id,
        "text_match": runtime_text == train_text,
        "ids_match": runtime_ids == train_ids,
        "target_ids_match": target_runtime == target_train,
        "prompt_tokens": len(runtime_ids),
        "first_diff": first_diff,
        "eot_id": enc.input_ids[-1],
        "runtime_eos_id": llm.token_eos(),
    }
