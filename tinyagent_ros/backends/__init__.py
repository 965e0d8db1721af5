"""Skill backends: pick one by name with :func:`get_backend`."""

from __future__ import annotations

import importlib
from typing import Any

from tinyagent_ros.backends.base import Backend, Feedback, SkillFailed

__all__ = ["Backend", "Feedback", "SkillFailed", "backend_names", "get_backend"]

# name -> (module, class); imported on demand so choosing one does not load the others.
_BACKENDS: dict[str, tuple[str, str]] = {
    "dry-run": ("tinyagent_ros.backends.dry_run", "DryRunBackend"),
    "macos": ("tinyagent_ros.backends.macos", "MacBackend"),
    "sim": ("tinyagent_ros.backends.sim", "SimBackend"),
}


def backend_names() -> list[str]:
    """Names :func:`get_backend` accepts."""
    return sorted(_BACKENDS)


def get_backend(name: str, **options: Any) -> Backend:
    """Create the backend called ``name`` with constructor ``options``."""
    try:
        module, attr = _BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"unknown backend {name!r}; choose one of: {', '.join(backend_names())}"
        ) from None
    return getattr(importlib.import_module(module), attr)(**options)
