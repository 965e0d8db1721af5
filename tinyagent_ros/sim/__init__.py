"""A simulated home for running robot plans without a robot."""

from tinyagent_ros.sim.world import Item, Place, Robot, World, WorldError, load_world

__all__ = ["Item", "Place", "Robot", "World", "WorldError", "load_world"]
