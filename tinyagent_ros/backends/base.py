"""The one interface between the executor and whatever runs skills (simulator, ROS, a Mac)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from tinyagent_ros.catalog import Skill

#: Receives progress text while a skill runs ("entering the hallway").
Feedback = Callable[[str], None]


class SkillFailed(Exception):
    """A skill failed the way a robot fails; the message is a one-line reason.

    Example: ``SkillFailed("door closed on the way: bedroom door")``. The
    executor records it as a failed step; any other exception from a backend
    counts as an internal error.
    """


def one_line(text: object, width: int = 200) -> str:
    """``text`` as one line of at most ``width`` characters, for a SkillFailed reason."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


@runtime_checkable
class Backend(Protocol):
    """Runs one skill call at a time per asyncio task; many may run concurrently."""

    #: Short name, e.g. ``sim``.
    name: str
    #: Name of the catalog whose skills this backend implements, e.g. ``robot``.
    catalog: str

    async def call(self, skill: Skill, args: list[Any], feedback: Feedback) -> Any:
        """Run ``skill`` with resolved positional ``args`` and return its result.

        May call ``feedback(text)`` while running (from any thread). Raises
        :class:`SkillFailed` on a physical or logical failure. When the calling
        asyncio task is cancelled it must stop promptly (well under 100 ms),
        leave the world in a consistent state and let ``CancelledError`` out.
        """
        ...
