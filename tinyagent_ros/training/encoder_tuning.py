"""Fine-tune the MiniLM encoder for a catalog's tool classifier (torch; training extras only).

Why: a head trained on the frozen encoder's token states misses phrasings the
frozen states do not separate; TinyAgent fine-tuned its whole DeBERTa
classifier. Here the six transformer layers and the position embeddings are
tuned together with a label-wise attention head (started from the head
fitted on frozen states); the word embeddings stay frozen, so a word that
training never shows keeps its pretrained vector. The tuned layers are
exported to ONNX with int8 weights (about 11 MB) taking word vectors as input;
at run time those come from the installed fp32 safetensors
(:func:`tinyagent_ros.encoder.tuned_encoder`), so the shipped file holds only
what training changed. Run time needs no torch.
"""

from __future__ import annotations

import logging
import math
import os
import random
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyagent_ros.encoder import EncoderError, encoder_asset_dir, load_tokenizer, pad_ids


@dataclass(frozen=True)
class TuneSettings:
    """How the encoder is tuned (recorded in ``toolrag.json``)."""

    epochs: float = 2.0
    lr: float = 5e-5
    #: The attention head learns this much faster than the encoder.
    head_lr: float = 5e-4
    batch_size: int = 32
    warmup: int = 50
    weight_decay: float = 0.01
    pos_weight: float = 5.0
    seed: int = 0
    threads: int = 0


def _torch_head(params: dict[str, np.ndarray]) -> Any:
    """Torch twin of :class:`tinyagent_ros.toolrag.AttentionHead` (same formula and names)."""
    import torch

    class AttentionHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for name, value in params.items():
                tensor = torch.tensor(value, dtype=torch.float32)
                setattr(self, name, torch.nn.Parameter(tensor))

        def forward(self, h: Any, mask: Any) -> Any:
            z = torch.tanh(h @ self.wa + self.ca)
            s = (z @ self.q.T).masked_fill(~mask[:, :, None], -1e9)
            a = torch.softmax(s, dim=1)
            return (a * (h @ self.u.T)).sum(dim=1) + self.bias

    return AttentionHead()


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """One epoch of batches of similar length (little padding), in random order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    out: list[list[int]] = []
    pool = batch_size * 50
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        out.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(out)
    return out


def tune_encoder(
    queries: Sequence[str],
    labels: np.ndarray,
    init_head: dict[str, np.ndarray],
    out_onnx: str | os.PathLike[str],
    settings: TuneSettings = TuneSettings(),
    *,
    progress: bool = False,
    log: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Tune the encoder on (command, skill labels) and write its int8 ONNX to ``out_onnx``.

    ``init_head``: the attention head's weights fitted on the frozen encoder.
    Returns a report (settings, steps, losses, seconds, file size).
    """
    try:  # all of them now, not after ten minutes of tuning
        import onnx  # noqa: F401 - the export and the quantizer need it
        import torch
        from transformers import AutoModel
    except ImportError as err:
        raise EncoderError(f"tuning the encoder needs the training extras ({err}); "
                           "pip install -r requirements-train.txt") from None
    say = log or (lambda _msg: None)
    started = time.perf_counter()
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    src = encoder_asset_dir()
    ids = [e.ids for e in load_tokenizer(src / "tokenizer.json").encode_batch(list(queries))]
    model = AutoModel.from_pretrained(str(src), attn_implementation="eager")
    model.embeddings.word_embeddings.weight.requires_grad_(False)
    head = _torch_head(init_head)
    y = torch.tensor(labels, dtype=torch.float32)
    per_epoch = math.ceil(len(ids) / settings.batch_size)
    steps = max(1, round(per_epoch * settings.epochs))
    tuned = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": tuned, "lr": settings.lr},
                             {"params": list(head.parameters()), "lr": settings.head_lr}],
                            weight_decay=settings.weight_decay)

    def schedule(step: int) -> float:
        warm = min(1.0, (step + 1) / max(1, settings.warmup))
        return warm * 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.full((labels.shape[1],), settings.pos_weight))
    bar: Any = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=steps, desc="tuning encoder", unit="step", file=sys.stderr,
                   dynamic_ncols=True)
    model.train()
    losses: list[float] = []
    step = 0
    try:
        while step < steps:
            for batch in _batches([len(x) for x in ids], settings.batch_size, rng):
                x, mask = (torch.from_numpy(a) for a in pad_ids([ids[i] for i in batch]))
                states = model(input_ids=x, attention_mask=mask,
                               token_type_ids=torch.zeros_like(x)).last_hidden_state
                loss = loss_fn(head(states, mask.bool()), y[batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                losses.append(loss.item())
                step += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
                if step >= steps:
                    break
    finally:
        if bar is not None:
            bar.close()
    tune_s = time.perf_counter() - started
    say(f"tuned the encoder for {steps} steps in {tune_s:.0f} s "
        f"(loss {np.mean(losses[:50]):.4f} -> {np.mean(losses[-50:]):.4f})")
    size = export_onnx(model, out_onnx)
    say(f"wrote {out_onnx} ({size / 1e6:.1f} MB, int8)")
    return {
        **asdict(settings),
        "steps": steps,
        "loss_first_50": round(float(np.mean(losses[:50])), 5),
        "loss_last_50": round(float(np.mean(losses[-50:])), 5),
        "frozen": "word embeddings",
        "tune_s": round(tune_s, 1),
        "bytes": size,
    }


def export_onnx(model: Any, out_onnx: str | os.PathLike[str]) -> int:
    """Write ``model`` (a transformers BertModel) as int8 ONNX: (word vectors, mask) -> states."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Layers(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            return self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                             token_type_ids=torch.zeros_like(attention_mask)).last_hidden_state

    model.eval()
    out = Path(out_onnx)
    out.parent.mkdir(parents=True, exist_ok=True)
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "encoder_fp32.onnx"
        # The tracer warns about Python branches on shapes (fixed for BERT) and the quantizer
        # suggests optional pre-processing: neither is actionable here.
        logging.disable(logging.WARNING)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    Layers(), (torch.zeros(1, 4, model.config.hidden_size),
                               torch.ones(1, 4, dtype=torch.long)),
                    str(fp32), dynamo=False, opset_version=17,
                    input_names=["inputs_embeds", "attention_mask"],
                    output_names=["last_hidden_state"],
                    dynamic_axes={"inputs_embeds": axes, "attention_mask": axes,
                                  "last_hidden_state": axes})
            partial = out.with_name(out.name + ".partial")
            quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8,
                             per_channel=True)
        finally:
            logging.disable(logging.NOTSET)
        os.replace(partial, out)
    return out.stat().st_size
