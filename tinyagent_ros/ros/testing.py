"""Drive the agent over real DDS from tests and benchmarks: node processes and a probe node.

Every run keeps discovery on this machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST)
and uses a domain of its own, picked from the process id, so parallel runs of other
checkouts on the same machine do not see each other. Example::

    sim = NodeProcess("tinyagent-sim-skills", {"time_scale": 0.2}, domain)
    agent = NodeProcess("tinyagent-node", {"backend": "ros"}, domain)
    probe = Probe(domain)
    probe.wait_ready()
    command = probe.command("bring me the red cup")
    print(probe.finished(command, timeout=60)["message"])
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Where the console scripts are: next to this interpreter.
BIN = Path(sys.executable).parent


def pick_domain(offset: int = 0) -> int:
    """A DDS domain for this test process (1..100; 87 is scripts/test.sh's default)."""
    domain = 1 + (os.getpid() * 7 + offset) % 100
    return domain if domain != 87 else 88


def ros_env(domain: int) -> dict[str, str]:
    """The environment for a node process on ``domain``, localhost only."""
    env = dict(os.environ)
    env.update(ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", ROS_DOMAIN_ID=str(domain),
               PYTHONUNBUFFERED="1", RCUTILS_COLORIZED_OUTPUT="0")
    return env


class NodeProcess:
    """A console script (tinyagent-node, tinyagent-sim-skills) run as a user runs it."""

    def __init__(self, script: str, params: dict[str, Any], domain: int,
                 params_file: Path | None = None, namespace: str = "",
                 env: dict[str, str] | None = None) -> None:
        args = [str(BIN / script), "--ros-args"]
        if namespace:
            args += ["-r", f"__ns:=/{namespace.strip('/')}"]
        if params_file is not None:
            args += ["--params-file", str(params_file)]
        for key, value in params.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list):
                value = "[" + ",".join(str(v) for v in value) + "]"
            args += ["-p", f"{key}:={value}"]
        self.log: list[str] = []
        self.proc = subprocess.Popen(args, env={**ros_env(domain), **(env or {})}, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line.rstrip("\n"))

    def output(self) -> str:
        """Everything the process printed so far."""
        return "\n".join(self.log)

    def wait_for_line(self, text: str, timeout: float) -> bool:
        """True once a printed line contains ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.log):
                return True
            if self.proc.poll() is not None and not self._reader.is_alive():
                return any(text in line for line in self.log)
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 10.0) -> int:
        """SIGINT, as Ctrl-C would, then wait; return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(2.0)
        return self.proc.returncode


class Probe:
    """An rclpy node in the test process: publishes commands, collects events, sends goals."""

    def __init__(self, domain: int, agent: str = "/tinyagent", sim: str = "/sim_robot") -> None:
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
        import rclpy
        from rclpy.action import ActionClient
        from rclpy.executors import MultiThreadedExecutor
        from std_msgs.msg import Empty, String
        from std_srvs.srv import SetBool, Trigger

        from tinyagent_interfaces.action import ExecuteCommand
        from tinyagent_interfaces.msg import AudioChunk

        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.node = rclpy.create_node("probe", context=self.context)
        self.agent = agent
        self.domain = domain
        self._tool_clients: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.plans: list[str] = []
        self.transcripts: list[str] = []
        self._cond = threading.Condition()
        self.node.create_subscription(String, f"{agent}/events", self._on_event, 100)
        self.node.create_subscription(String, f"{agent}/plan", self._on_plan, 10)
        self.node.create_subscription(String, f"{agent}/transcript", self._on_transcript, 10)
        self.audio_pub = self.node.create_publisher(AudioChunk, f"{agent}/audio", 100)
        self.mute_client = self.node.create_client(SetBool, f"{agent}/mute")
        self._AudioChunk, self._SetBool = AudioChunk, SetBool
        self.command_pub = self.node.create_publisher(String, f"{agent}/command", 10)
        self.estop_pub = self.node.create_publisher(Empty, f"{agent}/estop", 10)
        self.execute = ActionClient(self.node, ExecuteCommand, f"{agent}/execute")
        self.state_client = self.node.create_client(Trigger, f"{sim}/get_world_state")
        self.reset_client = self.node.create_client(Trigger, f"{sim}/reset")
        self._String, self._Empty, self._Trigger = String, Empty, Trigger
        self.ExecuteCommand = ExecuteCommand
        self.executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        self.executor.add_node(self.node)
        self._spin = threading.Thread(target=self._spin_forever, daemon=True)
        self._spin.start()

    def _spin_forever(self) -> None:
        # One callback round at a time: an entity a test destroys while the executor waits
        # can make one round raise, and a plain spin() would then stop for good, leaving
        # every later service call of the session to time out.
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.1)
            except Exception as err:  # noqa: BLE001
                if not self.context.ok():
                    return
                print(f"probe: executor round failed, spinning on: {err!r}", file=sys.stderr)
                time.sleep(0.01)

    def close(self) -> None:
        """Shut the probe's context down and stop spinning."""
        import rclpy

        rclpy.shutdown(context=self.context)
        self._spin.join(5.0)
        self.executor.shutdown()

    def _on_event(self, msg: Any) -> None:
        with self._cond:
            self.events.append(json.loads(msg.data))
            self._cond.notify_all()

    def _on_transcript(self, msg: Any) -> None:
        with self._cond:
            self.transcripts.append(msg.data)
            self._cond.notify_all()

    def _on_plan(self, msg: Any) -> None:
        with self._cond:
            self.plans.append(msg.data)
            self._cond.notify_all()

    # ------------------------------------------------------------ waiting

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` (checked on every event) or the timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def wait_ready(self, timeout: float = 20.0, sim: bool = True) -> None:
        """Wait until the agent (and the simulator) can be reached."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = (self.command_pub.get_subscription_count() > 0
                     and self.estop_pub.get_subscription_count() > 0
                     and self.execute.server_is_ready()
                     and (not sim or self.state_client.service_is_ready()))
            if ready:
                time.sleep(0.3)  # let the remaining endpoints match too
                return
            time.sleep(0.05)
        raise TimeoutError("the agent (or the simulator) did not appear on the ROS graph")

    def of(self, command: int) -> list[dict[str, Any]]:
        """The events of one command."""
        with self._cond:
            return [e for e in self.events if e.get("command") == command]

    def find(self, kind: str, **fields: Any) -> dict[str, Any] | None:
        """The first event of ``kind`` with these field values."""
        with self._cond:
            for e in self.events:
                if e["kind"] == kind and all(e.get(k) == v for k, v in fields.items()):
                    return e
        return None

    # ------------------------------------------------------------ acting

    def command(self, text: str, timeout: float = 5.0) -> int:
        """Publish a command; return its id (from its first event)."""
        with self._cond:
            seen = len(self.events)
        self.command_pub.publish(self._String(data=text))
        first = ("command_queued", "command_error", "command_rejected")
        found: list[int] = []

        def arrived() -> bool:
            for e in self.events[seen:]:
                if e["kind"] in first and (text.strip() in (e["message"], e["value"])
                                           or e["value"] == text[:200]):
                    found.append(e["command"])
                    return True
            return False

        assert self.wait_until(arrived, timeout), f"no event for command {text[:40]!r}"
        return found[0]

    def finished(self, command: int, timeout: float) -> dict[str, Any]:
        """Wait for the command's command_finished event and return it."""
        assert self.wait_until(lambda: self.find("command_finished", command=command)
                               is not None, timeout), f"command {command} did not finish"
        event = self.find("command_finished", command=command)
        assert event is not None
        return event

    def estop(self) -> float:
        """Publish an emergency stop; return time.monotonic() just before."""
        now = time.monotonic()
        self.estop_pub.publish(self._Empty())
        return now

    def _trigger(self, client: Any) -> Any:
        future = client.call_async(self._Trigger.Request())
        deadline = time.monotonic() + 10.0
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert future.done(), "service call timed out"
        return future.result()

    def world(self) -> dict[str, Any]:
        """The simulator's world and goal log."""
        return json.loads(self._trigger(self.state_client).message)

    def speak(self, samples: Any, sample_rate: int, channels: int = 1, chunk_s: float = 0.1,
              pace: float = 0.01) -> None:
        """Publish int16 PCM on ``~/audio`` in chunks, as a microphone driver would.

        ``pace`` is the pause between chunks (a real microphone: ``chunk_s``).
        """
        import numpy as np

        deadline = time.monotonic() + 10.0
        while self.audio_pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)  # chunks published before discovery are lost
        data = np.asarray(samples, dtype=np.int16).reshape(-1)
        step = max(1, int(sample_rate * chunk_s)) * channels
        for start in range(0, data.size, step):
            self.chunk(data[start:start + step], sample_rate, channels)
            time.sleep(pace)

    def chunk(self, samples: Any, sample_rate: int, channels: int = 1) -> None:
        """Publish one AudioChunk (any content, for robustness tests too)."""
        msg = self._AudioChunk(sample_rate=sample_rate, channels=channels)
        msg.samples = [int(v) for v in samples]
        self.audio_pub.publish(msg)

    def mute(self, muted: bool) -> Any:
        """Call ``~/mute`` and return the response."""
        assert self.mute_client.wait_for_service(5.0), "no ~/mute service"
        future = self.mute_client.call_async(self._SetBool.Request(data=muted))
        return _wait(future, 5.0)

    def call_tool(self, skill: str, arguments: Any = "", timeout: float = 20.0) -> Any:
        """Call the agent's ``~/tools/<skill>`` (arguments: JSON text or data to encode)."""
        from tinyagent_interfaces.srv import CallSkill

        client = self._tool_clients.get(skill)
        if client is None:
            client = self._tool_clients[skill] = self.node.create_client(
                CallSkill, f"{self.agent}/tools/{skill}")
        assert client.wait_for_service(5.0), f"no {self.agent}/tools/{skill} service"
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return _wait(client.call_async(CallSkill.Request(arguments=text)), timeout)

    def reset(self) -> None:
        """A fresh simulated world and goal log, and no events, plans or transcripts seen."""
        assert self._trigger(self.reset_client).success
        with self._cond:
            self.events.clear()
            self.plans.clear()
            self.transcripts.clear()

    def send_goal(self, text: str, feedback: list[Any] | None = None) -> Any:
        """Send an ExecuteCommand goal and return its accepted handle."""
        cb = (lambda msg: feedback.append(json.loads(msg.feedback.event))) \
            if feedback is not None else None
        future = self.execute.send_goal_async(self.ExecuteCommand.Goal(command=text),
                                              feedback_callback=cb)
        return _wait(future, 10.0)

    def result(self, handle: Any, timeout: float) -> Any:
        """Wait for a goal's result (status and result message)."""
        return _wait(handle.get_result_async(), timeout)


def _wait(future: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not future.done():
        if time.monotonic() > deadline:
            raise TimeoutError("no answer from the action server")
        time.sleep(0.005)
    return future.result()


def pcm16(path: str | Path) -> tuple[Any, int]:
    """A WAV file as int16 mono samples and their rate, as a microphone driver sends them."""
    import numpy as np

    from tinyagent_ros.asr import load_audio

    audio = load_audio(Path(path))
    return (np.clip(audio.samples, -1, 1) * 32767).astype(np.int16).reshape(-1), \
        audio.sample_rate
