"""Sentence embeddings from the int8 ONNX all-MiniLM-L6-v2 (onnxruntime + tokenizers + numpy).

The encoder is shared by the tool classifier (ToolRAG), the embedding baseline
and the in-context example retriever. A sentence embedding is the attention-
masked mean of the last hidden states, L2-normalised, as sentence-transformers
computes it for this model. Tokenisation pads each batch only to its longest
sentence (the shipped tokenizer.json pads every sentence to 128 tokens, which
costs several times more compute for short commands).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Asset names (config/models.yaml) of the default encoder.
ONNX_ASSET = "encoder-minilm-int8"
TOKENIZER_ASSET = "encoder-minilm-tokenizer"
#: The fp32 weights and config of the same model (the word vectors of a tuned encoder).
FP32_ASSET = "encoder-minilm-fp32"
CONFIG_ASSET = "encoder-minilm-config"
#: Tensor name of the word embedding table in the fp32 safetensors.
WORD_VECTORS = "embeddings.word_embeddings.weight"
#: Embedding width of all-MiniLM-L6-v2.
DIM = 384
#: Longest input in tokens (the model was trained on up to 256; commands are shorter).
MAX_LENGTH = 256
#: Embeddings of single texts kept for reuse.
RECENT = 32


class EncoderError(RuntimeError):
    """The encoder cannot be loaded (files missing or unreadable); one line naming the remedy."""


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Encoder:
    """Embeds sentences into L2-normalised 384-d vectors."""

    def __init__(
        self,
        onnx_path: str | os.PathLike[str],
        tokenizer_path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        sha256: str | None = None,
        word_vectors: np.ndarray | None = None,
        max_batch: int | None = None,
    ) -> None:
        import onnxruntime as ort

        self.onnx_path = Path(onnx_path)
        self.tokenizer_path = Path(tokenizer_path)
        for path in (self.onnx_path, self.tokenizer_path):
            if not path.is_file():
                raise EncoderError(f"encoder file not found: {path}")
        self._sha256 = sha256
        self.tokenizer = load_tokenizer(self.tokenizer_path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No busy-waiting between runs: the robot's other processes share these cores.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own base classes
            raise EncoderError(f"cannot load encoder {self.onnx_path}: {err}") from None
        self._inputs = {i.name for i in self.session.get_inputs()}
        #: (vocab, d) table for a graph that takes word vectors (a tuned encoder), else None.
        self.word_vectors = word_vectors
        #: Most texts per ONNX call (None: no limit). A graph whose activations are quantized
        #: per call, over the whole batch, gives a text the states it gets alone only in a
        #: batch of one: the tuned encoders run that way, as they do at run time.
        self.max_batch = max_batch
        if "inputs_embeds" in self._inputs and word_vectors is None:
            raise EncoderError(f"{self.onnx_path} takes word vectors: load it with tuned_encoder()")
        self._lock = threading.Lock()
        # The classifier and the example retriever embed the same command one after the other.
        self._recent: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    # ------------------------------------------------------------------ identity

    @property
    def sha256(self) -> str:
        """sha256 of the ONNX file (pinned value for the installed asset; hashed otherwise)."""
        if self._sha256 is None:
            self._sha256 = file_sha256(self.onnx_path)
        return self._sha256

    # ------------------------------------------------------------------ embedding

    def _run(self, ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Last hidden states (B, T, d) and the 0/1 mask (B, T) of a padded batch."""
        input_ids, mask = pad_ids(ids)
        feeds: dict[str, np.ndarray] = {"attention_mask": mask}
        if self.word_vectors is not None:
            feeds["inputs_embeds"] = np.asarray(self.word_vectors[input_ids], dtype=np.float32)
        else:
            feeds["input_ids"] = input_ids
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        with self._lock:
            hidden = self.session.run(None, feeds)[0]
        return hidden.astype(np.float32, copy=False), mask

    def _batches(
        self, texts: Sequence[str], batch_size: int, progress: bool
    ) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """(indices, hidden, mask) for length-sorted batches of ``texts`` (little padding)."""
        batch_size = min(batch_size, self.max_batch or batch_size)
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        bar: Any = None
        if progress:
            import sys

            from tqdm import tqdm

            bar = tqdm(total=len(ids), desc="embedding", unit="text", file=sys.stderr,
                       leave=False, dynamic_ncols=True)
        try:
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                hidden, mask = self._run([ids[i] for i in chunk])
                yield chunk, hidden, mask
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()

    def embed(
        self, texts: Sequence[str] | str, batch_size: int = 16, progress: bool = False
    ) -> np.ndarray:
        """Embeddings of ``texts`` as a float32 (n, 384) array, rows L2-normalised."""
        if isinstance(texts, str):
            texts = [texts]
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if texts:
            for chunk, hidden, mask in self._batches(texts, batch_size, progress):
                out[chunk] = mean_pool(hidden, mask)
        return out

    def states_and_embed(
        self, texts: Sequence[str], batch_size: int = 16, progress: bool = False,
        dtype: Any = np.float16,
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Token states (one (T_i, 384) array per text, ``dtype``) and the pooled embeddings."""
        states: list[np.ndarray] = [np.zeros((0, DIM), dtype)] * len(texts)
        pooled = np.zeros((len(texts), DIM), dtype=np.float32)
        if texts:
            for chunk, hidden, mask in self._batches(texts, batch_size, progress):
                pooled[chunk] = mean_pool(hidden, mask)
                lengths = mask.sum(axis=1)
                for row, i in enumerate(chunk):
                    states[i] = hidden[row, : lengths[row]].astype(dtype)
        return states, pooled

    def encode_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Token states (T, 384) and pooled embedding (384,) of one text (recent ones cached).

        The tool classifier and the example retriever call this for the same
        command one after the other; the encoder runs once.
        """
        with self._lock:
            hit = self._recent.get(text)
            if hit is not None:
                self._recent.move_to_end(text)
                return hit
        hidden, mask = self._run([self.tokenizer.encode(text).ids])
        states = hidden[0]
        vec = mean_pool(hidden, mask)[0]
        states.setflags(write=False)
        vec.setflags(write=False)
        with self._lock:
            self._recent[text] = (states, vec)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return states, vec

    def embed_one(self, text: str) -> np.ndarray:
        """The (384,) L2-normalised embedding of one text."""
        return self.encode_one(text)[1]


def load_tokenizer(path: str | os.PathLike[str]) -> Any:
    """The MiniLM tokenizer without the shipped file's fixed padding, truncating at MAX_LENGTH."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as err:  # noqa: BLE001 - tokenizers raises plain Exception
        raise EncoderError(f"cannot read tokenizer {path}: {err}") from None
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_LENGTH)
    return tokenizer


def pad_ids(ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded to the longest with 0 ([PAD]), and the 0/1 mask: two (B, T) int64."""
    width = max(len(x) for x in ids)
    input_ids = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return input_ids, mask


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Attention-masked mean over tokens, L2-normalised: (B, T, d), (B, T) -> (B, d)."""
    m = mask[:, :, None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    norm = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norm, 1e-12)).astype(np.float32)


_DEFAULT: Encoder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_encoder() -> Encoder:
    """The installed MiniLM encoder (loaded once per process).

    ``EncoderError`` naming ``tinyagent models install`` when it is not installed.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            from tinyagent_ros.models import ModelError, load_manifest, model_path

            try:
                manifest = load_manifest()
                onnx = model_path(ONNX_ASSET, manifest=manifest)
                tok = model_path(TOKENIZER_ASSET, manifest=manifest)
                sha = manifest.get(ONNX_ASSET).sha256
            except ModelError as err:
                raise EncoderError(str(err)) from None
            _DEFAULT = Encoder(onnx, tok, sha256=sha)
        return _DEFAULT


def read_tensor(path: str | os.PathLike[str], name: str) -> np.ndarray:
    """One float32 tensor of a safetensors file, memory-mapped (no copy, no safetensors package)."""
    try:
        with open(path, "rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(size))
        entry = header[name]
        if entry["dtype"] != "F32":
            raise ValueError(f"dtype {entry['dtype']}, not F32")
        start, end = entry["data_offsets"]
        shape = tuple(entry["shape"])
        if end - start != 4 * int(np.prod(shape)):
            raise ValueError("size does not match the shape")
        return np.memmap(path, dtype="<f4", mode="r", offset=8 + size + start, shape=shape)
    except (OSError, KeyError, ValueError, struct.error) as err:
        raise EncoderError(f"cannot read tensor {name!r} from {path}: {err}") from None


def _installed(*assets: str) -> list[Path]:
    """The installed files of these assets; ``EncoderError`` naming the install command."""
    from tinyagent_ros.models import ModelError, load_manifest, model_path

    try:
        manifest = load_manifest()
        return [model_path(a, manifest=manifest) for a in assets]
    except ModelError as err:
        raise EncoderError(str(err)) from None


def encoder_asset_dir() -> Path:
    """The folder holding the installed fp32 encoder (config.json, model.safetensors,
    tokenizer.json), which transformers loads for tuning.
    """
    paths = _installed(FP32_ASSET, CONFIG_ASSET, TOKENIZER_ASSET)
    if len({p.parent for p in paths}) != 1:
        raise EncoderError(f"the encoder files are not in one folder: {', '.join(map(str, paths))}")
    return paths[0].parent


def tuned_encoder(onnx_path: str | os.PathLike[str], sha256: str | None = None) -> Encoder:
    """An encoder whose ONNX graph takes word vectors (a classifier's tuned layers): the
    vectors come from the installed fp32 weights, which tuning kept frozen.
    """
    tok, weights = _installed(TOKENIZER_ASSET, FP32_ASSET)
    return Encoder(onnx_path, tok, sha256=sha256, word_vectors=read_tensor(weights, WORD_VECTORS),
                   max_batch=1)


def encoder_available() -> str | None:
    """None when the default encoder is installed, else the reason it is not (for skips)."""
    try:
        _installed(ONNX_ASSET, TOKENIZER_ASSET)
    except EncoderError as err:
        return str(err)
    return None
