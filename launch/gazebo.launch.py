"""Launch the agent on a Gazebo (gz-sim) robot: Gazebo, the topic bridge, base skills, agent.

Not tested in this repository's CI (Gazebo is not installable here); the same topics
and skill servers are tested against ``tinyagent-sim`` (MuJoCo). Needs ros_gz_sim and
ros_gz_bridge from a ROS 2 install, and a world SDF with a differential-drive model
named ``robot`` (DiffDrive, odometry, lidar and camera systems; topics as in
config/gazebo/bridge.yaml)::

    ros2 launch tinyagent_ros gazebo.launch.py world_sdf:=/path/to/home.sdf
    ros2 topic pub --once /tinyagent/command std_msgs/msg/String "{data: 'go to the kitchen'}"
"""

# ruff: noqa: I001 (ruff takes `launch` for this repository's launch/ folder)
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    """Gazebo with the world, the bridge, tinyagent-base-skills and the agent (backend ros)."""
    share = get_package_share_directory("tinyagent_ros")
    gz_launch = os.path.join(get_package_share_directory("ros_gz_sim"), "launch",
                             "gz_sim.launch.py")
    return LaunchDescription([
        DeclareLaunchArgument("world_sdf", description="Gazebo world with a model 'robot'."),
        DeclareLaunchArgument("places", default_value="home",
                              description="World YAML whose places navigate_to knows."),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(gz_launch),
            launch_arguments={"gz_args": ["-r ", LaunchConfiguration("world_sdf")]}.items(),
        ),
        Node(package="ros_gz_bridge", executable="parameter_bridge", name="bridge",
             parameters=[{"config_file": os.path.join(share, "config", "gazebo",
                                                      "bridge.yaml")}],
             output="screen"),
        Node(package="tinyagent_ros", executable="tinyagent-base-skills", name="base_skills",
             parameters=[{"world": LaunchConfiguration("places"), "use_sim_time": True}],
             output="screen"),
        Node(package="tinyagent_ros", executable="tinyagent-node", name="tinyagent",
             parameters=[os.path.join(share, "config", "agent.yaml"), {
                 "backend": "ros", "bindings_file": "robot_gazebo", "use_sim_time": True,
                 "allowed_skills": ["navigate_to", "navigate_to_pose", "drive", "rotate"],
             }],
             output="screen"),
    ])
