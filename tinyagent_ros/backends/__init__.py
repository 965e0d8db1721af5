"""Skill backends: pick one by name with :func:`get_backend`."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from tinyagent_ros.backends.base import Backend, Feedback, SkillFailed

__all__ = ["Backend", "Feedback", "SkillFailed", "backend_names", "default_backend",
           "default_catalog", "get_backend"]

# name -> (module, class); imported on demand so choosing one does not load the others.
_BACKENDS: dict[str, tuple[str, str]] = {
    "dry-run": ("tinyagent_ros.backends.dry_run", "DryRunBackend"),
    "macos": ("tinyagent_ros.backends.macos", "MacBackend"),
    "mujoco": ("tinyagent_ros.backends.mujoco", "MujocoBackend"),
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


def default_catalog(platform: str | None = None) -> str:
    """TinyAgent's Mac tools on a Mac, the robot's skills anywhere else."""
    return "mac" if (platform or sys.platform) == "darwin" else "robot"


def default_backend(catalog_name: str, platform: str | None = None) -> str:
    """The simulated robot for robot skills; the Mac's own apps for mac skills on a Mac.

    Anything else (mac skills off a Mac, a user's own catalog) gets a dry run:
    nothing is executed until a backend is named.
    """
    if catalog_name == "robot":
        return "sim"
    on_mac = (platform or sys.platform) == "darwin"
    return "macos" if catalog_name == "mac" and on_mac else "dry-run"
