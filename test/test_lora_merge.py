"""Merging a GGUF LoRA adapter into its base without torch (tinyagent_ros.lora_merge).

Small synthetic GGUF files check the arithmetic, the copied metadata and
tensors, the manifest and the errors; the real shipped adapter merged into the
real base must write the same plans as base + adapter in llama.cpp.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

from tinyagent_ros.lora_merge import (  # noqa: E402
    MergeError,
    file_sha256,
    merge_lora,
    merged_model,
)

OUT, IN, RANK, ALPHA = 64, 96, 4, 8.0


def _base(path, rng):
    w = rng.normal(0, 0.05, (OUT, IN)).astype(np.float32)
    norm = rng.normal(1, 0.1, IN).astype(np.float32)
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_string("general.name", "tiny")
    writer.add_uint32("qwen2.block_count", 1)
    writer.add_float32("qwen2.rope.freq_base", 1e6)
    writer.add_array("tokenizer.ggml.tokens", ["a", "b", "<|im_end|>"])
    writer.add_array("tokenizer.ggml.token_type", [1, 1, 3])
    q = gguf.quants.quantize(w, gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("blk.0.attn_q.weight", q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("blk.0.attn_norm.weight", norm)
    _write(writer)
    return gguf.quants.dequantize(q, gguf.GGMLQuantizationType.Q8_0), norm


def _adapter(path, rng, target="blk.0.attn_q.weight", kind="adapter", with_b=True, n_in=IN):
    a = rng.normal(0, 0.3, (RANK, n_in)).astype(np.float16)
    b = rng.normal(0, 0.3, (OUT, RANK)).astype(np.float16)
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_string("general.type", kind)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", ALPHA)
    writer.add_tensor(f"{target}.lora_a", a)
    if with_b:
        writer.add_tensor(f"{target}.lora_b", b)
    _write(writer)
    return a.astype(np.float32), b.astype(np.float32)


def _write(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_merge_adds_the_scaled_product_and_copies_the_rest(tmp_path):
    rng = np.random.default_rng(0)
    w, norm = _base(tmp_path / "base.gguf", rng)
    a, b = _adapter(tmp_path / "lora.gguf", rng)
    out = tmp_path / "merged" / "m.gguf"
    report = merge_lora(tmp_path / "base.gguf", tmp_path / "lora.gguf", out, progress=False)
    assert (report.merged_tensors, report.copied_tensors, report.rank) == (1, 1, RANK)

    merged = gguf.GGUFReader(str(out))
    tensors = {t.name: t for t in merged.tensors}
    q = tensors["blk.0.attn_q.weight"]
    assert q.tensor_type == gguf.GGMLQuantizationType.Q8_0
    got = gguf.quants.dequantize(q.data, q.tensor_type)
    want = w + (ALPHA / RANK) * (b @ a)
    assert np.abs(got - want).max() <= np.abs(want).max() / 127  # Q8_0 rounding, no more
    assert np.abs(got - w).max() > 0.1  # the adapter did change the weight
    assert np.array_equal(tensors["blk.0.attn_norm.weight"].data, norm)
    fields = {k: f.contents() for k, f in merged.fields.items() if not k.startswith("GGUF.")}
    assert fields["general.architecture"] == "qwen2" and fields["general.name"] == "tiny"
    assert fields["qwen2.block_count"] == 1 and fields["qwen2.rope.freq_base"] == 1e6
    assert fields["tokenizer.ggml.tokens"] == ["a", "b", "<|im_end|>"]
    assert fields["tokenizer.ggml.token_type"] == [1, 1, 3]

    base_sha = file_sha256(tmp_path / "base.gguf")
    lora_sha = file_sha256(tmp_path / "lora.gguf")
    assert report.out_sha256 == file_sha256(out)
    assert merged_model(out, base_sha, lora_sha) == out
    assert merged_model(out, base_sha, "0" * 64) is None  # made from another adapter
    st = out.stat()
    os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert merged_model(out, base_sha, lora_sha) is None  # changed since it was written


@pytest.mark.parametrize("case, message", [
    ("not_adapter", "not a GGUF LoRA adapter"),
    ("no_b", "lacks its lora_a or lora_b"),
    ("unknown_target", "which the base"),
    ("wrong_shape", "does not fit lora_b"),
    ("garbage", "not a readable GGUF"),
    ("disk_full", "cannot write"),
    ("wrong_base", "not the model the adapter was trained for"),
])
def test_merge_refuses_what_does_not_fit(tmp_path, monkeypatch, case, message):
    rng = np.random.default_rng(1)
    _base(tmp_path / "base.gguf", rng)
    lora = tmp_path / "lora.gguf"
    if case == "garbage":
        lora.write_bytes(b"not a gguf file at all")
    else:
        _adapter(lora, rng, kind="model" if case == "not_adapter" else "adapter",
                 with_b=case != "no_b", n_in=IN + 32 if case == "wrong_shape" else IN,
                 target="blk.7.attn_q.weight" if case == "unknown_target" else
                 "blk.0.attn_q.weight")
    if case == "disk_full":
        def full(self, *args, **kwargs):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", full)
    out = tmp_path / "m.gguf"
    with pytest.raises(MergeError, match=message):
        merge_lora(tmp_path / "base.gguf", lora, out, progress=False,
                   base_sha256="0" * 64 if case == "wrong_base" else None)
    assert not out.exists() and not list(tmp_path.glob(".m.gguf*"))


@pytest.mark.llm
def test_merged_shipped_adapter_writes_the_same_plans(tmp_path, monkeypatch):
    pytest.importorskip("llama_cpp")
    from tinyagent_ros.catalog import load_catalog
    from tinyagent_ros.planner import (
        PlannerError,
        build_planner,
        default_model_path,
        merge_shipped,
        shipped_adapter,
    )

    try:
        default_model_path()
    except PlannerError as err:
        pytest.skip(str(err))
    monkeypatch.setattr("tinyagent_ros.planner.merged_path",
                        lambda name: tmp_path / f"{name}-merged.gguf")
    report = merge_shipped("robot", progress=False)
    merged = tmp_path / "robot-merged.gguf"
    assert report.merged_tensors == 24 * 7 and merged.is_file()

    robot = load_catalog("robot")
    built = build_planner(robot)  # finds the merge of exactly the shipped adapter
    assert built.settings.model_path == merged and built.settings.lora_path is None
    plain = build_planner(robot, adapter=shipped_adapter("robot"), examples=0)
    assert plain.settings.model_path is None and plain.settings.lora_path is not None
    skills = ["navigate_to", "find_object", "pick_up", "locate_person", "hand_over", "dock"]
    for query in ["bring me a cup from the kitchen table", "go charge yourself"]:
        a = built.plan(query, skills=skills)
        b = plain.plan(query, skills=skills)
        assert a.error is None and a.text == b.text, (a.text, b.text)
    from click.testing import CliRunner

    from tinyagent_ros.cli import cli

    again = CliRunner().invoke(cli, ["models", "merge", "--catalog", "robot", "--quiet"])
    assert again.exit_code == 0 and "up to date" in again.output, again.output
