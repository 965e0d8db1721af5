"""The ROS 2 layer: the only part of tinyagent_ros that imports rclpy.

- :mod:`tinyagent_ros.ros.node`: the ``tinyagent`` lifecycle node (``tinyagent-node``).
- :mod:`tinyagent_ros.ros.bindings`: the ``ros`` backend, skills bound to ROS actions,
  services and topics by a YAML file.
- :mod:`tinyagent_ros.ros.sim_skills`: the simulated robot's skill servers
  (``tinyagent-sim-skills``).
- :mod:`tinyagent_ros.ros.interfaces`: interface lookup and message filling.
- :mod:`tinyagent_ros.ros.runner`: commands through the agent, one at a time (no rclpy).
"""
