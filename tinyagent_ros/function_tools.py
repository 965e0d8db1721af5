"""OpenAI-style function lists as catalogs, and plans back as keyword calls.

BFCL cases and users' own tool lists describe functions with JSON schema:
dotted names, keyword parameters, optional ones. The plan language has
identifiers, positional arguments and no omissions, so the mapping is:

- names: every character outside ``[A-Za-z0-9_]`` becomes ``_`` (``math.sum``
  -> ``math_sum``), de-duplicated with a suffix; the original is kept.
- types: string/integer/float(number)/boolean and arrays of them map to
  ``str``/``int``/``float``/``bool``/``list[...]``; anything else (objects,
  nested arrays, ``any``) travels as JSON text in a ``str`` and is decoded
  on the way back.
- optional parameters are filled with their schema default, else the type's
  empty value (``""``, ``0``, ``0.0``, ``False``, ``[]``); the prompt says so,
  and on the way back a value equal to it is left out of the call. Given the
  request, an optional string or number it never mentions is left out too: a
  small model fills such parameters with values of its own (``1.0``, ``"m"``),
  where the function's own default is what the user asked for.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tinyagent_ros.catalog import Catalog, Param, Skill
from tinyagent_ros.numerals import Word, numbers_as_digits
from tinyagent_ros.plan import Plan, type_error

_SCALAR = {"string": "str", "integer": "int", "float": "float", "number": "float",
           "boolean": "bool"}
_EMPTY = {"str": "", "int": 0, "float": 0.0, "bool": False}
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")

#: Catalog text for function lists: what the agent is and how optional values are written.
DESCRIPTION = "an assistant that answers requests by calling the functions listed below."
RULES = (
    "Call a function only when it does what the user asks; if none fits, the plan is just "
    "join().",
    "Take argument values from the request; an optional parameter that the request does not "
    "mention gets the value its description says leaves it out.",
)


class FunctionSchemaError(ValueError):
    """A function list that cannot be read as OpenAI-style JSON schema."""


@dataclass(frozen=True)
class FunctionParam:
    """How one keyword parameter travels through the plan language."""

    name: str
    required: bool
    #: The positional value that stands for "left out" (optional parameters).
    omitted: Any
    #: The value is JSON text in the plan and decoded in the call.
    json_text: bool


@dataclass(frozen=True)
class FunctionSpec:
    """A function's original name and its parameters in signature order."""

    name: str
    params: tuple[FunctionParam, ...]


@dataclass(frozen=True)
class FunctionCatalog:
    """A catalog built from a function list, and the way back to keyword calls."""

    catalog: Catalog
    functions: dict[str, FunctionSpec]

    def calls(self, plan: Plan, request: str | None = None) -> list[dict[str, dict[str, Any]]]:
        """The plan's tasks as ``[{original_name: {param: value}}]``, omitted values left out,
        and, with ``request``, optional strings and numbers it does not mention.
        """
        out = []
        for task in plan.tasks:
            spec = self.functions[task.name]
            kwargs: dict[str, Any] = {}
            for value, param in zip(task.args, spec.params, strict=True):
                if not param.required and (_same(value, param.omitted) or (
                        request is not None and not param.json_text
                        and not mentions(request, value))):
                    continue
                kwargs[param.name] = _decode(value) if param.json_text else value
            out.append({spec.name: kwargs})
        return out


def _same(value: Any, omitted: Any) -> bool:
    return type(value) is type(omitted) and value == omitted or (
        isinstance(omitted, float) and isinstance(value, int) and not isinstance(value, bool)
        and value == omitted)


_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_PERCENT = re.compile(r"(-?\d+(?:,\d{3})*(?:\.\d+)?)\s*(?:%|percent\b)")
_WORD = re.compile(r"[^\W\d_]+|\d+")


def mentions(request: str, value: Any) -> bool:
    """Whether ``request`` states ``value``: a string as words in it (any case; a unit stuck
    to a number, "5cm", is a word), a number among its numbers, in digits or words ("60%"
    also reads 0.6); other values (booleans, lists) count as stated.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return True
    if isinstance(value, str):
        words = " ".join(_WORD.findall(value.lower()))
        return not words or re.search(rf"\b{re.escape(words)}\b",
                                      " ".join(_WORD.findall(request.lower()))) is not None
    spelled = numbers_as_digits([Word(w) for w in re.findall(r"[a-z]+", request.lower())])
    numbers = {float(n.replace(",", "")) for n in _NUMBER.findall(request)}
    numbers.update(float(n.replace(",", "")) / 100 for n in _PERCENT.findall(request))
    numbers.update(float(w.text) for w in spelled if w.text.isdigit())
    return float(value) in numbers or float(-value) in numbers


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _safe(name: str, taken: set[str]) -> str:
    safe = _UNSAFE.sub("_", name) or "f"
    if safe[0].isdigit():
        safe = f"f_{safe}"
    if safe == "join":
        safe = "join_"
    base, n = safe, 2
    while safe in taken:
        safe, n = f"{base}_{n}", n + 1
    taken.add(safe)
    return safe


def _param_type(schema: dict[str, Any]) -> tuple[str, bool]:
    """The catalog type for a JSON schema, and whether the value travels as JSON text."""
    kind = str(schema.get("type", "any")).lower()
    if kind in _SCALAR:
        return _SCALAR[kind], False
    if kind in ("array", "tuple", "list"):
        items = schema.get("items") or {"type": "string"}
        inner = str(items.get("type", "string")).lower() if isinstance(items, dict) else ""
        if inner in _SCALAR:
            return f"list[{_SCALAR[inner]}]", False
    return "str", True


def _omitted(type_name: str, json_text: bool, schema: dict[str, Any]) -> Any:
    if "default" in schema:
        default = schema["default"]
        if json_text:
            return default if isinstance(default, str) else json.dumps(default)
        if _fits(default, type_name):
            return default
    return [] if type_name.startswith("list[") else _EMPTY[type_name]


def _fits(value: Any, type_name: str) -> bool:
    return value is not None and type_error(value, type_name) is None


def _describe(schema: dict[str, Any], required: bool, omitted: Any, json_text: bool) -> str:
    text = " ".join(str(schema.get("description", "")).split())
    if schema.get("enum"):
        text += " One of: " + ", ".join(json.dumps(v) for v in schema["enum"]) + "."
    if json_text:
        text += " Written as JSON text."
    if not required:
        text += f" Optional: {json.dumps(omitted)} leaves it out."
    return text.strip()


def function_catalog(functions: list[dict[str, Any]], name: str = "functions") -> FunctionCatalog:
    """A catalog for an OpenAI-style function list.

    Each item is ``{"name", "description", "parameters"}``, optionally wrapped as
    ``{"type": "function", "function": {...}}``.
    """
    if not isinstance(functions, list):
        raise FunctionSchemaError("a function list must be a JSON list")
    if not functions:
        raise FunctionSchemaError("the function list is empty")
    skills, specs, taken = [], {}, set()
    for number, raw in enumerate(functions, 1):
        fn = raw.get("function", raw) if isinstance(raw, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise FunctionSchemaError(f"function {number} has no name")
        schema = fn.get("parameters") or {}
        props = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        params, fparams, param_names = [], [], set()
        for pname, pschema in props.items():
            pschema = pschema if isinstance(pschema, dict) else {}
            type_name, json_text = _param_type(pschema)
            is_required = pname in required
            omitted = None if is_required else _omitted(type_name, json_text, pschema)
            params.append(Param(name=_safe(pname, param_names), type=type_name,
                                description=_describe(pschema, is_required, omitted, json_text)))
            fparams.append(FunctionParam(pname, is_required, omitted, json_text))
        safe = _safe(fn["name"], taken)
        try:
            skills.append(Skill(name=safe, params=tuple(params),
                                description=" ".join(str(fn.get("description", "")).split())
                                or fn["name"]))
        except ValueError as err:
            raise FunctionSchemaError(f"function {fn['name']!r}: {err}") from None
        specs[safe] = FunctionSpec(fn["name"], tuple(fparams))
    catalog = Catalog(name=name, description=DESCRIPTION, rules=RULES, skills=tuple(skills))
    return FunctionCatalog(catalog, specs)
