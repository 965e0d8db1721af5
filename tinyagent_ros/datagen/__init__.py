"""Synthetic training data: (command -> LLMCompiler plan) pairs for the robot and Mac catalogs.

``generate_cases(catalog, seed, n, split)`` draws cases; ``write_splits`` writes
the train/val/test JSONL files. The test split uses only held-out phrasings and
entities (see heldout.py). docs/datagen.md describes what is covered.
"""

from tinyagent_ros.datagen.generate import generate_cases, write_splits

__all__ = ["generate_cases", "write_splits"]
