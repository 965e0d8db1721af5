"""The go-to-goal law of a differential drive, shared by the MuJoCo base and
``tinyagent-base-skills`` (which drives any robot through cmd_vel).
"""

from __future__ import annotations

import math


def clip(value: float, limit: float) -> float:
    """``value`` limited to [-limit, limit]."""
    return max(-limit, min(limit, value))


def angle_diff(a: float) -> float:
    """An angle (radians) wrapped into (-pi, pi]."""
    return math.atan2(math.sin(a), math.cos(a))


def go_to_goal(x: float, y: float, yaw: float, goal_x: float, goal_y: float, *,
               backwards: bool, max_speed: float, max_turn: float, turn_gain: float
               ) -> tuple[float, float, float]:
    """Forward speed, yaw rate and distance left for a unicycle at (x, y, yaw).

    Speed slows near the goal and with the heading error (never driving away);
    ``backwards`` drives in reverse, facing away from the goal.
    """
    dx, dy = goal_x - x, goal_y - y
    dist = math.hypot(dx, dy)
    bearing = math.atan2(dy, dx) + (math.pi if backwards else 0.0)
    error = angle_diff(bearing - yaw)
    speed = min(max_speed, 1.5 * dist) * max(0.0, math.cos(error))
    return (-speed if backwards else speed), clip(turn_gain * error, max_turn), dist
