"""``python -m tinyagent_ros.training`` = ``tinyagent train`` (before the lead registers it)."""

from tinyagent_ros.training.cli import train_cli

if __name__ == "__main__":
    train_cli(prog_name="python -m tinyagent_ros.training")
