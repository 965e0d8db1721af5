"""A planner that returns given plan text instead of running a model (tests, demos).

Set the node's ``plan_text_file`` parameter to a plan file (``.txt``: the plan
for every command) or to a YAML mapping of command -> plan text, where the key
``"*"`` is the plan for any other command. A command with no plan gets an
empty plan, which the executor reports as a plan error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from tinyagent_ros.catalog import Catalog
from tinyagent_ros.plan import END_OF_PLAN, parse_plan
from tinyagent_ros.prompt import Prompt, build_prompt

_QUESTION = "Question: "


class ScriptedPlanner:
    """Stream stored plan texts line by line, with the :class:`Planner` methods Agent uses."""

    def __init__(self, catalog: Catalog, plans: dict[str, str], line_delay_s: float = 0.0
                 ) -> None:
        self.catalog = catalog
        self.plans = {self._key(k): v for k, v in plans.items()}
        self.line_delay_s = line_delay_s

    @classmethod
    def from_file(cls, path: str | Path, catalog: Catalog, line_delay_s: float = 0.0
                  ) -> ScriptedPlanner:
        """Load plans from a ``.txt`` plan or a YAML mapping; every plan is validated now."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml", ".json"):
            data = yaml.safe_load(text)
            if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()
            ):
                raise ValueError(f"{path}: expected a mapping of command -> plan text")
            plans = data
        else:
            plans = {"*": text}
        for command, plan in plans.items():
            try:
                parse_plan(plan, catalog)
            except ValueError as err:
                raise ValueError(f"{path}: plan for {command!r}: {err}") from None
        return cls(catalog, plans, line_delay_s)

    @staticmethod
    def _key(command: str) -> str:
        return " ".join(command.lower().split()).rstrip(".!?")

    def select_skills(self, query: str) -> list[str]:
        """Every skill of the catalog."""
        return list(self.catalog.names)

    def prompt_for(self, query: str, today: object = None, skills: list[str] | None = None
                   ) -> Prompt:
        """A prompt that carries the command (the text is never used)."""
        return build_prompt(self.catalog, query, skills)

    def stream(self, prompt: Prompt, stop: threading.Event | None = None,
               previous: str | None = None) -> Iterator[str]:
        """Yield the stored plan for the prompt's command, one line at a time."""
        query = prompt.user.removeprefix(_QUESTION)
        text = self.plans.get(self._key(query), self.plans.get("*", ""))
        if not text.strip():
            return
        if END_OF_PLAN not in text:
            text = text.rstrip() + END_OF_PLAN
        for line in text.splitlines(keepends=True):
            if stop is not None and stop.is_set():
                return
            if self.line_delay_s:
                time.sleep(self.line_delay_s)
            yield line
