"""Packaging for tinyagent_ros (ament_python style, also installable with plain pip)."""

import os

from setuptools import find_packages, setup

package_name = "tinyagent_ros"
HERE = os.path.dirname(os.path.abspath(__file__))


def share_tree(*roots):
    """Return data_files entries installing every file under ``roots``.

    Each file ``<root>/<sub>/<name>`` goes to ``share/<package>/<root>/<sub>/``.
    Missing roots are skipped. Hidden files, ``__pycache__`` and what .gitignore
    keeps out of the repository (``models/cache/``, ``*.gguf`` outside
    ``models/adapters/``: large weights assembled locally) are not installed.
    Paths are relative to this file, as setuptools requires.
    """
    entries = []
    for root in roots:
        top = os.path.join(HERE, root)
        if not os.path.isdir(top):
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            rel_dir = os.path.relpath(dirpath, HERE)
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith(".")
                and d != "__pycache__"
                and os.path.join(rel_dir, d) != os.path.join("models", "cache")
            )
            files = sorted(
                os.path.join(rel_dir, f)
                for f in filenames
                if not f.startswith(".") and not f.endswith(".pyc")
                and (not f.endswith(".gguf") or rel_dir == os.path.join("models", "adapters"))
            )
            if files:
                entries.append((os.path.join("share", package_name, rel_dir), files))
    return entries


setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        *share_tree("launch", "config", "models"),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="tinyagent_ros developers",
    maintainer_email="dev@tinyagent.invalid",
    description="A small on-device agent for ROS 2.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "tinyagent = tinyagent_ros.cli:main",
            "tinyagent-node = tinyagent_ros.ros.node:main",
            "tinyagent-sim-skills = tinyagent_ros.ros.sim_skills:main",
            "tinyagent-sim = tinyagent_ros.ros.sim_skills:main_physics",
            "tinyagent-base-skills = tinyagent_ros.ros.base_skills:main",
        ],
    },
)
