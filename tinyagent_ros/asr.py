"""Speech to text with whisper.cpp (pywhispercpp), from WAV files or raw samples.

Whisper wants 16 kHz mono float32; robots and users hand over anything (44.1 kHz
stereo WAV, 8 kHz int16 chunks, float WAVs). :func:`to_mono16k` normalises all of
it with numpy, so the node and the CLI share one path. Errors are one-line
:class:`ASRError`s: a missing model names the install command, a file that is
not audio says so, rather than crashing inside whisper.cpp (which does not
check its inputs: a bad model file would crash it later, so :func:`check_ggml`
walks the file first).

This module must not import rclpy: the ROS node imports it.
"""

from __future__ import annotations

import json
import os
import re
import struct
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np

from tinyagent_ros.numerals import Word, numbers_as_digits
from tinyagent_ros.whisper_convert import N_VOCAB_MULTILINGUAL, Hparams

#: Whisper's input rate.
SAMPLE_RATE = 16000
#: Environment variable naming a ggml model file (or model name) to use instead of the default.
WHISPER_MODEL_ENV = "TINYAGENT_WHISPER_MODEL"
#: Asset name of the default model in config/models.yaml.
DEFAULT_ASSET = "whisper-tiny.en"
#: Prefix of the whisper assets' names; ``base`` is short for ``whisper-base``.
ASSET_PREFIX = "whisper-"

_MAX_RATE = 768_000
_NON_SPEECH = re.compile(r"\s*(?:\[[^\]]*\]|\([^)]*\))\s*")  # "[BLANK_AUDIO]", "(wind blowing)"
#: Audio up to this long is decoded as one segment (a spoken command); longer audio in
#: whisper's own segments. With a shrunk encoder window, whisper.cpp's second segment
#: of a short clip tends to repeat the first one word for word.
SINGLE_SEGMENT_S = 20.0


class ASRError(Exception):
    """Transcription could not run: bad model, bad audio (messages are one line)."""


# --------------------------------------------------------------------------- audio


@dataclass(frozen=True)
class Audio:
    """Samples as float32 in [-1, 1], shape (frames, channels), and their rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def channels(self) -> int:
        """Number of interleaved channels the source had."""
        return int(self.samples.shape[1])

    @property
    def seconds(self) -> float:
        """Duration."""
        return self.samples.shape[0] / self.sample_rate


def _pcm_to_float(raw: bytes, bits: int, is_float: bool) -> np.ndarray:
    width = bits // 8
    raw = raw[: len(raw) - len(raw) % width]
    if is_float:
        if bits not in (32, 64):
            raise ASRError(f"unsupported float WAV with {bits} bits")
        return np.frombuffer(raw, "<f4" if bits == 32 else "<f8").astype(np.float32)
    if bits == 8:
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if bits == 16:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        return ints.astype(np.float32) / float(1 << 23)
    if bits == 32:
        return (np.frombuffer(raw, "<i4").astype(np.float64) / 2.0**31).astype(np.float32)
    raise ASRError(f"unsupported PCM WAV with {bits} bits per sample")


def parse_wav(data: bytes, name: str = "input") -> Audio:
    """Decode a RIFF/WAVE file's bytes: PCM 8/16/24/32-bit, float 32/64, extensible.

    Streams written with an unknown length (data size 0 or 0xFFFFFFFF) are read
    to the end of the bytes given.
    """
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise ASRError(f"{name} is not a WAV file (no RIFF/WAVE header)")
    if data[:4] == b"RIFX":
        raise ASRError(f"{name} is a big-endian WAV (RIFX); convert it to RIFF")
    pos, fmt, pcm = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            if len(body) < 16:
                raise ASRError(f"{name}: WAV fmt chunk is too short")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: sub-format GUID
                tag = struct.unpack_from("<H", body, 24)[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            pcm = data[pos + 8:] if size in (0, 0xFFFFFFFF) else body
            if fmt is not None:
                break
        pos += 8 + size + (size & 1)
    if fmt is None:
        raise ASRError(f"{name}: WAV has no fmt chunk")
    if pcm is None:
        raise ASRError(f"{name}: WAV has no data chunk")
    tag, channels, rate, bits = fmt
    if tag not in (1, 3):
        raise ASRError(f"{name}: unsupported WAV encoding (format tag {tag}); use PCM or float")
    if not 1 <= channels <= 64 or not 1 <= rate <= _MAX_RATE:
        raise ASRError(f"{name}: implausible WAV header ({channels} channels, {rate} Hz)")
    flat = _pcm_to_float(pcm, bits, tag == 3)
    flat = flat[: len(flat) - len(flat) % channels]
    return Audio(flat.reshape(-1, channels), rate)


def load_audio(path: str | os.PathLike[str]) -> Audio:
    """Read a WAV file (see :func:`parse_wav`); :class:`ASRError` if unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ASRError(f"cannot read {path}: {err.strerror or err}") from None
    return parse_wav(data, str(path))


def resample(x: np.ndarray, src_rate: int, dst_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling of a 1-D signal by FFT (exact ratio, any rates).

    Whole-signal FFT keeps it numpy-only and alias-free (frequencies above the
    new Nyquist are dropped); fine for utterances and files. Chunked streams
    resample per chunk (the VAD tolerates the tiny seams).
    """
    x = np.asarray(x, dtype=np.float32)
    if src_rate == dst_rate or x.size == 0:
        return x
    n_out = max(1, round(x.size * dst_rate / src_rate))
    spec = np.fft.rfft(x.astype(np.float64))
    keep = min(spec.size, n_out // 2 + 1)
    out_spec = np.zeros(n_out // 2 + 1, dtype=np.complex128)
    out_spec[:keep] = spec[:keep]
    if n_out < x.size and n_out % 2 == 0:  # the new Nyquist bin holds both halves
        out_spec[-1] = out_spec[-1].real
    return (np.fft.irfft(out_spec, n_out) * (n_out / x.size)).astype(np.float32)


def to_mono16k(samples: Any, sample_rate: int, channels: int = 1) -> np.ndarray:
    """Any samples (int16, other ints, float; interleaved or (frames, channels)) to 16 kHz mono.

    Non-finite values become 0 and the result is clipped to [-1, 1], so no input
    can make whisper misbehave.
    """
    if not isinstance(sample_rate, (int, np.integer)) or not 1 <= sample_rate <= _MAX_RATE:
        raise ASRError(f"invalid sample rate {sample_rate!r}")
    arr = np.asarray(samples)
    if arr.dtype.kind in "iu":  # full scale of the type maps to [-1, 1)
        info = np.iinfo(arr.dtype)
        half = (float(info.max) - float(info.min) + 1.0) / 2.0
        arr = (arr.astype(np.float64) - (float(info.min) + half)) / half
    elif arr.dtype.kind in "fb":
        arr = arr.astype(np.float64)
    else:
        raise ASRError(f"unsupported sample type {arr.dtype}")
    if arr.ndim == 1:
        if channels < 1:
            raise ASRError(f"invalid channel count {channels}")
        arr = arr[: arr.size - arr.size % channels].reshape(-1, channels)
    elif arr.ndim != 2:
        raise ASRError(f"samples must be 1-D or (frames, channels), not {arr.ndim}-D")
    mono = np.nan_to_num(arr.mean(axis=1), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(resample(mono.astype(np.float32), int(sample_rate)), -1.0, 1.0)


# --------------------------------------------------------------------------- model file


_GGML_BLOCKS: dict[int, tuple[int, int]] = {  # ggml type: (elements per block, bytes per block)
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
}


def check_ggml(path: str | os.PathLike[str]) -> Hparams:
    """Walk a whisper.cpp ggml file (header, mel filters, vocabulary, every tensor header).

    whisper.cpp does not report a failed load to Python (a bad file crashes it
    later), so this checks the structure first; returns the hyper-parameters.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        fh = path.open("rb")
    except OSError as err:
        raise ASRError(f"cannot read whisper model {path}: {err.strerror or err}") from None

    def ints(n: int) -> tuple[int, ...]:
        raw = fh.read(4 * n)
        if len(raw) != 4 * n:
            raise ASRError(f"whisper model {path} is truncated")
        return struct.unpack(f"<{n}i", raw)

    with fh:
        if fh.read(4) != b"lmgg":
            raise ASRError(f"{path} is not a whisper.cpp ggml model (bad magic)")
        hp = Hparams(*ints(11))
        if not (0 < hp.n_vocab < 1 << 20 and 0 < hp.n_mels <= 512 and 0 < hp.n_audio_layer < 256
                and 0 < hp.n_text_layer < 256):
            raise ASRError(f"{path}: implausible whisper hyper-parameters")
        n_mel, n_fft = ints(2)
        fh.seek(4 * n_mel * n_fft, 1)
        (n_words,) = ints(1)
        for _ in range(n_words):
            (length,) = ints(1)
            if not 0 <= length < 1 << 16:
                raise ASRError(f"{path}: corrupt vocabulary")
            fh.seek(length, 1)
        count = 0
        while fh.tell() < size:
            n_dims, name_len, ttype = ints(3)
            if not 1 <= n_dims <= 4 or not 0 < name_len < 256 or ttype not in _GGML_BLOCKS:
                raise ASRError(f"{path}: corrupt tensor header #{count}")
            dims = ints(n_dims)
            fh.seek(name_len, 1)
            per_block, block_bytes = _GGML_BLOCKS[ttype]
            fh.seek(int(np.prod(dims, dtype=np.int64)) // per_block * block_bytes, 1)
            count += 1
        want = 7 + 15 * hp.n_audio_layer + 4 + 24 * hp.n_text_layer
        if fh.tell() != size or count != want:
            raise ASRError(f"{path}: {count} tensors (expected {want}) or truncated data; "
                           "not a complete whisper model")
    return hp


def default_model_path() -> Path:
    """``$TINYAGENT_WHISPER_MODEL`` (a path or model name), else the installed whisper-tiny.en."""
    env = os.environ.get(WHISPER_MODEL_ENV, "").strip()
    return resolve_model(env) if env else _asset_path(DEFAULT_ASSET)


def _asset_path(asset: str) -> Path:
    from tinyagent_ros.models import ModelError, model_path

    try:
        return model_path(asset)
    except ModelError as err:
        raise ASRError(str(err)) from None


def model_names() -> list[str]:
    """The short model names ``--whisper-model`` takes (``tiny.en``, ``base``, ...)."""
    from tinyagent_ros.models import ModelError, asset_names

    try:
        return [n.removeprefix(ASSET_PREFIX) for n in asset_names("ggml", ASSET_PREFIX)]
    except ModelError as err:
        raise ASRError(str(err)) from None


def resolve_model(spec: str | os.PathLike[str] | None) -> Path:
    """The ggml file a ``--whisper-model`` value / node parameter means.

    ``None`` or ``""``: the default (:func:`default_model_path`). An existing
    file, or anything that looks like a path (has a ``/``, starts with ``~``,
    ends in ``.bin``): that file. Otherwise a model name: ``tiny.en`` /
    ``whisper-tiny.en``, ``base`` / ``whisper-base`` (any ggml asset of
    config/models.yaml, with or without its ``whisper-`` prefix), which must be
    installed (the error names `tinyagent models install ...`).
    """
    from tinyagent_ros.models import ModelError, resolve_spec

    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return default_model_path()
    try:
        return resolve_spec(os.fspath(spec), kind="ggml", prefix=ASSET_PREFIX, suffix=".bin",
                            what="whisper model")
    except ModelError as err:
        raise ASRError(str(err)) from None


# --------------------------------------------------------------------------- transcriber


@dataclass(frozen=True)
class Segment:
    """One stretch of recognised text, with times in seconds from the start of the audio."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """The result of one transcription."""

    text: str
    segments: list[Segment] = field(default_factory=list)
    #: Duration of the audio given (seconds).
    audio_s: float = 0.0
    #: Wall time of the whisper call (seconds).
    elapsed_s: float = 0.0
    #: ``elapsed_s / audio_s``; below 1 is faster than real time.
    rtf: float = 0.0
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the CLI's ``--json`` output)."""
        return asdict(self)


def auto_audio_ctx(seconds: float, full: int = 1500) -> int:
    """Encoder frames (50 a second) covering ``seconds`` plus 1 s, a multiple of 64, >= 384.

    The floor keeps tiny.en's accuracy (measured equal at 256 and 512 on our
    clips); audio longer than 29 s gets the full 30 s window.
    """
    need = int(np.ceil((seconds + 1.0) * full / 30.0))
    return min(full, max(384, -(-need // 64) * 64))


class Transcriber:
    """A loaded whisper.cpp model; thread-safe (one transcription at a time).

    ``model_path`` is any whisper.cpp ggml file or an installed model's name
    (``tiny.en``, ``base``; see :func:`resolve_model`); ``None`` takes
    ``$TINYAGENT_WHISPER_MODEL`` or the installed ``whisper-tiny.en``.
    ``language`` is the spoken language, "en" unless you know better: a
    multilingual model (base) is always told it, never left to detect one
    (``""``/``"auto"`` are refused) and never asked to translate; English-only
    models (tiny.en) ignore it.
    ``initial_prompt`` biases decoding (e.g. toward the robot's vocabulary).
    ``audio_ctx`` is the encoder's window in 20 ms frames: whisper.cpp's default
    (0) always encodes 30 s, which dominates the cost of a 2 s command;
    ``"auto"`` sizes it to the audio (:func:`auto_audio_ctx`, 3x faster here at
    the same word error rate on our clips); a number fixes it.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, *, n_threads: int = 2,
                 initial_prompt: str | None = None, language: str = "en",
                 audio_ctx: int | str = "auto") -> None:
        path = resolve_model(model_path)
        if not path.is_file():
            raise ASRError(f"whisper model {path} does not exist")
        if not isinstance(language, str) or language.strip().lower() in ("", "auto"):
            raise ASRError(f"language must be a language code such as 'en', not {language!r} "
                           "(no automatic detection)")
        self.hparams = check_ggml(path)
        self.model_path = path
        self.initial_prompt = initial_prompt or ""
        if audio_ctx != "auto" and not (isinstance(audio_ctx, int) and audio_ctx >= 0):
            raise ASRError(f"audio_ctx must be 'auto' or a frame count >= 0, not {audio_ctx!r}")
        self.audio_ctx = audio_ctx
        self._lock = threading.Lock()
        try:
            from pywhispercpp.model import Model
        except ImportError:
            raise ASRError("pywhispercpp is not installed (pip install -r requirements.txt)") \
                from None
        #: whisper.cpp calls a model multilingual by its vocabulary size alone.
        self.multilingual = self.hparams.n_vocab >= N_VOCAB_MULTILINGUAL
        self.language = language.strip().lower() if self.multilingual else "en"
        params: dict[str, Any] = {
            "n_threads": max(1, int(n_threads)), "print_progress": False,
            "print_realtime": False, "print_timestamps": False, "no_context": True,
            # non-speech tokens are not suppressed: forbidding "[BLANK_AUDIO]" after the
            # last word made whisper repeat the sentence to fill the window
            "suppress_blank": True,
            # pywhispercpp's default language "" means detect; a multilingual model must
            # be told (else it may hear another language), and must not translate
            "language": self.language, "detect_language": False, "translate": False}
        if self.initial_prompt:  # pywhispercpp rejects None here
            params["initial_prompt"] = self.initial_prompt
        self._model = Model(str(path), redirect_whispercpp_logs_to=None, **params)

    def transcribe(self, audio: str | os.PathLike[str] | bytes | np.ndarray | Audio,
                   sample_rate: int | None = None, channels: int = 1) -> Transcript:
        """Transcribe a WAV path, WAV bytes, :class:`Audio` or raw samples (give their rate).

        Empty audio raises :class:`ASRError`; digital silence returns empty text
        without running the model; bracketed non-speech tags are dropped.
        """
        if isinstance(audio, (str, os.PathLike)):
            audio = load_audio(audio)
        elif isinstance(audio, (bytes, bytearray, memoryview)):
            audio = parse_wav(bytes(audio), "audio bytes")
        if isinstance(audio, Audio):
            mono = to_mono16k(audio.samples, audio.sample_rate)
        else:
            if sample_rate is None:
                raise ASRError("raw samples need their sample_rate")
            mono = to_mono16k(audio, sample_rate, channels)
        return self.transcribe_16k(mono)

    def transcribe_16k(self, mono: np.ndarray) -> Transcript:
        """Transcribe 16 kHz mono float32 samples in [-1, 1] (already normalised)."""
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        seconds = mono.size / SAMPLE_RATE
        if mono.size == 0:
            raise ASRError("empty audio (no samples)")
        name = self.model_path.name
        if float(np.max(np.abs(mono))) < 1e-4:
            return Transcript("", [], seconds, 0.0, 0.0, name)
        if mono.size < SAMPLE_RATE:  # whisper.cpp refuses under 100 ms; pad to 1 s
            mono = np.concatenate([mono, np.zeros(SAMPLE_RATE - mono.size, np.float32)])
        with self._lock:
            start = time.perf_counter()
            ctx = (auto_audio_ctx(mono.size / SAMPLE_RATE, self.hparams.n_audio_ctx)
                   if self.audio_ctx == "auto" else int(self.audio_ctx))
            raw = self._model.transcribe(mono, audio_ctx=ctx,
                                         single_segment=seconds <= SINGLE_SEGMENT_S)
            elapsed = time.perf_counter() - start
        segments = []
        for s in raw:
            text = " ".join(_NON_SPEECH.sub(" ", s.text).split())
            if text:
                segments.append(Segment(s.t0 / 100.0, min(s.t1 / 100.0, seconds), text))
        segments = drop_repeats(segments)
        text = " ".join(s.text for s in segments).strip()
        return Transcript(text, segments, seconds, elapsed, elapsed / max(seconds, 1e-9), name)


def _first_of_repeats(units: list[str]) -> int:
    """How many leading units make up ``units`` when it is one block said 2+ times (else all)."""
    keys = [tuple(normalize_words(u)) for u in units]
    n = len(keys)
    for period in range(1, n // 2 + 1):
        if n % period == 0 and any(keys[:period]) \
                and all(keys[i] == keys[i % period] for i in range(n)):
            return period
    return n


def drop_repeats(segments: list[Segment]) -> list[Segment]:
    """Keep one copy of a transcript whisper wrote twice or more.

    Small whisper models sometimes fill the rest of the window by repeating
    what they heard ("Battery check. Battery check."). Sent on as a command,
    that would run twice ("text Bob I'm late" sends two texts), so whole
    repeated sentences or segments are dropped; words repeated inside a
    sentence ("go go go") are left as they are.
    """
    segments = segments[:_first_of_repeats([s.text for s in segments])]
    if len(segments) != 1:
        return segments
    only = segments[0]
    sentences = re.split(r"(?<=[.?!])\s+", only.text)
    keep = _first_of_repeats(sentences)
    if keep == len(sentences):
        return segments
    return [Segment(only.start_s, only.end_s, " ".join(sentences[:keep]))]


# --------------------------------------------------------------------------- scoring


def normalize_words(text: str) -> list[str]:
    """Lowercase words without punctuation, numbers as digits (for word error rates).

    Clock times count alike however they are written: "4:30pm" and "4.30 PM"
    are both ``4 30 pm``.
    """
    text = re.sub(r"(\d)\s*([ap])\.?m\b\.?", r"\1 \2m", text.lower().replace("-", " "))
    words = re.sub(r"[^a-z0-9' ]+", " ", text).split()
    return [w.text for w in numbers_as_digits([Word(w) for w in words])]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference word count) after normalising."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1], len(ref)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate of one pair (1.0 for any words against an empty reference)."""
    errors, n = word_errors(reference, hypothesis)
    return errors / n if n else float(errors > 0)


# --------------------------------------------------------------------------- CLI


@click.command("transcribe", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("file", metavar="FILE.wav")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--whisper-model", "whisper_model", metavar="PATH|NAME",
              help="A whisper.cpp ggml model file, or an installed model's name: tiny.en "
              "(the default) or base (`tinyagent models install whisper-base`).")
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True,
              help="whisper.cpp threads.")
@click.option("--prompt", default=None, help="Initial prompt to bias the vocabulary.")
def transcribe_cli(file: str, as_json: bool, whisper_model: str | None, threads: int,
                   prompt: str | None) -> None:
    """Print the transcript of a WAV file (any rate and channel count).

    \b
    Examples:
      tinyagent transcribe command.wav
      tinyagent transcribe command.wav --json
      tinyagent transcribe command.wav --whisper-model base
      tinyagent transcribe command.wav --whisper-model ./ggml-base.en.bin
    """
    try:
        audio = load_audio(file)
        result = Transcriber(whisper_model, n_threads=threads,
                             initial_prompt=prompt).transcribe(audio)
    except ASRError as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        click.echo(result.text)
