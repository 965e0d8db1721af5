"""Process plumbing shared by the console scripts: spin, wait for a signal, shut down."""

from __future__ import annotations

import signal
import threading

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor


def spin_until_signal(executor: MultiThreadedExecutor, stop: threading.Event) -> threading.Thread:
    """Spin ``executor`` in a thread; SIGINT and SIGTERM set ``stop``."""
    def spin() -> None:
        try:
            executor.spin()
        except (ExternalShutdownException, KeyboardInterrupt):
            pass
        except Exception:  # after shutdown the wait set fails: "context is not valid"
            if rclpy.ok():
                raise
        finally:
            stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=spin, name="ros-spin", daemon=True)
    thread.start()
    return thread


def shut_down(spin: threading.Thread, executor: MultiThreadedExecutor) -> None:
    """Stop ROS in the order that exits cleanly with the PyPI wheels."""
    if rclpy.ok():
        rclpy.shutdown()
    spin.join(5.0)
    executor.shutdown()
