"""The planner fine-tuning pipeline on a tiny random Qwen2 model (CI-sized, CPU).

Pair building needs no torch; everything else is skipped with the reason when
the packages of requirements-train.txt are not installed. The GGUF export is
tested when the llama-cpp-python sdist is already in the cache (no download).
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.dataset import load_cases
from tinyagent_ros.plan import parse_plan
from tinyagent_ros.prompt import build_prompt
from tinyagent_ros.training.examples import (
    IGNORE,
    PairSettings,
    build_pairs,
    canonical_plan,
    grammar_problem,
    offer_skills,
)

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "test" / "data" / "gold_plans.jsonl"

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def cases():
    return load_cases(GOLD)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, cases):
    d = tmp_path_factory.mktemp("data")
    with (d / "robot_train.jsonl").open("w") as fh:
        for c in cases:
            if c.catalog == "robot":
                fh.write(c.model_dump_json(exclude_none=True) + "\n")
    return d


# --------------------------------------------------------------------------- no torch needed


def test_offer_skills_keeps_gold_and_adds_negatives():
    cat = load_catalog("robot")
    rng = random.Random(0)
    settings = PairSettings(p_all_skills=0.0)
    for _ in range(50):
        gold = rng.sample(cat.names, rng.randint(0, 4))
        offered, neg = offer_skills(gold, cat, rng, settings)
        assert set(gold) <= set(offered)
        assert offered == [n for n in cat.names if n in set(offered)]  # catalog order
        assert set(neg) == set(offered) - set(gold) and len(neg) >= 1
        assert 5 <= len(offered) <= 7 or len(offered) == len(gold) + 1
    offered, _ = offer_skills(["say"], cat, rng, PairSettings(p_all_skills=1.0))
    assert offered == cat.names


def test_pairs_use_the_runtime_prompt_and_canonical_plan(cases):
    pairs, skipped = build_pairs(cases, PairSettings(seed=3, examples_k=2))
    assert not skipped and len(pairs) == len(cases)
    again, _ = build_pairs(cases, PairSettings(seed=3, examples_k=2))
    assert pairs == again  # deterministic for a seed
    by_id = {c.id: c for c in cases}
    for pair in pairs:
        case = by_id[pair.case_id]
        cat = load_catalog(case.catalog)
        gold = parse_plan(case.plan, cat)
        assert pair.target == canonical_plan(gold)
        assert parse_plan(pair.target, cat) == gold
        assert set(gold.names) <= set(pair.skills)
        expected = build_prompt(cat, case.query, list(pair.skills), pair.prompt.examples,
                                pair.today)
        assert pair.prompt == expected
        for ex in pair.prompt.examples:  # examples only use offered skills, never the case
            assert set(parse_plan(ex.plan, cat).names) <= set(pair.skills)
            assert ex.query != case.query
        if case.catalog == "mac":
            assert pair.today is not None and "Today is" in pair.prompt.system


def test_grammar_problem_flags_what_the_grammar_cannot_write():
    cat = load_catalog("robot")
    ok = parse_plan('1. take_photo("cat")\n2. send_message("user", "Look", "$1")\n3. join()', cat)
    assert grammar_problem(ok) is None
    bad = parse_plan('1. take_photo("cat")\n2. send_message("user", "Photo $1", "")\n3. join()',
                     cat)
    assert "inside a longer string" in grammar_problem(bad)


def test_hard_examples_keep_every_miss_and_as_many_passes(data_dir, tmp_path):
    from click.testing import CliRunner

    from tinyagent_ros.training.cli import train_cli

    train = data_dir / "robot_train.jsonl"
    ids = [c.id for c in load_cases(train)]
    assert len(ids) >= 8
    verdicts = ["wrong_skills", "invalid"] + ["correct"] * (len(ids) - 3)  # the last: not planned
    lines = [json.dumps({"id": i, "verdict": v, "plan": "1. join()"})
             for i, v in zip(ids, verdicts, strict=False)]
    (tmp_path / "cases.jsonl").write_text("\n".join(lines) + "\n")

    run = CliRunner().invoke(train_cli, ["hard", "--cases", str(tmp_path / "cases.jsonl"),
                                         "--data", str(train), "--out", str(tmp_path / "hard")])
    assert run.exit_code == 0, run.output
    report = json.loads(run.output)
    assert (report["planned"], report["missed"], report["passed"]) == (len(ids) - 1, 2, 2)
    mix = load_cases(tmp_path / "hard" / "robot_train.jsonl")
    assert {c.id for c in mix} >= {ids[0], ids[1]} and len(mix) == 4
    assert ids[-1] not in {c.id for c in mix}
    by_id = {c.id: c for c in load_cases(train)}
    assert all(c == by_id[c.id] for c in mix)  # the gold cases, not the model's plans

    again = CliRunner().invoke(train_cli, ["hard", "--cases", str(tmp_path / "cases.jsonl"),
                                           "--data", str(train), "--out", str(tmp_path / "again")])
    assert (tmp_path / "again" / "robot_train.jsonl").read_text() == \
        (tmp_path / "hard" / "robot_train.jsonl").read_text(), again.output

    (tmp_path / "all_right.jsonl").write_text(lines[2] + "\n")
    run = CliRunner().invoke(train_cli, ["hard", "--cases", str(tmp_path / "all_right.jsonl"),
                                         "--data", str(train), "--out", str(tmp_path / "x")])
    assert run.exit_code != 0 and "every case right" in run.output
    (tmp_path / "stranger.jsonl").write_text(json.dumps({"id": "nope", "verdict": "invalid"}))
    run = CliRunner().invoke(train_cli, ["hard", "--cases", str(tmp_path / "stranger.jsonl"),
                                         "--data", str(train), "--out", str(tmp_path / "x")])
    assert run.exit_code != 0 and "'nope'" in run.output
    (tmp_path / "junk.jsonl").write_text("not json\n")
    run = CliRunner().invoke(train_cli, ["hard", "--cases", str(tmp_path / "junk.jsonl"),
                                         "--data", str(train), "--out", str(tmp_path / "x")])
    assert run.exit_code != 0 and "junk.jsonl:1" in run.output
    (tmp_path / "bad_train.jsonl").write_text("{}\n")
    run = CliRunner().invoke(train_cli, ["hard", "--cases", str(tmp_path / "cases.jsonl"),
                                         "--data", str(tmp_path / "bad_train.jsonl"),
                                         "--out", str(tmp_path / "x")])
    assert run.exit_code == 1 and "bad_train.jsonl:1" in run.output
    assert len(run.output.strip().splitlines()) == 1, run.output


# --------------------------------------------------------------------------- tiny model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, cases):
    """A 2-layer random Qwen2 model with a small byte-level BPE tokenizer and ChatML."""
    pytest.importorskip("torch", reason="training needs torch (requirements-train.txt)")
    pytest.importorskip("transformers", reason="training needs transformers")
    pytest.importorskip("peft", reason="training needs peft")
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    from tinyagent_ros.training.examples import chat_text

    d = tmp_path_factory.mktemp("tiny")
    pairs, _ = build_pairs(cases, PairSettings(p_all_skills=1.0))
    texts = [p.prompt.system + p.prompt.user + p.target for p in pairs]
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=600, special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", chat_template=CHATML)
    tok.save_pretrained(d)
    assert chat_text(tok, pairs[0].prompt).endswith("<|im_start|>assistant\n")
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=4096, tie_word_embeddings=False,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    Qwen2ForCausalLM(cfg).save_pretrained(d)
    return d


def test_loss_mask_covers_only_the_plan_and_end_of_turn(tiny_model, cases):
    from transformers import AutoTokenizer

    from tinyagent_ros.training.examples import chat_text, encode_pair

    tok = AutoTokenizer.from_pretrained(tiny_model)
    pairs, _ = build_pairs(cases[:5], PairSettings())
    for pair in pairs:
        enc = encode_pair(tok, pair)
        prompt_ids = tok(chat_text(tok, pair.prompt), add_special_tokens=False)["input_ids"]
        assert list(enc.input_ids[: enc.n_prompt]) == prompt_ids
        assert all(lab == IGNORE for lab in enc.labels[: enc.n_prompt])
        target = enc.labels[enc.n_prompt:]
        assert list(target) == list(enc.input_ids[enc.n_prompt:])
        assert tok.decode(list(target)) == pair.target + "<|im_end|>"
        assert encode_pair(tok, pair, max_len=enc.n_prompt) is None


def test_prefix_cache_gives_the_same_loss(tiny_model, cases):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tinyagent_ros.training.examples import encode_pair
    from tinyagent_ros.training.lora import _Stepper

    tok = AutoTokenizer.from_pretrained(tiny_model)
    pairs, _ = build_pairs([c for c in cases if c.catalog == "robot"][:6], PairSettings())
    enc = [encode_pair(tok, p) for p in pairs]
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                      init_lora_weights=False))
    model.eval()
    cats = ["robot"] * len(enc)
    plain = _Stepper(model, enc, cats, tok.pad_token_id, torch.device("cpu"), False)
    cached = _Stepper(model, enc, cats, tok.pad_token_id, torch.device("cpu"), True)
    assert cached.prefix["robot"] and len(cached.prefix["robot"]) < min(e.n_prompt for e in enc)
    with torch.no_grad():
        for batch in ([0], [1, 2, 3]):
            a, ran_a, cov_a = plain.loss_sum(batch)
            b, ran_b, cov_b = cached.loss_sum(batch)
            assert torch.allclose(a, b, rtol=1e-4), (a, b)
            assert cov_a == cov_b == ran_a and ran_b < ran_a


def _adapter_weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "adapter_model.safetensors"))


def test_train_checkpoint_resume_and_config(tiny_model, data_dir, tmp_path):
    import torch

    from tinyagent_ros.training.lora import TrainSettings, train_planner

    common = dict(catalog="robot", data_dir=str(data_dir), base_hf=str(tiny_model), steps=4,
                  batch=2, grad_accum=2, lr=1e-2, rank=4, alpha=8, max_len=4096,
                  checkpoint_every=2, threads=2, progress=False, warmup_steps=1, seed=7)
    a = tmp_path / "a"
    res = train_planner(TrainSettings(out_dir=str(a), **common), log=None)
    assert res.steps == 4 and res.final_loss is not None and res.final_loss == res.final_loss
    assert res.log[-1]["loss"] < res.log[0]["loss"] * 1.5
    for name in ("adapter_config.json", "adapter_model.safetensors", "training_config.json",
                 "train_log.jsonl", "base/config.json"):
        assert (a / name).is_file(), name
    cfg = json.loads((a / "training_config.json").read_text())
    assert cfg["seed"] == 7 and cfg["examples_k"] == 0 and cfg["steps_done"] == 4
    assert cfg["settings"]["rank"] == 4 and cfg["negatives"]["skills_total"] == [5, 7]
    assert len(cfg["data"]) == 1 and len(cfg["data"][0]["sha256"]) == 64
    assert cfg["tokens_per_s"] > 0 and cfg["shared_prefix_tokens"]["robot"] > 0
    assert json.loads((a / "base" / "config.json").read_text())["architectures"]

    # A run that died after step 2: keep only that checkpoint, resume, get the same adapter.
    b = tmp_path / "b"
    shutil.copytree(a, b, ignore=shutil.ignore_patterns("adapter_model.safetensors",
                                                        "step-000004"))
    assert [p.name for p in (b / "checkpoints").iterdir()] == ["step-000002"]
    res_b = train_planner(TrainSettings(out_dir=str(b), resume=True, **common), log=None)
    assert res_b.steps == 4 and len(res_b.log) == 4
    wa, wb = _adapter_weights(a), _adapter_weights(b)
    assert wa.keys() == wb.keys() and len(wa) == 2 * 7 * 2
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=1e-6), k

    # Changed settings must not silently resume from an incompatible checkpoint.
    from tinyagent_ros.training.lora import TrainingError

    with pytest.raises(TrainingError):
        train_planner(TrainSettings(out_dir=str(b), resume=True, **{**common, "rank": 8}),
                      log=None)

    # A new run from a trained adapter starts from its weights (lr 0: they stay as they were).
    c = tmp_path / "c"
    res_c = train_planner(TrainSettings(out_dir=str(c), init_adapter=str(a),
                                        **{**common, "lr": 0.0, "steps": 1}), log=None)
    assert res_c.steps == 1
    wc = _adapter_weights(c)
    for k in wa:
        assert torch.equal(wa[k], wc[k]), k
    cfg_c = json.loads((c / "training_config.json").read_text())
    assert cfg_c["init_adapter"]["path"] == str(a) and len(cfg_c["init_adapter"]["sha256"]) == 64
    with pytest.raises(TrainingError, match="same --rank"):
        train_planner(TrainSettings(out_dir=str(tmp_path / "d"), init_adapter=str(a),
                                    **{**common, "rank": 8}), log=None)


def test_cli_and_export_of_the_tiny_adapter(tiny_model, data_dir, tmp_path):
    from click.testing import CliRunner

    from tinyagent_ros.training.cli import train_cli

    out = tmp_path / "cli"
    run = CliRunner().invoke(train_cli, [
        "planner", "--catalog", "robot", "--data", str(data_dir), "--out", str(out),
        "--base-hf", str(tiny_model), "--steps", "1", "--grad-accum", "1", "--rank", "2",
        "--alpha", "4", "--max-len", "4096", "--threads", "2"])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.output.strip().splitlines()[-1])
    assert summary["steps"] == 1 and (out / "adapter_model.safetensors").is_file()

    from tinyagent_ros.training.export import ExportError, adapter_summary, converter_dir

    try:
        converter_dir(download=False)
    except ExportError as err:
        pytest.skip(f"GGUF export not tested: {err} (tinyagent train export downloads it)")
    run = CliRunner().invoke(train_cli, ["export", "--adapter", str(out), "--out",
                                         str(tmp_path / "tiny.gguf"), "--no-check"])
    assert run.exit_code == 0, run.output
    info = adapter_summary(tmp_path / "tiny.gguf")
    assert info["adapter_type"] == "lora" and info["alpha"] == 4.0
    assert info["tensors"] == 2 * 7 * 2  # lora_a and lora_b of 7 projections in 2 layers

    # Training goes on from the GGUF (lr 0: the weights stay those of the PEFT original).
    import torch

    from tinyagent_ros.training.lora import TrainSettings, train_planner

    again = tmp_path / "again"
    train_planner(TrainSettings(catalog="robot", data_dir=str(data_dir), base_hf=str(tiny_model),
                                out_dir=str(again), init_adapter=str(tmp_path / "tiny.gguf"),
                                steps=1, lr=0.0, rank=2, alpha=4, grad_accum=1, max_len=4096,
                                threads=2, progress=False), log=None)
    w0, w1 = _adapter_weights(out), _adapter_weights(again)
    assert w0.keys() == w1.keys()
    for k in w0:  # the GGUF holds f16
        assert torch.allclose(w0[k], w1[k], rtol=1e-3, atol=1e-5), k


def test_a_shipped_gguf_adapter_reads_as_peft_weights(tmp_path):
    pytest.importorskip("torch", reason="training needs torch (requirements-train.txt)")
    from tinyagent_ros.training.lora import TrainingError, gguf_adapter_state

    state, cfg = gguf_adapter_state(ROOT / "models" / "adapters" / "planner-0.5b-robot.gguf")
    assert cfg == {"r": 16, "lora_alpha": 32.0, "target_modules": [
        "down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]}
    assert len(state) == 24 * 7 * 2  # 24 blocks of Qwen2.5-0.5B
    a = state["base_model.model.model.layers.23.mlp.down_proj.lora_A.weight"]
    b = state["base_model.model.model.layers.23.mlp.down_proj.lora_B.weight"]
    assert tuple(a.shape) == (16, 4864) and tuple(b.shape) == (896, 16)  # [r, in], [out, r]
    assert float(b.abs().sum()) > 0  # trained: B starts at zero
    not_an_adapter = ROOT / "models" / "toolrag" / "robot" / "head.npz"
    with pytest.raises(TrainingError, match="init-adapter .*not a readable GGUF"):
        gguf_adapter_state(not_an_adapter)


def test_add_bos_is_read_from_the_gguf_as_llama_cpp_reads_it(tmp_path):
    gguf = pytest.importorskip("gguf")
    from tinyagent_ros.training.examples import open_vocab, runtime_add_bos

    for flag in (True, False):
        path = tmp_path / f"bos-{flag}.gguf"
        w = gguf.GGUFWriter(str(path), "qwen2")
        w.add_add_bos_token(flag)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        assert runtime_add_bos(path) is flag  # no llama.cpp needed where the key is set
    pytest.importorskip("llama_cpp")
    from tinyagent_ros.planner import default_model_path

    base = default_model_path()
    if not Path(base).is_file():
        pytest.skip(f"planner model not installed: {base}")
    assert runtime_add_bos(base) is bool(open_vocab(base)._model.add_bos_token())


def test_eval_offers_the_same_skills_to_every_variant(cases):
    from tinyagent_ros.training.evaluate import offered_for

    for case in cases:
        cat = load_catalog(case.catalog)
        gold = set(case.gold(cat).names)
        a = offered_for(case, cat, "offered", seed=1)
        assert a == offered_for(case, cat, "offered", seed=1)
        assert gold <= set(a) and 5 <= len(a) <= 7 or len(a) == len(gold) + 1
        assert offered_for(case, cat, "all", 1) == cat.names
        assert set(offered_for(case, cat, "gold", 1)) == (gold or set(cat.names))


def test_a_step_with_a_nan_loss_is_skipped_and_a_run_of_them_stops(tiny_model, data_dir,
                                                                   tmp_path, monkeypatch):
    import torch

    from tinyagent_ros.training import lora
    from tinyagent_ros.training.lora import TrainingError, TrainSettings, train_planner

    common = dict(catalog="robot", data_dir=str(data_dir), base_hf=str(tiny_model), steps=3,
                  batch=2, grad_accum=1, lr=1e-2, rank=4, alpha=8, max_len=4096,
                  checkpoint_every=0, threads=2, progress=False, warmup_steps=1, seed=7)
    real = lora._Stepper.loss_sum
    calls = {"n": 0}

    def nan_on_second_step(self, idx):
        loss, ran, covered = real(self, idx)
        calls["n"] += 1
        return (loss * float("nan") if calls["n"] == 2 else loss), ran, covered

    monkeypatch.setattr(lora._Stepper, "loss_sum", nan_on_second_step)
    res = train_planner(TrainSettings(out_dir=str(tmp_path / "a"), **common), log=None)
    assert [r.get("skipped") is not None for r in res.log] == [False, True, False]
    assert res.log[1]["loss"] is None and res.final_loss == pytest.approx(res.log[2]["loss"])
    assert all(torch.isfinite(w).all() for w in _adapter_weights(tmp_path / "a").values())
    rows = [json.loads(line) for line in (tmp_path / "a" / "train_log.jsonl").open()]
    assert rows[1]["skipped"] == "loss or gradient not finite"  # strict JSON: no NaN

    monkeypatch.setattr(lora._Stepper, "loss_sum",
                        lambda self, idx: (lambda r: (r[0] * float("nan"), r[1], r[2]))(
                            real(self, idx)))
    monkeypatch.setattr(lora, "MAX_NONFINITE_STEPS", 2)
    with pytest.raises(TrainingError, match="not finite for 2 steps in a row .*--dtype float32"):
        train_planner(TrainSettings(out_dir=str(tmp_path / "b"), **common), log=None)
    with pytest.raises(TrainingError, match="dtype must be one of float32, bfloat16"):
        train_planner(TrainSettings(out_dir=str(tmp_path / "c"), dtype="float16", **common),
                      log=None)


def _rejected(plan: str) -> str | None:
    """A wrong but complete plan: the gold one with its first quoted place or name changed."""
    wrong = re.sub(r'"(?!\$)[^"]+"', '"the attic"', plan, count=1)
    return wrong if wrong != plan else None


def test_dpo_prefers_the_gold_plan_over_the_models_own(tiny_model, data_dir, tmp_path):
    import torch
    from click.testing import CliRunner

    from tinyagent_ros.training.cli import train_cli
    from tinyagent_ros.training.lora import TrainingDataError, TrainSettings, train_planner
    from tinyagent_ros.training.mining import rejected_plans

    train = load_cases(data_dir / "robot_train.jsonl")
    rows = [{"id": c.id, "verdict": "wrong_arguments", "plan": _rejected(c.plan)}
            for c in train if _rejected(c.plan)][:6]
    rows += [{"id": train[0].id, "verdict": "correct", "plan": train[0].plan},
             {"id": "cut-short", "verdict": "invalid", "plan": '1. navigate_to("$1")\n'}]
    rows[0]["plan"] = rows[0]["plan"].replace("<END_OF_PLAN>", "")  # unfinished: not a pair
    prefs = tmp_path / "cases.jsonl"
    prefs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert set(rejected_plans(prefs)) == {r["id"] for r in rows[1:6]}

    common = dict(catalog="robot", data_dir=str(data_dir), base_hf=str(tiny_model), steps=6,
                  batch=2, grad_accum=1, lr=2e-2, rank=4, alpha=8, max_len=4096,
                  checkpoint_every=0, threads=2, progress=False, warmup_steps=1, seed=3,
                  p_all_skills=1.0, preferences=str(prefs), dpo_beta=0.5)
    # "cut-short" is no complete plan, so the file's only stranger is ignored
    res = train_planner(TrainSettings(out_dir=str(tmp_path / "dpo"), **common), log=None)
    assert res.examples == 5 and res.steps == 6
    assert all({"margin", "won"} <= set(r) for r in res.log)
    assert res.log[0]["margin"] == pytest.approx(0.0, abs=0.05)  # policy == reference at start
    assert sum(r["margin"] for r in res.log[-2:]) > 0.5, res.log
    cfg = json.loads((tmp_path / "dpo" / "training_config.json").read_text())
    assert cfg["objective"] == "dpo" and cfg["cases"] == 5
    assert cfg["settings"]["preferences"] == str(prefs)
    assert all(torch.isfinite(w).all() for w in _adapter_weights(tmp_path / "dpo").values())

    stranger = tmp_path / "stranger.jsonl"
    stranger.write_text(json.dumps({"id": "nope", "verdict": "wrong_skills",
                                    "plan": "1. join()<END_OF_PLAN>"}) + "\n")
    with pytest.raises(TrainingDataError, match="1 case\\(s\\) not in the training split.*'nope'"):
        train_planner(TrainSettings(out_dir=str(tmp_path / "x"),
                                    **{**common, "preferences": str(stranger)}), log=None)
    all_right = tmp_path / "all_right.jsonl"
    all_right.write_text(json.dumps(rows[6]) + "\n")
    run = CliRunner().invoke(train_cli, [
        "planner", "--data", str(data_dir), "--out", str(tmp_path / "y"), "--base-hf",
        str(tiny_model), "--preferences", str(all_right), "--steps", "1"])
    assert run.exit_code == 1 and "no complete wrong plan" in run.output
    assert len(run.output.strip().splitlines()) == 1, run.output


def test_an_adapter_trained_elsewhere_exports_against_the_same_installed_base(tmp_path):
    from tinyagent_ros.encoder import file_sha256
    from tinyagent_ros.training.export import ExportError, base_from_config
    from tinyagent_ros.training.lora import TrainingError, default_base_gguf

    try:
        installed = default_base_gguf()
    except TrainingError as err:
        pytest.skip(str(err))
    if not installed.is_file():
        pytest.skip(f"planner model not installed: {installed}")
    gpu_box = "/root/base/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf-not-here"
    for sha, ok in ((file_sha256(installed), True), ("0" * 64, False)):
        (tmp_path / "training_config.json").write_text(
            json.dumps({"base": {"path": gpu_box, "sha256": sha}}))
        if ok:
            assert base_from_config(tmp_path) == installed
        else:
            with pytest.raises(ExportError, match="trained on .*not here.*differs"):
                base_from_config(tmp_path)
