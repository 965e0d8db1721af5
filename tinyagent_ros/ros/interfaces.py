"""ROS 2 interface types by name, and messages filled from plain data with type checks.

``rosidl_runtime_py`` is not available from PyPI, so these are small functions of
our own built on the generated classes' ``get_fields_and_field_types()``.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_TYPE_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)/(msg|srv|action)/([A-Z][A-Za-z0-9]*)$")
_SEQUENCE = re.compile(r"^sequence<(.+?)(?:,\s*(\d+))?>$")
_ARRAY = re.compile(r"^(.+)\[(\d+)\]$")
_BOUNDED_STRING = re.compile(r"^w?string<=(\d+)$")

_INT_RANGES = {
    f"{sign}int{bits}": (0, 2**bits - 1) if sign else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    for sign in ("", "u")
    for bits in (8, 16, 32, 64)
}
_INT_RANGES["octet"] = _INT_RANGES["byte"] = (0, 255)
_FLOATS = {"float", "double", "long double", "float32", "float64"}


class InterfaceError(ValueError):
    """An interface type that cannot be found, or data that does not fit a message."""


def get_interface(type_name: str) -> Any:
    """The generated class for ``pkg/msg/Name``, ``pkg/srv/Name`` or ``pkg/action/Name``."""
    match = _TYPE_NAME.match(type_name.strip())
    if match is None:
        raise InterfaceError(
            f"{type_name!r} is not an interface type name like 'pkg/action/Name'"
        )
    package, kind, name = match.groups()
    try:
        module = importlib.import_module(f"{package}.{kind}")
    except ImportError as err:
        raise InterfaceError(
            f"interface package {package!r} not found ({err}); build it and source its "
            "workspace (for tinyagent_interfaces: scripts/build_interfaces.sh)"
        ) from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise InterfaceError(f"{package}/{kind} has no {name!r}") from None


def _message_class(type_name: str) -> Any:
    """The class of a nested field type as ``get_fields_and_field_types`` writes it."""
    package, _, name = type_name.partition("/")
    return get_interface(f"{package}/msg/{name}")


def fields_of(msg_class: Any) -> dict[str, str]:
    """Field name -> type string of a message class (``double``, ``sequence<int16>``, ...)."""
    return dict(msg_class.get_fields_and_field_types())


def field_type(msg_class: Any, path: str) -> str:
    """The type string of a dotted field ``a.b.c``; raise InterfaceError naming the bad part."""
    current, type_name = msg_class, ""
    done: list[str] = []
    for part in path.split("."):
        if current is None:
            raise InterfaceError(f"{'.'.join(done)} ({type_name}) has no fields")
        fields = fields_of(current)
        if part not in fields:
            where = ".".join(done) or current.__name__
            known = ", ".join(fields) or "none"
            raise InterfaceError(f"{where} has no field {part!r} (fields: {known})")
        type_name = fields[part]
        done.append(part)
        current = _message_class(type_name) if "/" in type_name and "<" not in type_name else None
    return type_name


def fill_message(msg_class: Any, data: Mapping[str, Any], path: str = "") -> Any:
    """A new ``msg_class`` with the fields in ``data`` set (nested mappings for nested messages).

    Values are checked against the field types: integers in range, numbers for
    floating point fields, booleans for ``bool``, lists of the right length for
    arrays and sequences. Strings also take numbers and booleans (a plan's
    ``$N`` result is often a number). Raise :class:`InterfaceError` naming the
    field on the first value that does not fit.
    """
    if not isinstance(data, Mapping):
        raise InterfaceError(f"{path or msg_class.__name__}: expected a mapping of fields, "
                             f"got {type(data).__name__}")
    fields = fields_of(msg_class)
    msg = msg_class()
    for name, value in data.items():
        where = f"{path}.{name}" if path else name
        if name not in fields:
            known = ", ".join(fields) or "none"
            raise InterfaceError(f"{where}: no such field in {msg_class.__name__} "
                                 f"(fields: {known})")
        setattr(msg, name, convert_value(fields[name], value, where))
    return msg


def set_field(msg: Any, path: str, value: Any) -> None:
    """Set a dotted field of an existing message, converting and checking ``value``."""
    *parents, last = path.split(".")
    target = msg
    for part in parents:
        target = getattr(target, part)
    setattr(target, last, convert_value(fields_of(type(target))[last], value, path))


def get_field(msg: Any, path: str) -> Any:
    """A dotted field of a message as plain Python data (see :func:`to_python`)."""
    value = msg
    for part in path.split("."):
        value = getattr(value, part)
    return to_python(value)


def convert_value(type_name: str, value: Any, where: str) -> Any:
    """``value`` as a field of ``type_name`` accepts it; raise InterfaceError if it cannot be."""
    seq = _SEQUENCE.match(type_name)
    arr = _ARRAY.match(type_name) if seq is None else None
    if seq or arr:
        element = (seq or arr).group(1)
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise InterfaceError(f"{where}: expected a list for {type_name}, "
                                 f"got {_describe(value)}")
        if seq and seq.group(2) and len(value) > int(seq.group(2)):
            raise InterfaceError(f"{where}: at most {seq.group(2)} items, got {len(value)}")
        if arr and len(value) != int(arr.group(2)):
            raise InterfaceError(f"{where}: exactly {arr.group(2)} items, got {len(value)}")
        return [convert_value(element, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if type_name in _INT_RANGES:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bytes) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InterfaceError(f"{where}: expected an integer ({type_name}), "
                                 f"got {_describe(value)}")
        low, high = _INT_RANGES[type_name]
        if not low <= value <= high:
            raise InterfaceError(f"{where}: {value} is out of range for {type_name}")
        if type_name in ("octet", "byte"):
            return bytes([value])
        return value
    if type_name in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InterfaceError(f"{where}: expected a number ({type_name}), "
                                 f"got {_describe(value)}")
        return float(value)
    if type_name in ("boolean", "bool"):
        if not isinstance(value, bool):
            raise InterfaceError(f"{where}: expected true or false, got {_describe(value)}")
        return value
    if type_name in ("string", "wstring") or _BOUNDED_STRING.match(type_name):
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float) and not (isinstance(value, float)
                                                      and not math.isfinite(value)):
            value = f"{value:g}" if isinstance(value, float) else str(value)
        if not isinstance(value, str):
            raise InterfaceError(f"{where}: expected text, got {_describe(value)}")
        bound = _BOUNDED_STRING.match(type_name)
        if bound and len(value) > int(bound.group(1)):
            raise InterfaceError(f"{where}: at most {bound.group(1)} characters")
        return value
    if "/" in type_name:
        cls = _message_class(type_name)
        if isinstance(value, cls):
            return value
        return fill_message(cls, value, where)
    raise InterfaceError(f"{where}: unsupported field type {type_name!r}")


def to_python(value: Any) -> Any:
    """A field value as plain data: messages become dicts, arrays lists, bytes ints."""
    if hasattr(value, "get_fields_and_field_types"):
        return {name: to_python(getattr(value, name)) for name in fields_of(type(value))}
    if isinstance(value, bytes):
        return value[0] if len(value) == 1 else list(value)
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if hasattr(value, "tolist"):  # numpy arrays
        return value.tolist()
    if isinstance(value, Sequence) or hasattr(value, "__iter__"):  # lists, array.array
        return [to_python(v) for v in value]
    return value


def _describe(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {text}"
