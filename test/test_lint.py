"""Linters as tests, in the ament style (ruff covers flake8 and pep257)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed")
    return found


@pytest.mark.parametrize("target", ["tinyagent_ros", "test", "benchmarks", "launch"])
def test_ruff_clean(target):
    out = subprocess.run([_ruff(), "check", "--no-cache", target], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_core_imports_no_rclpy():
    """Only tinyagent_ros/ros/ may import rclpy: the core runs and tests without ROS."""
    import ast

    def imports(path: Path) -> set[str]:
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        return names

    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tinyagent_ros").rglob("*.py")
        if "ros" not in path.relative_to(ROOT / "tinyagent_ros").parts[:1]
        and "rclpy" in imports(path)
    ]
    assert offenders == []
