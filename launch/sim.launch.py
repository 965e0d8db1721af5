"""Launch the simulated robot's skill servers alone (``tinyagent-sim-skills``).

For real ROS 2 installs (launch and launch_ros are not on PyPI)::

    ros2 launch tinyagent_ros sim.launch.py time_scale:=0.5
    ros2 launch tinyagent_ros sim.launch.py physics:=mujoco   # the MuJoCo home

Its actions are ``<namespace>/sim_robot/<skill>`` (config/bindings/robot_sim.yaml);
``sim_robot/get_world_state`` and ``sim_robot/reset`` (std_srvs/srv/Trigger) and the
latched ``sim_robot/world_state`` topic show and reset the world.
"""

# ruff: noqa: I001 (ruff takes `launch` for this repository's launch/ folder)
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    """Declare the arguments and the simulator node."""
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="",
                              description="Namespace of the simulator (the agent's)."),
        DeclareLaunchArgument("world", default_value="home",
                              description="Simulated world: a shipped name or a YAML path."),
        DeclareLaunchArgument("time_scale", default_value="1.0",
                              description="Simulated durations are multiplied by this."),
        DeclareLaunchArgument("physics", default_value="kinematic",
                              description="kinematic, or mujoco (physics, robot topics)."),
        Node(
            package="tinyagent_ros",
            executable="tinyagent-sim-skills",
            name="sim_robot",
            namespace=LaunchConfiguration("namespace"),
            parameters=[{
                "world": LaunchConfiguration("world"),
                "time_scale": LaunchConfiguration("time_scale"),
                "physics": LaunchConfiguration("physics"),
            }],
            output="screen",
        ),
    ])
