"""Speech in: audio chunks -> utterances (VAD) -> transcripts (whisper), off the caller's thread.

A ROS audio callback must return at once, and whisper takes a few hundred
milliseconds per utterance, so :class:`Listener` segments audio in the
caller's thread (cheap) and transcribes finished utterances one at a time on
its own worker thread. Everything it has to say comes back through two
callbacks: ``on_event(kind, message)`` for what a person debugging the robot
wants to see, and ``on_text(text, transcript)`` for each non-empty
transcript, which the node turns into a command. It never raises on audio.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyagent_ros.asr import ASRError, Transcriber, Transcript
from tinyagent_ros.vad import SegmenterConfig, Utterance, UtteranceSegmenter, VADError

#: Utterances waiting for whisper at most; more are dropped with an event (a stuck model
#: must not turn into unbounded memory).
MAX_PENDING = 4


class ListenerError(Exception):
    """The recognizer or the VAD cannot be loaded (one line, names the remedy)."""


@dataclass
class ListenerSettings:
    """Speech recognition and segmentation settings (node parameters)."""

    #: A ggml file or an installed model's name (``tiny.en``, ``base``); None: the default.
    whisper_model: str | Path | None = None
    threads: int = 1
    segmenter: SegmenterConfig | None = None
    initial_prompt: str | None = None


class Listener:
    """Feeds audio to the VAD, transcribes each utterance, reports text and events."""

    def __init__(
        self,
        settings: ListenerSettings,
        on_text: Callable[[str, Transcript], Any],
        on_event: Callable[[str, str], Any],
    ) -> None:
        try:
            self.segmenter = UtteranceSegmenter(settings.segmenter)
            self.transcriber = Transcriber(settings.whisper_model, n_threads=settings.threads,
                                           initial_prompt=settings.initial_prompt)
        except (ASRError, VADError, ValueError) as err:
            raise ListenerError(str(err)) from None
        self._on_text = on_text
        self._on_event = on_event
        self._feed_lock = threading.Lock()
        self._pending: queue.Queue[Utterance | None] = queue.Queue(MAX_PENDING)
        self._worker = threading.Thread(target=self._work, name="listener", daemon=True)
        self._worker.start()

    def feed(self, samples: Any, sample_rate: int, channels: int = 1) -> None:
        """Take one chunk of PCM audio; returns at once."""
        with self._feed_lock:
            events = self.segmenter.feed(samples, sample_rate, channels)
        self._handle(events)

    def mute(self, muted: bool) -> None:
        """Ignore audio (the robot is speaking) or listen again; a half utterance is dropped."""
        with self._feed_lock:
            events = self.segmenter.mute() if muted else self.segmenter.unmute()
        self._handle(events)

    @property
    def muted(self) -> bool:
        """Whether audio is being ignored."""
        return bool(self.segmenter.muted)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker after the utterance it is on."""
        try:
            self._pending.put(None, timeout=timeout)
        except queue.Full:
            pass
        self._worker.join(timeout)

    def _handle(self, events: list[Any]) -> None:
        for event in events:
            if event.kind == "utterance" and event.utterance is not None:
                try:
                    self._pending.put_nowait(event.utterance)
                except queue.Full:
                    self._on_event("speech_dropped", "still transcribing earlier speech; "
                                                     "this utterance was dropped")
                    continue
            kind = event.kind if event.kind.startswith("speech") else f"speech_{event.kind}"
            self._on_event(kind, event.detail)

    def _work(self) -> None:
        while True:
            utterance = self._pending.get()
            if utterance is None:
                return
            try:
                transcript = self.transcriber.transcribe_16k(utterance.audio)
            except ASRError as err:
                self._on_event("speech_error", str(err))
                continue
            except Exception as err:  # noqa: BLE001 - the worker must outlive a whisper bug
                self._on_event("speech_error", f"{type(err).__name__}: {err}")
                continue
            text = transcript.text.strip()
            if not text:
                self._on_event("speech_empty", f"{utterance.seconds:.1f} s of audio gave no "
                                               "words")
                continue
            self._on_event("transcript", f"{text} ({transcript.audio_s:.1f} s audio, "
                                         f"{transcript.elapsed_s:.2f} s to transcribe)")
            self._on_text(text, transcript)
