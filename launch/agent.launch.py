"""Launch the tinyagent node, and with use_sim:=true the simulated robot's skill servers.

For real ROS 2 installs (launch and launch_ros are not on PyPI)::

    ros2 launch tinyagent_ros agent.launch.py
    ros2 launch tinyagent_ros agent.launch.py namespace:=robot1 use_sim:=false \\
        params_file:=/path/to/my_robot_agent.yaml

The agent uses the ``ros`` backend: with use_sim:=true its skills are bound to the
simulated robot (bindings ``robot_sim``); with use_sim:=false to whatever
``bindings_file`` the params file names (a copy of config/bindings/robot_sim.yaml
pointed at the robot's own action servers).
"""

# ruff: noqa: I001 (ruff takes `launch` for this repository's launch/ folder)
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    """Declare the arguments, the agent and (optionally) the simulated skill servers."""
    params_file = LaunchConfiguration("params_file")
    namespace = LaunchConfiguration("namespace")
    use_sim = LaunchConfiguration("use_sim")

    def agent(condition, overrides):
        return LifecycleNode(
            package="tinyagent_ros",
            executable="tinyagent-node",
            name="tinyagent",
            namespace=namespace,
            parameters=[params_file, {"backend": "ros", **overrides}],
            output="screen",
            condition=condition,
        )

    return LaunchDescription([
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution(
                [FindPackageShare("tinyagent_ros"), "config", "agent.yaml"]),
            description="Parameters of the tinyagent node (see config/agent.yaml).",
        ),
        DeclareLaunchArgument("namespace", default_value="",
                              description="Namespace of the agent (and the simulator)."),
        DeclareLaunchArgument("use_sim", default_value="true",
                              description="Start the simulated robot and bind the agent to it."),
        Node(
            package="tinyagent_ros",
            executable="tinyagent-sim-skills",
            name="sim_robot",
            namespace=namespace,
            output="screen",
            condition=IfCondition(use_sim),
        ),
        agent(IfCondition(use_sim), {"bindings_file": "robot_sim"}),
        agent(UnlessCondition(use_sim), {}),
    ])
