"""Shared test set-up."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _no_merged_planner(tmp_path_factory):
    """Tests see base + shipped adapter even where `tinyagent models merge` was run.

    Session-scoped, so module-scoped planner fixtures are built after it.
    """
    nowhere = tmp_path_factory.getbasetemp() / "no-merged-models"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("tinyagent_ros.planner.merged_path", lambda name: nowhere / f"{name}.gguf")
        yield
