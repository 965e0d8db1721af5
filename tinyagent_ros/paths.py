"""Where shipped data (catalogs, worlds, prompts, models) lives, installed or in a checkout."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE = "tinyagent_ros"


def share_dir() -> Path:
    """The package's share directory.

    Order: ``TINYAGENT_SHARE``; the source checkout (an editable install runs
    from it); ``<prefix>/share/tinyagent_ros`` where setup.py's data_files land.
    """
    env = os.environ.get("TINYAGENT_SHARE")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "config" / "catalogs").is_dir():
        return checkout
    return Path(sys.prefix) / "share" / _PACKAGE


def share_path(*parts: str) -> Path:
    """A path under the share directory."""
    return share_dir().joinpath(*parts)
