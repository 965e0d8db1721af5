"""A backend that runs nothing: it records each call and returns a plausible placeholder."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from tinyagent_ros.backends.base import Feedback
from tinyagent_ros.catalog import Skill


def _slug(text: Any) -> str:
    return re.sub(r"[^a-z0-9]+", ".", str(text).lower()).strip(".") or "someone"


# Placeholders for skills whose results later tasks commonly use as arguments.
_PLACEHOLDERS: dict[str, Callable[[list[Any]], Any]] = {
    "get_email_address": lambda args: f"{_slug(args[0])}@example.com",
    "get_phone_number": lambda args: "+1-555-0100",
    "open_and_get_file_path": lambda args: f"/Users/user/Documents/{args[0]}",
    "locate_person": lambda args: "living room",
    "find_object": lambda args: str(args[0]).strip().lower().replace(" ", "_"),
    "pick_up": lambda args: args[0],
    "take_photo": lambda args: "/tmp/tinyagent_dry_run_photo.png",
    "get_battery_level": lambda args: 80,
}


class DryRunBackend:
    """Record every call instead of acting, for showing and testing plans of any catalog."""

    name = "dry-run"

    def __init__(self, catalog_name: str = "mac") -> None:
        self.catalog = catalog_name
        #: (skill name, resolved args) of every call, in call order.
        self.calls: list[tuple[str, list[Any]]] = []

    async def call(self, skill: Skill, args: list[Any], feedback: Feedback) -> Any:
        """Record the call and return a placeholder result."""
        self.calls.append((skill.name, list(args)))
        await asyncio.sleep(0)  # a cancellation point, like any real call
        make = _PLACEHOLDERS.get(skill.name)
        return make(args) if make else f"{skill.name} done (dry run)"
