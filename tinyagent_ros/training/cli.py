"""``tinyagent train``: fine-tune the planner with LoRA, export the adapter, compare planners."""

from __future__ import annotations

import json
from pathlib import Path

import click

_IMPORT_HINT = "training needs the packages of requirements-train.txt " \
               "(.venv/bin/pip install -r requirements-train.txt)"


def _need_torch() -> None:
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as err:
        raise click.ClickException(f"{_IMPORT_HINT}; missing: {err.name}") from None


@click.group("train", context_settings={"help_option_names": ["-h", "--help"]})
def train_cli() -> None:
    """Fine-tune the planner (LoRA) on synthetic plans and export it for llama.cpp.

    \b
    Examples:
      tinyagent train planner --catalog robot --data /tmp/syn --out out/lora-robot --steps 200
      tinyagent train planner --catalog robot --data /tmp/syn --out out/lora-robot --resume
      tinyagent train planner --data /tmp/syn --out out/more --init-adapter out/lora-robot --seed 1
      tinyagent train export --adapter out/lora-robot --out out/lora-robot.gguf
      tinyagent train eval --data /tmp/syn/robot_val.jsonl --lora out/lora-robot.gguf --limit 100
    """


@train_cli.command("planner", short_help="Train a LoRA adapter for the planner.")
@click.option("--catalog", type=click.Choice(["robot", "mac", "both"]), default="robot",
              show_default=True, help="Which training files: DATA/{catalog}_train.jsonl.")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="Directory with robot_train.jsonl / mac_train.jsonl.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output directory (adapter, training_config.json, checkpoints).")
@click.option("--base", "base_gguf", type=click.Path(dir_okay=False, exists=True),
              help="Base GGUF (default: the installed planner-0.5b).")
@click.option("--base-hf", "base_hf", type=click.Path(file_okay=False, exists=True),
              help="A Hugging Face model directory instead of a GGUF (tests, other bases).")
@click.option("--steps", type=int, help="Optimizer steps (default: from --epochs).")
@click.option("--epochs", type=float, default=1.0, show_default=True)
@click.option("--lr", type=float, default=2e-4, show_default=True)
@click.option("--rank", type=int, default=16, show_default=True)
@click.option("--alpha", type=int, default=32, show_default=True)
@click.option("--dropout", type=float, default=0.05, show_default=True)
@click.option("--batch", type=int, default=1, show_default=True, help="Examples per micro-batch.")
@click.option("--grad-accum", type=int, default=8, show_default=True,
              help="Micro-batches per optimizer step.")
@click.option("--max-len", type=int, default=1536, show_default=True,
              help="Drop examples with more tokens.")
@click.option("--warmup", "warmup_steps", type=int, default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--examples-k", type=int, default=0, show_default=True,
              help="In-context examples per prompt (0 = short prompts).")
@click.option("--preferences", type=click.Path(dir_okay=False, exists=True),
              help="Train with DPO instead: tinyagent bench --out verdicts over training "
                   "commands; each complete wrong plan is rejected beside its gold plan.")
@click.option("--dpo-beta", type=float, default=0.1, show_default=True,
              help="DPO's beta: how far from the starting adapter the log-ratios may move.")
@click.option("--sft-weight", type=float, default=1.0, show_default=True,
              help="With --preferences: weight of the gold plans' mean token loss.")
@click.option("--skills-min", type=int, default=5, show_default=True)
@click.option("--skills-max", type=int, default=7, show_default=True)
@click.option("--p-all-skills", type=float, default=0.1, show_default=True,
              help="Share of prompts that list the whole catalog.")
@click.option("--limit", type=int, help="Use at most N training cases (per catalog).")
@click.option("--init-adapter", type=click.Path(exists=True),
              help="Start from this trained adapter, a PEFT directory or a GGUF file such as a "
                   "shipped one (new optimizer and schedule).")
@click.option("--checkpoint-every", type=int, default=50, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in --out.")
@click.option("--threads", type=int, help="CPU threads (default: all cores).")
@click.option("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available).")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16"]), default="float32",
              show_default=True, help="Weights and activations while training (bfloat16: "
              "faster on a GPU, but it hit NaN gradients in the one run measured).")
@click.option("--prefix-cache/--no-prefix-cache", default=True, show_default=True,
              help="Share the no-grad keys/values of the common prompt prefix.")
@click.option("--max-minutes", type=float, help="Stop (and save) after this much wall time.")
@click.option("--verify-tokens/--no-verify-tokens", default=True, show_default=True,
              help="Check the training tokens against llama.cpp's (needs llama-cpp-python; "
                   "turn off on a GPU machine without it).")
def planner_cmd(**kw: object) -> None:
    """Train a LoRA adapter on DATA/{catalog}_train.jsonl with the runtime prompt.

    Prompts list the gold skills plus random others (5-7 in all), exactly as
    the planner builds them; loss is on the plan tokens only. With
    --preferences, DPO on the planner's own wrong plans against the gold ones
    (give --p-all-skills 1 when the plans were made with every skill listed,
    the `grammar` tool mode).

    \b
    Example:
      tinyagent train planner --catalog robot --data /tmp/syn --out out/lora-robot \\
          --steps 300 --checkpoint-every 50
      tinyagent bench --dataset slice.jsonl --out cases.jsonl   # slice of robot_train.jsonl
      tinyagent train planner --data /tmp/syn --out out/dpo --preferences cases.jsonl \\
          --init-adapter models/adapters/planner-0.5b-robot.gguf --p-all-skills 1
    """
    _need_torch()
    from tinyagent_ros.training.examples import TrainingDataError
    from tinyagent_ros.training.lora import TrainingError, TrainSettings, train_planner

    try:
        result = train_planner(TrainSettings(**kw), log=lambda m: click.echo(m, err=True))
    except (TrainingError, TrainingDataError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps({"out": str(result.out_dir), "steps": result.steps,
                           "total_steps": result.total_steps, "examples": result.examples,
                           "final_loss": result.final_loss,
                           "tokens_per_s": round(result.tokens_per_s, 2),
                           "s_per_step": round(result.s_per_step, 2),
                           "stopped_early": result.stopped_early}))


@train_cli.command("hard", short_help="Training cases the planner gets wrong, to train on.")
@click.option("--cases", "cases_file", required=True, type=click.Path(dir_okay=False, exists=True),
              help="Per-case verdicts: tinyagent bench --dataset TRAIN_SLICE --out CASES.")
@click.option("--data", "train_file", required=True, type=click.Path(dir_okay=False, exists=True),
              help="The training JSONL the planned cases come from.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for {catalog}_train.jsonl (give it to train planner --data).")
@click.option("--passed-ratio", type=float, default=1.0, show_default=True,
              help="Cases the planner got right, per case it missed.")
@click.option("--seed", type=int, default=0, show_default=True)
def hard_cmd(cases_file: str, train_file: str, out_dir: str, passed_ratio: float,
             seed: int) -> None:
    """Write the missed training cases, mixed with some it got right, for further training.

    \b
    Example:
      sed -n 10001,12400p /tmp/syn/robot_train.jsonl > slice.jsonl
      tinyagent bench --dataset slice.jsonl --out cases.jsonl
      tinyagent train hard --cases cases.jsonl --data slice.jsonl --out /tmp/hard
      tinyagent train planner --data /tmp/hard --out out/hard \\
          --init-adapter models/adapters/planner-0.5b-robot.gguf --p-all-skills 1
    """
    from tinyagent_ros.dataset import DatasetError
    from tinyagent_ros.training.examples import TrainingDataError
    from tinyagent_ros.training.mining import hard_examples, write_cases

    try:
        mix = hard_examples(cases_file, train_file, passed_ratio, seed)
    except (TrainingDataError, DatasetError) as err:
        raise click.ClickException(str(err)) from None
    catalogs = sorted({case.catalog for case in mix.cases})
    if len(catalogs) != 1:
        raise click.ClickException(
            f"{train_file}: cases of several catalogs ({', '.join(catalogs)}); give one")
    path = Path(out_dir) / f"{catalogs[0]}_train.jsonl"
    write_cases(mix.cases, path)
    click.echo(json.dumps({"out": str(path), "planned": mix.planned, "verdicts": mix.verdicts,
                           "missed": mix.missed, "passed": mix.passed}))


@train_cli.command("export", short_help="Convert an adapter to a GGUF LoRA file.")
@click.option("--adapter", "adapter_dir", required=True,
              type=click.Path(file_okay=False, exists=True), help="The training output directory.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="The GGUF adapter to write.")
@click.option("--outtype", type=click.Choice(["f32", "f16", "bf16", "q8_0"]), default="f16",
              show_default=True)
@click.option("--check/--no-check", default=True, show_default=True,
              help="Load it with llama.cpp on the base model and confirm it changes the output.")
@click.option("--merged", "merged", type=click.Path(dir_okay=False),
              help="Also write a merged, quantised model GGUF here (slow; optional).")
def export_cmd(adapter_dir: str, out_file: str, outtype: str, check: bool,
               merged: str | None) -> None:
    """Convert a trained adapter with llama.cpp's convert_lora_to_gguf.py.

    The converter comes from the llama-cpp-python sdist of the installed
    version, downloaded once into ~/.cache/tinyagent_ros/sdist.

    \b
    Example:
      tinyagent train export --adapter out/lora-robot --out out/lora-robot.gguf
      tinyagent train eval --data /tmp/syn/robot_val.jsonl --lora out/lora-robot.gguf
    """
    _need_torch()
    from tinyagent_ros.training.export import (
        ExportError,
        adapter_summary,
        check_adapter,
        export_adapter,
        merge_to_gguf,
    )

    try:
        path = export_adapter(adapter_dir, out_file, outtype=outtype)
        summary = adapter_summary(path)
        result: dict[str, object] = {"adapter": str(path), **summary}
        if check:
            result["check"] = _check(Path(adapter_dir), path, check_adapter)
        if merged:
            result["merged"] = str(merge_to_gguf(adapter_dir, merged))
    except ExportError as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps(result, ensure_ascii=False))


def _check(adapter_dir: Path, adapter_gguf: Path, check_adapter: object) -> dict[str, object]:
    from tinyagent_ros.catalog import load_catalog
    from tinyagent_ros.prompt import build_prompt
    from tinyagent_ros.training.examples import chat_text, open_vocab
    from tinyagent_ros.training.export import base_from_config
    from tinyagent_ros.training.lora import CONFIG_FILE

    cfg_path = adapter_dir / CONFIG_FILE
    cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
    base = base_from_config(adapter_dir)
    if base.suffix != ".gguf":
        return {"skipped": f"base {base} is not a GGUF"}
    catalog = cfg.get("settings", {}).get("catalog", "robot")
    cat = load_catalog("robot" if catalog == "both" else catalog)
    prompt = build_prompt(cat, "Bring me a cup from the kitchen.")
    text = chat_text(open_vocab(base), prompt)
    return check_adapter(base, adapter_gguf, text)  # type: ignore[operator]


@train_cli.command("eval", short_help="Compare base and adapter planners on a dataset.")
@click.option("--data", "dataset", required=True, type=click.Path(dir_okay=False, exists=True),
              help="A JSONL dataset (e.g. robot_val.jsonl).")
@click.option("--lora", "loras", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="GGUF adapter(s) to compare with the base model.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--base", "base_gguf", type=click.Path(dir_okay=False, exists=True))
@click.option("--skills", type=click.Choice(["offered", "gold", "all"]), default="offered",
              show_default=True,
              help="offered: gold + random negatives as in training (seeded); gold; all.")
@click.option("--no-base", is_flag=True, help="Skip the base model.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              help="Write per-case results (JSONL).")
def eval_cmd(dataset: str, loras: tuple[str, ...], limit: int, base_gguf: str | None, skills: str,
             no_base: bool, seed: int, out_file: str | None) -> None:
    """DAG and strict success of the base planner and each adapter (grammar on).

    \b
    Example:
      tinyagent train eval --data /tmp/syn/robot_val.jsonl --lora out/lora-robot.gguf
    """
    from tinyagent_ros.training.evaluate import evaluate

    variants: list[str | None] = ([] if no_base else [None]) + list(loras)
    report = evaluate(dataset, variants, limit=limit, base_gguf=base_gguf, skills=skills,
                      seed=seed, out_file=out_file, log=lambda m: click.echo(m, err=True))
    click.echo(json.dumps(report))
