"""``tinyagent data ...``: the synthetic training-data commands (a group the main CLI adds)."""

from __future__ import annotations

import time

import click
from tqdm import tqdm

from tinyagent_ros.datagen.generate import GRAMMARS, write_splits


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def data() -> None:
    """Synthetic (command -> plan) training data."""


@data.command()
@click.option("--catalog", type=click.Choice(sorted(GRAMMARS)), default="robot", show_default=True,
              help="Which skill catalog to write plans for.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed (same seed, same files).")
@click.option("--train", "n_train", type=click.IntRange(min=0), default=20000, show_default=True,
              help="Training cases.")
@click.option("--val", "n_val", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Validation cases (same phrasings and entities as train, other queries).")
@click.option("--test", "n_test", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Test cases (held-out phrasings and entities only).")
@click.option("--unserved", type=click.FloatRange(min=0.0, max=1.0), default=0.05,
              show_default=True,
              help="Requests no skill serves (gold: the empty plan), as a share of each split, "
                   "written after its other cases.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Directory for <catalog>_train.jsonl, _val.jsonl and _test.jsonl.")
def generate(catalog: str, seed: int, n_train: int, n_val: int, n_test: int, unserved: float,
             out_dir: str) -> None:
    """Generate train/val/test JSONL files of synthetic cases.

    \b
    Example:
      tinyagent data generate --catalog robot --seed 0 --out data/syn
      tinyagent check --dataset data/syn/robot_train.jsonl
    """
    start = time.perf_counter()
    with tqdm(total=n_train + n_val + n_test, desc=f"{catalog} cases", unit="case") as bar:
        paths = write_splits(catalog, seed, n_train, n_val, n_test, out_dir, progress=bar.update,
                             unserved=unserved)
    took = time.perf_counter() - start
    for split, path in paths.items():
        click.echo(f"{split}: {path}")
    extra = sum(round(unserved * n) for n in (n_train, n_val, n_test))
    click.echo(f"wrote {n_train + n_val + n_test} cases and {extra} unserved requests "
               f"in {took:.1f} s")
