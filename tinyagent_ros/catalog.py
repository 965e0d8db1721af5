"""Skill catalogs: the typed declaration every later stage derives from.

A catalog is written once in YAML (``config/catalogs/*.yaml``) and loaded into
frozen pydantic models; the planner prompt, the plan grammar, the validator and
the executor's resource rule all read these fields, so a bad declaration must
fail at load time naming the skill and the field.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tinyagent_ros.paths import share_path

#: The value types a skill parameter may declare.
PARAM_TYPES = (
    "str",
    "int",
    "float",
    "bool",
    "list[str]",
    "list[int]",
    "list[float]",
    "list[bool]",
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CatalogError(ValueError):
    """A catalog file that cannot be loaded; the message names file, skill and field."""


class Access(str, enum.Enum):
    """How a skill holds a resource while it runs."""

    EXCLUSIVE = "exclusive"
    SHARED = "shared"


class Param(BaseModel):
    """One positional parameter of a skill."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Parameter name, a Python identifier.")
    type: str = Field(description=f"One of {', '.join(PARAM_TYPES)}.")
    description: str = Field("", description="What the value means, for the planner prompt.")
    refs: tuple[str, ...] | None = Field(
        None, description="Skills whose result a $N here may be (None: any); a place takes "
                          "locate_person's result, not pick_up's.")

    @field_validator("name")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not an identifier")
        return v

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in PARAM_TYPES:
            raise ValueError(f"unknown type {v!r}; use one of {', '.join(PARAM_TYPES)}")
        return v


class Skill(BaseModel):
    """A callable skill: signature, meaning, and what it occupies while running."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Name the planner writes; a Python identifier.")
    description: str = Field(description="What the skill does, written for the planner prompt.")
    params: tuple[Param, ...] = Field((), description="Positional parameters, in order.")
    returns: str = Field("", description="What the result is, for the planner prompt.")
    resources: dict[str, Access] = Field(
        default_factory=dict,
        description="Resource name -> exclusive|shared; drives the executor's conflict rule.",
    )
    timeout_s: float = Field(60.0, gt=0, description="Seconds before the task fails as timed out.")
    confirm: bool = Field(False, description="Ask a person before running (sending, deleting).")

    @field_validator("name")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not an identifier")
        if v == "join":
            raise ValueError("'join' is reserved by the plan language")
        return v

    @model_validator(mode="after")
    def _unique_params(self) -> Skill:
        names = [p.name for p in self.params]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate parameter {sorted(dup)[0]!r}")
        return self

    @property
    def signature(self) -> str:
        """Python-style signature, e.g. ``navigate_to(location: str)``."""
        args = ", ".join(f"{p.name}: {p.type}" for p in self.params)
        return f"{self.name}({args})"

    def conflicts_with(self, other: Skill) -> bool:
        """True when the two may not run at the same time (a shared resource, one exclusive)."""
        for res, access in self.resources.items():
            other_access = other.resources.get(res)
            if other_access is None:
                continue
            if Access.EXCLUSIVE in (access, other_access):
                return True
        return False


class Catalog(BaseModel):
    """A named set of skills."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Catalog name, e.g. robot or mac.")
    description: str = Field("", description="Who the agent is, for the planner prompt.")
    rules: tuple[str, ...] = Field((), description="Planning conventions told to the planner.")
    skills: tuple[Skill, ...] = Field(description="The skills, in prompt order.")

    @model_validator(mode="after")
    def _unique_skills(self) -> Catalog:
        names = [s.name for s in self.skills]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate skill {sorted(dup)[0]!r}")
        object.__setattr__(self, "_by_name", {s.name: s for s in self.skills})
        return self

    @model_validator(mode="after")
    def _known_refs(self) -> Catalog:
        names = {s.name for s in self.skills}
        for skill in self.skills:
            for param in skill.params:
                unknown = sorted(set(param.refs or ()) - names)
                if unknown:
                    raise ValueError(f"{skill.name}.{param.name}: refs names unknown skill "
                                     f"{unknown[0]!r}")
        return self

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Skill]:  # type: ignore[override]
        return iter(self.skills)

    def __len__(self) -> int:
        return len(self.skills)

    def get(self, name: str) -> Skill | None:
        """The skill called ``name``, or None."""
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Skill:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no skill {name!r} in catalog {self.name!r}") from None

    @property
    def names(self) -> list[str]:
        """Skill names in catalog order."""
        return [s.name for s in self.skills]

    def subset(self, names: list[str] | set[str]) -> Catalog:
        """A catalog of just these skills, in catalog order (for short prompts)."""
        keep = set(names)
        return self.model_copy(update={"skills": tuple(s for s in self.skills if s.name in keep)})


def _describe_validation_error(source: str, data: Any, err: ValidationError) -> str:
    """One line naming the file, the skill (by name when known) and the field."""
    first = err.errors()[0]
    loc = list(first["loc"])
    where = []
    if len(loc) >= 2 and loc[0] == "skills" and isinstance(loc[1], int):
        idx = loc[1]
        skills = data.get("skills") if isinstance(data, dict) else None
        name = None
        if isinstance(skills, list) and idx < len(skills) and isinstance(skills[idx], dict):
            name = skills[idx].get("name")
        where.append(f"skill {name!r}" if name else f"skill #{idx + 1}")
        loc = loc[2:]
        if len(loc) >= 2 and loc[0] == "params" and isinstance(loc[1], int):
            params = skills[idx].get("params") if name is not None else None
            pname = None
            item = params[loc[1]] if isinstance(params, list) and loc[1] < len(params) else None
            if isinstance(item, dict):
                pname = item.get("name")
            where.append(f"param {pname!r}" if pname else f"param #{loc[1] + 1}")
            loc = loc[2:]
    if loc:
        where.append("field " + ".".join(str(p) for p in loc))
    msg = first["msg"].removeprefix("Value error, ")
    return f"{source}: {', '.join(where) or 'catalog'}: {msg}"


def parse_catalog(data: Any, source: str = "<catalog>") -> Catalog:
    """Build a catalog from already-loaded YAML/JSON data.

    A list is read as an OpenAI-style function list (see :mod:`function_tools`).
    """
    if isinstance(data, list):
        from tinyagent_ros.function_tools import FunctionSchemaError, function_catalog

        try:
            return function_catalog(data, name=Path(source).stem or "functions").catalog
        except (FunctionSchemaError, ValidationError) as err:
            raise CatalogError(f"{source}: {err}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{source}: expected a mapping with 'name' and 'skills'")
    try:
        return Catalog.model_validate(data)
    except ValidationError as err:
        raise CatalogError(_describe_validation_error(source, data, err)) from None


def load_catalog(name_or_path: str | Path) -> Catalog:
    """Load a shipped catalog by name (``robot``, ``mac``) or a YAML/JSON file by path.

    The file holds a catalog mapping, or an OpenAI-style function list.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = share_path("config", "catalogs", f"{name_or_path}.yaml")
        if not path.exists():
            shipped = sorted(p.stem for p in path.parent.glob("*.yaml"))
            raise CatalogError(
                f"no catalog named {str(name_or_path)!r}; shipped: {', '.join(shipped) or 'none'}"
            )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CatalogError(f"{path}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise CatalogError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    return parse_catalog(data, str(path))
