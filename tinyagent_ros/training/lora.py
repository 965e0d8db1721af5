"""LoRA fine-tuning of the planner on (runtime prompt, canonical plan) pairs.

The base model is the planner's own GGUF, loaded and dequantised by
transformers (``from_pretrained(dir, gguf_file=...)``), so the adapter is
trained against the weights llama.cpp runs (up to quantisation). LoRA sits on
the attention and MLP projections; AdamW, warm-up then cosine decay, gradient
accumulation; loss on plan tokens only. Checkpoints every N steps hold the
adapter, optimizer, schedule and RNG state, and ``resume`` continues from the
newest one with the same data order. ``init_adapter`` starts a new run (fresh
optimizer and schedule; the data order of its ``seed``) from a trained adapter:
more training on other examples, or a shipped adapter adapted to a user's own
catalog.

CPU option ``prefix_cache`` (default on): every prompt of a catalog starts with
the same instructions and rules. Once per optimizer step their keys and values
are computed without gradient, with the current adapter, and every example
runs only its own suffix (skills, question, plan) on top of them. The forward
pass is exact; the only change is that no gradient flows into the adapter
through the shared prefix. This cuts CPU time per example roughly in half.

``preferences`` (a ``tinyagent bench --out`` file over training commands)
switches the objective to DPO (Rafailov et al., 2023), the stretch goal of
issue 9: each command the planner got wrong pairs the gold plan (chosen) with
the complete plan the planner wrote (rejected), under the same runtime prompt.
The reference is the starting adapter, scored once before the first step. The
loss is ``-log sigmoid(beta * (chosen gain - rejected gain))``, where a gain is
a plan's summed log-probability now minus under the reference, plus
``sft_weight`` times the chosen plan's mean token loss, which keeps the gold
plan's own likelihood from sinking with the rejected one's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyagent_ros.encoder import file_sha256
from tinyagent_ros.training.examples import (
    IGNORE,
    Encoded,
    PairSettings,
    TrainingDataError,
    build_pairs,
    encode_pair,
    load_split,
    runtime_add_bos,
    split_files,
    verify_token_match,
)
from tinyagent_ros.training.mining import rejected_plans

#: LoRA targets: all attention and MLP projections of Qwen2/Llama-style models.
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CONFIG_FILE = "training_config.json"
LOG_FILE = "train_log.jsonl"
BASE_CONFIG_DIR = "base"
CHECKPOINTS = "checkpoints"
#: Steps in a row whose loss or gradient is NaN/inf before a run gives up (each one is skipped).
MAX_NONFINITE_STEPS = 10
DTYPES = ("float32", "bfloat16")


class TrainingError(RuntimeError):
    """Training cannot start or continue; one line naming the cause."""


@dataclass
class TrainSettings:
    """Every knob of a training run (all recorded in ``training_config.json``)."""

    catalog: str = "robot"
    data_dir: str = "data"
    out_dir: str = "out/planner-lora"
    base_gguf: str | None = None
    base_hf: str | None = None
    steps: int | None = None
    epochs: float = 1.0
    lr: float = 2e-4
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    batch: int = 1
    grad_accum: int = 8
    max_len: int = 1536
    warmup_steps: int = 5
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    examples_k: int = 0
    #: ``tinyagent bench --out`` verdicts over training commands: train with DPO on them.
    preferences: str | None = None
    dpo_beta: float = 0.1
    sft_weight: float = 1.0
    skills_min: int = 5
    skills_max: int = 7
    min_negatives: int = 1
    p_all_skills: float = 0.1
    limit: int | None = None
    #: A trained PEFT adapter directory to start from (fresh optimizer and schedule).
    init_adapter: str | None = None
    checkpoint_every: int = 50
    keep_checkpoints: int = 2
    resume: bool = False
    threads: int | None = None
    device: str | None = None
    #: float32 everywhere by default: a bfloat16 run on an H100 hit NaN gradients at step ~50.
    dtype: str = "float32"
    prefix_cache: bool = True
    target_modules: tuple[str, ...] = DEFAULT_TARGETS
    max_minutes: float | None = None
    verify_tokens: bool = True
    progress: bool = True

    def pair_settings(self) -> PairSettings:
        """How prompts are built."""
        return PairSettings(self.skills_min, self.skills_max, self.min_negatives,
                            self.p_all_skills, self.examples_k, self.seed)

    def fingerprint(self) -> str:
        """Hash of the settings that must not change across a resume."""
        keep = {k: v for k, v in dataclasses.asdict(self).items()
                if k not in {"steps", "resume", "threads", "device", "dtype", "progress",
                             "max_minutes", "checkpoint_every", "keep_checkpoints", "out_dir",
                             "verify_tokens"}}
        return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class TrainResult:
    """What a run did."""

    out_dir: Path
    steps: int
    total_steps: int
    examples: int
    final_loss: float | None
    seconds: float
    tokens_per_s: float
    computed_tokens_per_s: float
    s_per_step: float
    stopped_early: bool
    log: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def lr_lambda(warmup: int, total: int) -> Callable[[int], float]:
    """Linear warm-up, then cosine decay to zero at ``total`` steps."""
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return f


def example_order(n: int, seed: int, epoch: int) -> list[int]:
    """The order of the examples in an epoch (depends only on seed and epoch: resumable)."""
    order = list(range(n))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def step_batches(step: int, n: int, batch: int, accum: int, seed: int) -> list[list[int]]:
    """The micro-batches (example indices) of optimizer step ``step``."""
    per_step = batch * accum
    out: list[list[int]] = []
    for m in range(accum):
        ids = []
        for j in range(batch):
            pos = step * per_step + m * batch + j
            epoch, k = divmod(pos, n)
            ids.append(example_order(n, seed, epoch)[k])
        out.append(ids)
    return out


def common_prefix(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix of token sequences."""
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for i in range(n):
        t = first[i]
        if any(s[i] != t for s in seqs):
            return i
    return n


def load_base(settings: TrainSettings, dtype: Any) -> tuple[Any, Any, str]:
    """The base causal LM and tokenizer (from the GGUF, or an HF directory), and its name."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if settings.base_hf:
        path = settings.base_hf
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        return model, tok, str(path)
    gguf = Path(settings.base_gguf or default_base_gguf())
    if not gguf.is_file():
        raise TrainingError(f"base model not found: {gguf}")
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=dtype)
    return model, tok, str(gguf)


def default_base_gguf() -> Path:
    """The installed planner GGUF (``tinyagent models install``)."""
    from tinyagent_ros.models import ModelError, model_path

    try:
        return model_path("planner-0.5b")
    except ModelError as err:
        raise TrainingError(str(err)) from None


def save_base_config(model: Any, out: Path) -> Path:
    """``out/base/config.json``: the base model's HF config, which llama.cpp's converter needs."""
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    cfg.setdefault("architectures", [type(model).__name__])
    if not cfg.get("architectures"):
        cfg["architectures"] = [type(model).__name__]
    base = out / BASE_CONFIG_DIR
    base.mkdir(parents=True, exist_ok=True)
    (base / "config.json").write_text(json.dumps(cfg, indent=2, default=str) + "\n")
    return base


# --------------------------------------------------------------------------- checkpoints


def _checkpoint_dirs(out: Path) -> list[Path]:
    root = out / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted((p for p in root.glob("step-*") if (p / "state.json").is_file()),
                  key=lambda p: int(p.name.split("-")[1]))


def save_checkpoint(out: Path, step: int, model: Any, optimizer: Any, scheduler: Any,
                    fingerprint: str, log: list[dict[str, Any]], keep: int) -> Path:
    """Write ``checkpoints/step-N`` atomically (adapter weights, optimizer, schedule, RNG)."""
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    root = out / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:06d}"
    tmp = root / f".tmp-step-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    state = get_peft_model_state_dict(model)
    weights = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    save_file(weights, str(tmp / "adapter.safetensors"))
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(), "python_rng": random.getstate()},
               tmp / "trainer.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, "fingerprint": fingerprint,
                                                "log": log}) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in _checkpoint_dirs(out)[:-max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path, model: Any, optimizer: Any, scheduler: Any,
                    fingerprint: str) -> tuple[int, list[dict[str, Any]]]:
    """Restore a checkpoint into model/optimizer/scheduler; returns (step, log)."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    state = json.loads((path / "state.json").read_text())
    if state["fingerprint"] != fingerprint:
        raise TrainingError(f"{path} was written with other settings or data; "
                            "use the same options or a new --out directory")
    set_peft_model_state_dict(model, load_file(str(path / "adapter.safetensors")))
    trainer = torch.load(path / "trainer.pt", weights_only=False)
    optimizer.load_state_dict(trainer["optimizer"])
    scheduler.load_state_dict(trainer["scheduler"])
    torch.set_rng_state(trainer["torch_rng"])
    random.setstate(trainer["python_rng"])
    return int(state["step"]), list(state["log"])


#: llama.cpp's tensor names of a Qwen2/Llama block -> transformers' module paths.
GGUF_MODULES = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
                "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
                "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def gguf_adapter_state(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A GGUF LoRA adapter (as llama.cpp loads it) as a PEFT state dict and its config.

    The shipped adapters exist only as GGUF, so this is how training goes on from them.
    """
    import numpy as np
    import torch

    from tinyagent_ros.lora_merge import MergeError, lora_pairs, read_gguf

    try:
        pairs, alpha = lora_pairs(read_gguf(path), path)
    except MergeError as err:
        raise TrainingError(f"--init-adapter {err}") from None
    state: dict[str, Any] = {}
    modules, ranks = set(), set()
    for name, (a, b) in pairs.items():
        parts = name.split(".")  # blk.N.attn_q.weight
        if len(parts) != 4 or parts[0] != "blk" or parts[2] not in GGUF_MODULES:
            raise TrainingError(f"--init-adapter {path}: no transformers module for {name}")
        module = GGUF_MODULES[parts[2]]
        prefix = f"base_model.model.model.layers.{int(parts[1])}.{module}"
        # numpy order is already PEFT's: lora_A [rank, in], lora_B [out, rank]
        state[f"{prefix}.lora_A.weight"] = torch.from_numpy(np.array(a.data, np.float32))
        state[f"{prefix}.lora_B.weight"] = torch.from_numpy(np.array(b.data, np.float32))
        modules.add(module.rsplit(".", 1)[1])
        ranks.add(int(a.data.shape[0]))
    if len(ranks) != 1:
        raise TrainingError(f"--init-adapter {path}: mixed LoRA ranks {sorted(ranks)}")
    return state, {"r": ranks.pop(), "lora_alpha": alpha, "target_modules": sorted(modules)}


def _peft_adapter_state(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from safetensors.torch import load_file

    weights = path / "adapter_model.safetensors"
    try:
        cfg = json.loads((path / "adapter_config.json").read_text())
    except (OSError, ValueError) as err:
        raise TrainingError(f"--init-adapter {path}: no readable adapter_config.json "
                            f"({err})") from None
    if not weights.is_file():
        raise TrainingError(f"--init-adapter {path}: {weights.name} is missing")
    return load_file(str(weights)), cfg


def load_init_adapter(path: Path, model: Any, lora: Any) -> dict[str, Any]:
    """Load a trained adapter (a PEFT directory or a GGUF file) into a fresh PEFT model.

    Returns its record for ``training_config.json`` (path, sha256 of the weights).
    """
    from peft import set_peft_model_state_dict

    is_gguf = path.is_file()
    state, cfg = gguf_adapter_state(path) if is_gguf else _peft_adapter_state(path)
    want = {"r": lora.r, "lora_alpha": lora.lora_alpha,
            "target_modules": sorted(lora.target_modules)}
    have = {"r": cfg.get("r"), "lora_alpha": cfg.get("lora_alpha"),
            "target_modules": sorted(cfg.get("target_modules") or [])}
    if want != have:
        raise TrainingError(f"--init-adapter {path}: adapter is {have}, this run is {want}; "
                            "use the same --rank, --alpha and targets")
    weights = path if is_gguf else path / "adapter_model.safetensors"
    try:
        result = set_peft_model_state_dict(model, state)
    except RuntimeError as err:  # shapes of another model
        raise TrainingError(f"--init-adapter {path}: weights do not fit the model "
                            f"({str(err).splitlines()[-1].strip()})") from None
    unexpected = getattr(result, "unexpected_keys", None) or []
    missing = [k for k in getattr(result, "missing_keys", None) or [] if "lora_" in k]
    if unexpected or missing:
        raise TrainingError(f"--init-adapter {path}: weights do not fit the model "
                            f"({len(unexpected)} unexpected, {len(missing)} missing, e.g. "
                            f"{(unexpected or missing)[0]})")
    return {"path": str(path), "sha256": file_sha256(weights)}


# --------------------------------------------------------------------------- the step


class _Stepper:
    """Computes the summed token loss of micro-batches, with or without the shared prefix."""

    def __init__(self, model: Any, examples: Sequence[Encoded], catalogs: Sequence[str],
                 pad_id: int, device: Any, prefix_cache: bool) -> None:
        self.model = model
        self.examples = examples
        self.catalogs = catalogs
        self.pad_id = pad_id
        self.device = device
        self.prefix: dict[str, tuple[int, ...]] = {}
        if prefix_cache:
            for cat in sorted(set(catalogs)):
                seqs = [e.input_ids for e, c in zip(examples, catalogs, strict=True) if c == cat]
                # leave at least one prompt token in the suffix: it predicts the first plan token
                n = min(common_prefix(seqs), min(e.n_prompt for e, c in
                                                 zip(examples, catalogs, strict=True)
                                                 if c == cat) - 1)
                if n >= 8:
                    self.prefix[cat] = tuple(seqs[0][:n])
        self._kv: dict[str, Any] = {}

    def _lm(self) -> Any:
        """The causal LM inside the PEFT wrapper (LoRA layers are injected in place)."""
        return self.model.get_base_model()

    def begin_step(self) -> None:
        """Forget the prefix keys/values: the adapter changed."""
        self._kv = {}

    def _prefix_kv(self, cat: str) -> Any:
        import torch

        if cat not in self._kv:
            lm = self._lm()
            was_training = lm.training
            lm.eval()
            with torch.no_grad():
                ids = torch.tensor([self.prefix[cat]], device=self.device)
                cache = lm.model(input_ids=ids, use_cache=True).past_key_values
            lm.train(was_training)
            self._kv[cat] = [(layer.keys, layer.values) for layer in cache.layers]
        return self._kv[cat]

    def logps(self, idx: Sequence[int]) -> tuple[Any, int, int]:
        """Each example's summed plan-token log-probability (``idx`` order), tokens run, covered."""
        import torch
        import torch.nn.functional as F
        from transformers.cache_utils import DynamicCache

        lm = self._lm()
        groups: dict[str, list[int]] = {}
        for pos, i in enumerate(idx):
            key = self.catalogs[i] if self.catalogs[i] in self.prefix else ""
            groups.setdefault(key, []).append(pos)
        out = torch.zeros(len(idx), device=self.device)
        ran = covered = 0
        for key, positions in groups.items():
            members = [idx[pos] for pos in positions]
            p = len(self.prefix[key]) if key else 0
            seqs = [self.examples[i].input_ids[p:] for i in members]
            labs = [self.examples[i].labels[p:] for i in members]
            width = max(len(s) for s in seqs)
            b = len(members)
            ids = torch.full((b, width), self.pad_id, dtype=torch.long)
            labels = torch.full((b, width), IGNORE, dtype=torch.long)
            mask = torch.zeros((b, p + width), dtype=torch.long)
            for r, (s, lab) in enumerate(zip(seqs, labs, strict=True)):
                ids[r, : len(s)] = torch.tensor(s)
                labels[r, : len(lab)] = torch.tensor(lab)
                mask[r, : p + len(s)] = 1
            ids, labels, mask = ids.to(self.device), labels.to(self.device), mask.to(self.device)
            kwargs: dict[str, Any] = {}
            if key:
                kv = self._prefix_kv(key)
                kwargs["past_key_values"] = DynamicCache(
                    ddp_cache_data=[(k.expand(b, -1, -1, -1).contiguous(),
                                     v.expand(b, -1, -1, -1).contiguous()) for k, v in kv],
                    config=lm.config)
                kwargs["use_cache"] = True
            hidden = lm.model(input_ids=ids, attention_mask=mask, **kwargs).last_hidden_state
            # logits only where a plan token is predicted (the LM head is a large matmul)
            shift = labels[:, 1:]
            keep = shift != IGNORE
            logits = lm.lm_head(hidden[:, :-1][keep])
            token_logps = -F.cross_entropy(logits.float(), shift[keep], reduction="none")
            rows = torch.as_tensor(positions, device=self.device)[keep.nonzero()[:, 0]]
            out = out.index_add(0, rows, token_logps)
            ran += int(sum(len(s) for s in seqs))
            covered += int(sum(len(self.examples[i].input_ids) for i in members))
        return out, ran, covered

    def loss_sum(self, idx: Sequence[int]) -> tuple[Any, int, int]:
        """Summed cross-entropy of the plan tokens of these examples, tokens run, tokens covered."""
        logps, ran, covered = self.logps(idx)
        return -logps.sum(), ran, covered

    def n_target(self, idx: Sequence[int]) -> int:
        """Loss tokens of these examples."""
        return sum(self.examples[i].n_target for i in idx)


class _TokenLoss:
    """Supervised fine-tuning: the mean token loss of the gold plans."""

    def __init__(self, stepper: _Stepper) -> None:
        self.stepper = stepper
        self.items = len(stepper.examples)

    def scale(self, batches: Sequence[Sequence[int]]) -> float:
        """What a step's summed loss is divided by: its plan tokens."""
        return float(sum(self.stepper.n_target(b) for b in batches))

    def loss(self, mb: Sequence[int]) -> tuple[Any, int, int, dict[str, float]]:
        """Summed loss of a micro-batch, tokens run and covered, and nothing else to log."""
        loss, ran, covered = self.stepper.loss_sum(mb)
        return loss, ran, covered, {}


class _PreferenceLoss:
    """DPO on pairs: example ``2k`` is pair k's chosen (gold) plan, ``2k + 1`` its rejected one."""

    def __init__(self, stepper: _Stepper, reference: Any, beta: float, sft_weight: float) -> None:
        self.stepper = stepper
        self.reference = reference
        self.beta = beta
        self.sft_weight = sft_weight
        self.items = len(stepper.examples) // 2

    def scale(self, batches: Sequence[Sequence[int]]) -> float:
        """What a step's summed loss is divided by: its pairs."""
        return float(sum(len(b) for b in batches))

    def loss(self, mb: Sequence[int]) -> tuple[Any, int, int, dict[str, float]]:
        """Summed DPO (+ chosen token) loss of a micro-batch of pairs.

        Also logged: the summed reward margin, and how many pairs' chosen plan
        gained more than their rejected one.
        """
        import torch
        import torch.nn.functional as F

        idx = [2 * k for k in mb] + [2 * k + 1 for k in mb]
        logps, ran, covered = self.stepper.logps(idx)
        m = len(mb)
        gain = logps - self.reference[idx]
        margin = self.beta * (gain[:m] - gain[m:])
        loss = -F.logsigmoid(margin).sum()
        if self.sft_weight:
            tokens = torch.tensor([float(self.stepper.examples[i].n_target) for i in idx[:m]],
                                  device=logps.device)
            loss = loss + self.sft_weight * (-logps[:m] / tokens).sum()
        return loss, ran, covered, {"margin": float(margin.detach().sum()),
                                    "won": float((margin.detach() > 0).sum())}


def reference_logps(stepper: _Stepper, batch: int, progress: bool = False) -> Any:
    """Every example's plan log-probability under the current (starting) adapter, no dropout."""
    import torch
    from tqdm import tqdm

    model = stepper.model
    was_training = model.training
    model.eval()
    stepper.begin_step()
    parts = []
    starts = range(0, len(stepper.examples), batch)
    with torch.no_grad():
        for start in tqdm(starts, desc="reference", unit="batch", disable=not progress,
                          dynamic_ncols=True):
            idx = list(range(start, min(start + batch, len(stepper.examples))))
            parts.append(stepper.logps(idx)[0])
    stepper.begin_step()
    model.train(was_training)
    return torch.cat(parts)


# --------------------------------------------------------------------------- training


def _pick_device(name: str | None) -> Any:
    import torch

    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _data_record(paths: Sequence[Path]) -> list[dict[str, str]]:
    return [{"path": str(p.resolve()), "sha256": file_sha256(p)} for p in paths]


def train_planner(settings: TrainSettings | None = None,
                  log: Callable[[str], Any] | None = print, **overrides: Any) -> TrainResult:
    """Train a LoRA adapter for the planner; see :class:`TrainSettings` for the options.

    Writes to ``out_dir``: the PEFT adapter (``adapter_config.json``,
    ``adapter_model.safetensors``), ``training_config.json``, ``train_log.jsonl``,
    ``base/config.json`` (for the GGUF export) and ``checkpoints/``.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    settings = dataclasses.replace(settings or TrainSettings(), **overrides)
    say = log or (lambda _msg: None)
    out = Path(settings.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = _pick_device(settings.device)
    if device.type == "cpu":
        torch.set_num_threads(settings.threads or os.cpu_count() or 1)
    _seed_all(settings.seed)
    t_start = time.monotonic()

    # ---- data
    files = split_files(settings.data_dir, settings.catalog, "train")
    try:
        cases = load_split(settings.data_dir, settings.catalog, "train", settings.limit)
        rejected = rejected_plans(settings.preferences) if settings.preferences else None
    except (OSError, ValueError) as err:
        raise TrainingError(str(err)) from None
    if rejected is not None:
        known = {case.id for case in cases}
        unknown = sorted(set(rejected) - known)
        if unknown:
            raise TrainingDataError(f"{settings.preferences}: {len(unknown)} case(s) not in the "
                                    f"training split, e.g. {unknown[0]!r}")
        cases = [case for case in cases if case.id in rejected]
    pairs, skipped = build_pairs(cases, settings.pair_settings())
    for why in skipped[:5]:
        say(f"skipped {why}")
    if not pairs:
        raise TrainingDataError("no usable training cases")

    # ---- model
    if settings.dtype not in DTYPES:
        raise TrainingError(f"dtype must be one of {', '.join(DTYPES)}, not {settings.dtype!r}")
    dtype = getattr(torch, settings.dtype)
    say(f"loading base model ({settings.base_hf or settings.base_gguf or 'planner-0.5b'}) ...")
    model, tok, base_name = load_base(settings, dtype)
    add_bos = False
    token_check: dict[str, Any] | None = None
    if not settings.base_hf:
        add_bos = runtime_add_bos(base_name)
        if settings.verify_tokens:
            token_check = verify_token_match(base_name, tok, pairs[0], add_bos=add_bos)
            say(f"runtime token check: {token_check}")
            if not token_check["ids_match"]:
                raise TrainingError(f"training tokens differ from llama.cpp's: {token_check}")
    encoded: list[Encoded] = []
    cats: list[str] = []
    too_long = 0
    for pair in pairs:
        group = [pair]
        if rejected is not None:
            if rejected[pair.case_id] == pair.target:
                continue
            group.append(dataclasses.replace(pair, target=rejected[pair.case_id]))
        encs = [encode_pair(tok, p, settings.max_len, add_bos=add_bos) for p in group]
        if any(enc is None for enc in encs):
            too_long += 1
            continue
        encoded.extend(e for e in encs if e is not None)
        cats.extend(pair.catalog for _ in encs)
    if too_long:
        say(f"dropped {too_long} examples longer than max_len={settings.max_len}")
    if not encoded:
        raise TrainingDataError("every example is longer than max_len")
    n = len(encoded) if rejected is None else len(encoded) // 2
    per_step = settings.batch * settings.grad_accum
    total_steps = settings.steps or max(1, math.ceil(settings.epochs * n / per_step))

    model.to(device)
    lora = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=list(settings.target_modules), bias="none",
                      task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    init_record = None
    if settings.init_adapter:
        init_record = load_init_adapter(Path(settings.init_adapter), model, lora)
        say(f"starting from adapter {settings.init_adapter}")
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    stepper = _Stepper(model, encoded, cats, int(pad_id), device, settings.prefix_cache)
    objective: _TokenLoss | _PreferenceLoss = _TokenLoss(stepper)
    if rejected is not None:
        say(f"scoring {n} preference pairs with the starting adapter ...")
        reference = reference_logps(stepper, max(1, settings.batch), settings.progress)
        objective = _PreferenceLoss(stepper, reference, settings.dpo_beta, settings.sft_weight)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in params)
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(settings.warmup_steps, total_steps))
    fingerprint = settings.fingerprint()

    step = 0
    history: list[dict[str, Any]] = []
    if settings.resume:
        ckpts = _checkpoint_dirs(out)
        if ckpts:
            step, history = load_checkpoint(ckpts[-1], model, optimizer, scheduler, fingerprint)
            say(f"resumed from {ckpts[-1]} at step {step}")
        else:
            say("no checkpoint to resume from; starting at step 0")

    config = {
        "settings": {k: (list(v) if isinstance(v, tuple) else v)
                     for k, v in dataclasses.asdict(settings).items()},
        "fingerprint": fingerprint,
        "base": {"path": base_name,
                 "sha256": file_sha256(base_name) if Path(base_name).is_file() else None},
        "data": _data_record(files),
        "init_adapter": init_record,
        "pairs": settings.pair_settings().as_dict(),
        "negatives": {"skills_total": [settings.skills_min, settings.skills_max],
                      "min_negatives": settings.min_negatives,
                      "p_all_skills": settings.p_all_skills},
        "examples_k": settings.examples_k,
        "objective": "sft" if rejected is None else "dpo",
        "seed": settings.seed,
        "cases": len(cases), "examples": n, "skipped": len(skipped), "too_long": too_long,
        "prompt_tokens_mean": sum(e.n_prompt for e in encoded) / n,
        "target_tokens_mean": sum(e.n_target for e in encoded) / n,
        "shared_prefix_tokens": {c: len(p) for c, p in stepper.prefix.items()},
        "add_bos": add_bos, "token_check": token_check,
        "trainable_params": n_trainable, "total_steps": total_steps,
        "device": str(device), "dtype": str(dtype).removeprefix("torch."),
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "versions": _versions(),
    }
    _write_json(out / CONFIG_FILE, config)
    save_base_config(model.get_base_model(), out)
    say(f"{n} examples, {total_steps} steps of {per_step}, {n_trainable:,} trainable parameters, "
        f"shared prefix {config['shared_prefix_tokens']}, device {device}")

    bar = None
    if settings.progress:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, initial=step, desc="lora", unit="step", dynamic_ncols=True)
    t_loop = time.monotonic()
    covered_total = ran_total = 0
    steps_run = 0
    stopped_early = False
    nonfinite_run = 0
    last_loss: float | None = history[-1]["loss"] if history else None
    try:
        while step < total_steps:
            if settings.max_minutes is not None and \
                    time.monotonic() - t_start > settings.max_minutes * 60:
                stopped_early = True
                break
            t0 = time.monotonic()
            batches = step_batches(step, n, settings.batch, settings.grad_accum, settings.seed)
            scale = objective.scale(batches)
            stepper.begin_step()
            loss_value = 0.0
            ran = covered = 0
            logged: dict[str, float] = {}
            for mb in batches:
                loss, r, c, extra = objective.loss(mb)
                (loss / scale).backward()
                loss_value += float(loss.detach()) / scale
                ran += r
                covered += c
                for key, value in extra.items():
                    logged[key] = logged.get(key, 0.0) + value / scale
            grad_norm = torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm)
            # a NaN/inf step would poison every weight: skip it, keep the schedule and data order
            finite = math.isfinite(loss_value) and math.isfinite(float(grad_norm))
            nonfinite_run = 0 if finite else nonfinite_run + 1
            if finite:
                optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            steps_run += 1
            dt_step = time.monotonic() - t0
            covered_total += covered
            ran_total += ran
            if finite:
                last_loss = loss_value
            row = {"step": step, "loss": round(loss_value, 5) if finite else None,
                   "lr": scheduler.get_last_lr()[0],
                   "grad_norm": round(float(grad_norm), 4) if finite else None,
                   "s": round(dt_step, 2),
                   "tokens": covered, "computed_tokens": ran,
                   "tok_s": round(covered / dt_step, 1),
                   **{key: round(value, 4) for key, value in logged.items()}}
            if not finite:
                row["skipped"] = "loss or gradient not finite"
            history.append(row)
            with (out / LOG_FILE).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
            if bar is not None:
                bar.set_postfix(loss=f"{loss_value:.4f}", tok_s=f"{covered / dt_step:.1f}",
                                s_step=f"{dt_step:.1f}", refresh=False)
                bar.update(1)
            if nonfinite_run >= MAX_NONFINITE_STEPS:
                raise TrainingError(
                    f"loss or gradient not finite for {nonfinite_run} steps in a row (last: step "
                    f"{step}); try --dtype float32 or a lower --lr")
            if settings.checkpoint_every and step % settings.checkpoint_every == 0 \
                    and step < total_steps:
                save_checkpoint(out, step, model, optimizer, scheduler, fingerprint, history,
                                settings.keep_checkpoints)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - t_loop
    if steps_run:
        save_checkpoint(out, step, model, optimizer, scheduler, fingerprint, history,
                        settings.keep_checkpoints)
    model.save_pretrained(str(out))
    config.update({"steps_done": step, "stopped_early": stopped_early, "final_loss": last_loss,
                   "train_seconds": round(seconds, 1),
                   "tokens_per_s": round(covered_total / seconds, 2) if seconds else None,
                   "computed_tokens_per_s": round(ran_total / seconds, 2) if seconds else None,
                   "s_per_step": round(seconds / steps_run, 2) if steps_run else None})
    _write_json(out / CONFIG_FILE, config)
    say(f"saved adapter to {out} after {step} steps (loss {last_loss})")
    return TrainResult(out, step, total_steps, n, last_loss, seconds,
                       covered_total / seconds if seconds else 0.0,
                       ran_total / seconds if seconds else 0.0,
                       seconds / steps_run if steps_run else 0.0, stopped_early, history)


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "transformers", "peft", "gguf", "llama_cpp_python"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out
