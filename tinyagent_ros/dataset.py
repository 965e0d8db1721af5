"""Dataset cases (contract section 5): JSON Lines of query and gold plan."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tinyagent_ros.catalog import Catalog, load_catalog
from tinyagent_ros.plan import Plan, PlanError, parse_plan


class DatasetError(ValueError):
    """A dataset file that cannot be read; the message names the file and line."""


class Case(BaseModel):
    """One dataset line: a command and its gold plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Unique case id.")
    catalog: Literal["robot", "mac"] = Field(description="Which skill catalog the plan uses.")
    query: str = Field(description="The command as a person says it.")
    plan: str = Field(description="Gold plan text (contract section 1).")
    today: dt.date | None = Field(None, description="The date the planner is told is today.")

    def gold(self, catalog: Catalog) -> Plan:
        """The parsed and validated gold plan."""
        return parse_plan(self.plan, catalog)


def read_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, value) for each non-blank line; a line that is not JSON is an error."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        raise DatasetError(f"{path}: cannot read ({err.strerror})") from None
    with handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as err:
                raise DatasetError(f"{path}:{n}: not JSON ({err.msg})") from None


def read_cases(path: str | Path) -> Iterator[Case]:
    """Yield the cases of a JSONL file, failing on the first bad line with its number."""
    for n, row in read_jsonl(path):
        try:
            yield Case.model_validate(row)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "case"
            raise DatasetError(f"{path}:{n}: {field}: {first['msg']}") from None


def load_cases(path: str | Path, limit: int | None = None) -> list[Case]:
    """All cases of a JSONL file (the first ``limit`` when given); duplicate ids are an error."""
    cases: list[Case] = []
    seen: set[str] = set()
    for case in read_cases(path):
        if case.id in seen:
            raise DatasetError(f"{path}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
        if limit is not None and len(cases) >= limit:
            break
    return cases


def check_cases(cases: Iterable[Case]) -> list[tuple[str, str]]:
    """Validate every gold plan against its catalog; return (case id, reason) for the bad ones."""
    catalogs: dict[str, Catalog] = {}
    bad: list[tuple[str, str]] = []
    for case in cases:
        if case.catalog not in catalogs:
            catalogs[case.catalog] = load_catalog(case.catalog)
        catalog = catalogs[case.catalog]
        try:
            case.gold(catalog)
        except PlanError as err:
            bad.append((case.id, str(err)))
    return bad
