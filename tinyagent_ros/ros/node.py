"""The ``tinyagent`` lifecycle node: commands in, plans and skill calls out (contract section 7).

- configure: load the catalog, the planner (ToolRAG classifier, model,
  adapter), the speech models and the backend; fail with one logged reason if
  any is missing or corrupt.
- activate: subscribe ``~/command`` (String), ``~/estop`` (Empty), ``~/audio``
  (AudioChunk: VAD, whisper, then a command); publish ``~/plan``, ``~/events``,
  ``~/transcript`` (String); serve the ``~/execute`` action (ExecuteCommand),
  ``~/mute`` (SetBool) and, with ``tool_services``, ``~/tools/<skill>``
  (CallSkill: one skill run directly, queued like a command).
- deactivate: cancel every command, withdraw the topics and the action.

Text commands, action goals and tool calls go through the same :class:`CommandRunner`
(one asyncio loop thread); ROS callbacks run on a ``MultiThreadedExecutor``
with a reentrant callback group, so an estop is handled while goals run.

Example::

    tinyagent-node --ros-args --params-file config/agent.yaml
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import threading
import time
from typing import Any, Literal

import numpy as np
import rclpy
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rcl_interfaces.msg import ParameterDescriptor, ParameterType
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.exceptions import ParameterUninitializedException
from rclpy.executors import MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.signals import SignalHandlerOptions
from std_msgs.msg import Empty, String
from std_srvs.srv import SetBool

from tinyagent_ros.agent import Agent
from tinyagent_ros.backends.base import Backend, Feedback, SkillFailed, one_line
from tinyagent_ros.catalog import Catalog, CatalogError, Skill, load_catalog
from tinyagent_ros.plan import Join, Plan, Task, bind_arguments
from tinyagent_ros.planner import DEFAULT_EXAMPLES
from tinyagent_ros.ros.process import shut_down, spin_until_signal
from tinyagent_ros.ros.runner import Command, CommandRunner, QueuePolicy

#: How long a cancelled goal may wait for rclpy to mark it as cancelling.
_CANCEL_STATE_WAIT_S = 1.0
#: Executor events that end a task that had started.
_TASK_ENDS = frozenset({"task_succeeded", "task_failed", "task_timed_out", "task_cancelled"})
#: Audio chunks held while voice detection catches up (10 s of 0.1 s chunks). A reader queue
#: of 10 drops chunks once the node falls 1 s behind on a loaded machine, and a gap in an
#: utterance makes whisper hear other words ("o charge yourself", "go change yourself").
AUDIO_QUEUE = 100


class AgentSettings(BaseModel):
    """The node's parameters (declared from these fields; see config/agent.yaml)."""

    model_config = ConfigDict(extra="forbid")

    autostart: bool = Field(True, description="Configure and activate at start-up; false "
                                              "waits for a lifecycle manager.")
    catalog: str = Field("auto", description="Skill catalog: shipped name or YAML path; "
                                             "auto: mac on macOS, robot elsewhere.")
    backend: Literal["auto", "sim", "mujoco", "ros", "dry-run", "macos"] = Field(
        "auto", description="Where skills run: in-process simulator (sim, or mujoco physics), "
                            "ROS bindings, the Mac's apps (mac catalog), or nowhere; auto: sim "
                            "for robot, macos for mac on macOS, else dry-run.")
    tool_services: bool = Field(True, description="Serve each skill as ~/tools/<skill> "
                                                  "(CallSkill) for other nodes to call.")
    pdf_summary: Literal["model", "opening"] = Field(
        "model", description="summarize_pdf (backend macos): the local planner model writes "
                             "the summary, or the opening sentences are returned.")
    dry_run: bool = Field(False, description="Plan and report but run nothing "
                                             "(overrides backend).")
    world: str = Field("home", description="Simulated world (backend sim).")
    time_scale: float = Field(1.0, ge=0, description="Simulated durations are multiplied by "
                                                     "this (backend sim).")
    bindings_file: str = Field("robot_sim", description="Skill bindings (backend ros): "
                                                        "shipped name or YAML path.")
    model_path: str = Field("", description="Planner GGUF path or installed model name "
                                            "(0.5b, 1.5b); empty: the shipped planner.")
    lora_path: str = Field("", description="LoRA adapter GGUF for the planner; empty: the "
                                           "shipped one (with the shipped model); none: none.")
    tool_selection: Literal["auto", "classifier", "all", "grammar"] = Field(
        "auto", description="Skills offered to the model: ToolRAG's pick, all, or all listed "
                            "with ToolRAG's pick enforced by the grammar; auto: what the "
                            "shipped adapter plans best with, else classifier.")
    decline_unserved: bool = Field(
        True, description="Decline a command the ToolRAG classifier finds no skill for (a "
                          "'declined' event, result success false) instead of planning it.")
    decline_reply: str = Field(
        "Sorry, I can't do that.", max_length=200,
        description="Said with the say skill when a command is declined; empty: say nothing.")
    examples: int = Field(-1, ge=-1, le=8,
                          description="Retrieved in-context examples per prompt; -1: what "
                                      "the shipped adapter was measured best with, else "
                                      f"{DEFAULT_EXAMPLES}.")
    use_grammar: bool = Field(True, description="Constrain decoding with the plan grammar.")
    date_hints: bool = Field(True, description="Spell out what a command's dates and times "
                                               "resolve to (catalogs with dates).")
    n_threads: int = Field(0, ge=0, description="Planner CPU threads; 0: all cores.")
    warm_up: bool = Field(True, description="Evaluate the fixed prompt part at configure so "
                                            "the first command plans sooner.")
    plan_text_file: str = Field("", description="Stored plans instead of the model (tests, "
                                                "demos): a plan .txt or YAML command -> plan.")
    max_replans: int = Field(1, ge=0, le=5, description="Replans after a failed task.")
    queue_policy: QueuePolicy = Field(QueuePolicy.QUEUE, description="A command arriving "
                                      "while another runs: queue, reject or preempt.")
    queue_size: int = Field(4, ge=0, le=64, description="Commands waiting at most (queue).")
    allowed_skills: list[str] = Field(default_factory=list, description="Skills the agent "
                                      "may use; empty: all of the catalog.")
    confirm_skills: list[str] = Field(default_factory=list, description="Skills that need "
                                      "a yes from ~/confirm, besides those declared confirm.")
    confirm_timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for a yes.")
    max_command_chars: int = Field(1000, ge=1, description="Longer commands are refused.")
    listen: bool = Field(True, description="Transcribe ~/audio into commands; false ignores "
                                           "audio and loads no speech models.")
    whisper_model: str = Field("", description="whisper.cpp ggml file, or an installed "
                               "model's name: tiny.en, base (multilingual, told English); "
                               "empty: the installed whisper-tiny.en.")
    asr_threads: int = Field(1, ge=1, description="CPU threads for whisper.")
    whisper_prompt: str = Field("", description="Text whisper decodes after (vocabulary "
                                                "bias: place, people, object names).")
    vad_threshold: float = Field(0.5, gt=0, lt=1, description="Silero VAD speech "
                                                              "probability that opens speech.")
    min_utterance_s: float = Field(0.3, ge=0, description="Shorter speech is dropped.")
    max_utterance_s: float = Field(15.0, gt=0, description="Longer speech is cut here.")
    trailing_silence_s: float = Field(0.6, gt=0, description="Silence that ends an "
                                                             "utterance.")
    mute_while_speaking: bool = Field(True, description="Ignore audio while a say task "
                                                        "runs (the robot hears itself).")


class ConfigureError(Exception):
    """The node cannot be configured; the message says why and what to do."""


class AgentNode(LifecycleNode):
    """The agent as a managed ROS 2 node."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("tinyagent", **kwargs)
        for name, info in AgentSettings.model_fields.items():
            default = info.get_default(call_default_factory=True)
            if isinstance(default, QueuePolicy):
                default = default.value
            descriptor = ParameterDescriptor(description=info.description or "")
            if default == []:
                descriptor.type = ParameterType.PARAMETER_STRING_ARRAY
                self.declare_parameter(name, Parameter.Type.STRING_ARRAY, descriptor)
            else:
                self.declare_parameter(name, default, descriptor)
        self.group = ReentrantCallbackGroup()
        #: Audio chunks and mute one at a time, in arrival order: in the reentrant group two
        #: chunks could race for the segmenter and reach it swapped, and whisper heard other
        #: words ("go charge your skeleton") on a loaded machine.
        self.audio_group = MutuallyExclusiveCallbackGroup()
        self.settings: AgentSettings | None = None
        self.catalog: Catalog | None = None
        self.runner: CommandRunner | None = None
        self._planner: Any = None
        self._backend: Backend | None = None
        self._bindings: Any = None
        self._pubs: dict[str, Any] = {}
        self._subs: list[Any] = []
        self._mute_services: list[Any] = []
        self._tool_services: list[Any] = []
        self._action: ActionServer | None = None
        self._goals: dict[bytes, Command] = {}
        self._goal_cancels: set[bytes] = set()
        self._listener: Any = None
        self._speaking = 0

    # ------------------------------------------------------------ lifecycle

    def read_settings(self) -> AgentSettings:
        """The parameters as settings; ConfigureError naming the bad parameter."""
        values: dict[str, Any] = {}
        for name in AgentSettings.model_fields:
            try:
                values[name] = self.get_parameter(name).value
            except ParameterUninitializedException:
                continue
        try:
            return AgentSettings.model_validate(values)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigureError(f"parameter {where}: {first['msg']}") from None

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Load catalog, planner and backend; FAILURE with one logged reason if any is bad."""
        try:
            self._configure()
        except ConfigureError as err:
            self.get_logger().error(f"configure failed: {err}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        except Exception as err:  # noqa: BLE001 - a bug: report it as a failed transition
            self.get_logger().error(f"configure failed: {type(err).__name__}: {err}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def _configure(self) -> None:
        settings = self.settings = self.read_settings()
        from tinyagent_ros.backends import default_catalog

        try:
            full = load_catalog(default_catalog() if settings.catalog == "auto"
                                else settings.catalog)
        except CatalogError as err:
            raise ConfigureError(str(err)) from None
        unknown = [s for s in settings.allowed_skills + settings.confirm_skills
                   if s not in full]
        if unknown:
            raise ConfigureError(f"no skill {unknown[0]!r} in catalog {full.name!r} "
                                 "(allowed_skills / confirm_skills)")
        self.catalog = full.subset(settings.allowed_skills) if settings.allowed_skills else full
        self._planner = self._load_planner(settings, self.catalog)
        self._backend = self._load_backend(settings, self.catalog)
        self._listener = self._load_listener(settings) if settings.listen else None
        self.runner = CommandRunner(
            self._make_agent, policy=settings.queue_policy, queue_size=settings.queue_size,
            max_chars=settings.max_command_chars, on_event=self._publish_event,
            on_plan=self._publish_plan,
        )
        if settings.plan_text_file:
            planner = f"scripted plans from {settings.plan_text_file}"
        else:
            planner = f"planner {self._planner.settings.model_path or '(shipped model)'}"
        self.get_logger().info(
            f"configured: catalog {self.catalog.name} ({len(self.catalog)} skills), "
            f"{planner}, backend {self._backend.name}, queue policy {settings.queue_policy.value}"
        )

    def _load_planner(self, settings: AgentSettings, catalog: Catalog) -> Any:
        if settings.plan_text_file:
            from tinyagent_ros.ros.scripted import ScriptedPlanner

            try:
                return ScriptedPlanner.from_file(settings.plan_text_file, catalog)
            except OSError as err:
                raise ConfigureError(f"cannot read plan_text_file "
                                     f"{settings.plan_text_file}: {err.strerror}") from None
            except ValueError as err:
                raise ConfigureError(str(err)) from None
        from tinyagent_ros.planner import (
            PlannerError,
            PlannerSettings,
            build_planner,
            merge_hint,
            resolve_model,
        )

        adapter = {"": "default", "none": None}.get(settings.lora_path, settings.lora_path)
        try:
            plan_settings = PlannerSettings(
                model_path=resolve_model(settings.model_path) if settings.model_path else None,
                n_threads=settings.n_threads or None,
                use_grammar=settings.use_grammar,
                date_hints=settings.date_hints,
            )
            planner = build_planner(catalog, plan_settings, tools=settings.tool_selection,
                                    examples=None if settings.examples < 0 else settings.examples,
                                    adapter=adapter, decline=settings.decline_unserved)
        except PlannerError as err:
            raise ConfigureError(str(err)) from None
        hint = merge_hint(planner)
        if hint:
            self.get_logger().info(hint)
        if settings.warm_up:
            # llama.cpp reuses the longest evaluated prefix: every later prompt shares the
            # instructions and rules before the skill list, so those are evaluated only once.
            start = time.perf_counter()
            planner.warm_up()
            self.get_logger().info(f"planner warmed up in {time.perf_counter() - start:.1f} s")
        return planner

    def _load_listener(self, settings: AgentSettings) -> Any:
        from tinyagent_ros.listener import Listener, ListenerError, ListenerSettings
        from tinyagent_ros.vad import SegmenterConfig

        try:
            segmenter = SegmenterConfig(threshold=settings.vad_threshold,
                                        min_utterance_s=settings.min_utterance_s,
                                        max_utterance_s=settings.max_utterance_s,
                                        trailing_silence_s=settings.trailing_silence_s)
            listener = Listener(
                ListenerSettings(settings.whisper_model or None,
                                 settings.asr_threads, segmenter,
                                 settings.whisper_prompt or None),
                on_text=self._on_speech_text, on_event=self._on_speech_event)
        except (ListenerError, ValueError) as err:
            raise ConfigureError(f"speech: {err} (or set listen: false)") from None
        self.get_logger().info(f"listening on {self.resolve_topic_name('~/audio')} with "
                               f"{listener.transcriber.model_path.name}")
        return listener

    def _load_backend(self, settings: AgentSettings, catalog: Catalog) -> Backend:
        from tinyagent_ros.backends import default_backend, get_backend

        name = "dry-run" if settings.dry_run else settings.backend
        if name == "auto":
            name = default_backend(catalog.name)
        if name == "dry-run":
            backend: Backend = get_backend("dry-run", catalog_name=catalog.name)
        elif name in ("sim", "mujoco"):
            if catalog.name != "robot":
                raise ConfigureError(f"the {name} backend runs the robot catalog, not "
                                     f"{catalog.name!r}; use backend ros or dry-run")
            try:
                backend = get_backend(name, world=settings.world,
                                      time_scale=settings.time_scale)
            except (ValueError, OSError) as err:
                raise ConfigureError(f"world {settings.world!r}: {err}") from None
        elif name == "macos":
            if catalog.name != "mac":
                raise ConfigureError(f"the macos backend runs the mac catalog, not "
                                     f"{catalog.name!r}; set catalog: mac")
            try:
                backend = get_backend("macos", summarize=self._pdf_summarizer(settings))
            except ValueError as err:
                raise ConfigureError(str(err)) from None
        else:
            from tinyagent_ros.ros.bindings import BindingError, BindingsBackend, load_bindings

            try:
                bindings = load_bindings(settings.bindings_file, catalog)
            except BindingError as err:
                raise ConfigureError(str(err)) from None
            backend = self._bindings = BindingsBackend(self, catalog, bindings, self.group)
        confirm = {s.name for s in catalog if s.confirm} | set(settings.confirm_skills)
        if confirm & set(catalog.names):
            backend = ConfirmGate(backend, self, confirm, settings.confirm_timeout_s)
        return backend

    def _pdf_summarizer(self, settings: AgentSettings) -> Any:
        if settings.pdf_summary == "opening":
            return None  # the backend's own: the opening sentences
        from tinyagent_ros.summarize import ModelSummarizer

        return ModelSummarizer(settings.model_path or None, n_threads=settings.n_threads or None)

    def _make_agent(self, on_event: Any, on_plan: Any) -> Agent:
        assert self.settings is not None
        return Agent(self._planner, self._backend, max_replans=self.settings.max_replans,
                     on_event=on_event, on_plan_text=on_plan,
                     decline_reply=self.settings.decline_reply)

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Open the command topics and the ``~/execute`` action."""
        from tinyagent_interfaces.action import ExecuteCommand
        from tinyagent_interfaces.msg import AudioChunk

        events_qos = 100
        self._pubs = {
            "plan": self.create_publisher(String, "~/plan", 10),
            "events": self.create_publisher(String, "~/events", events_qos),
            "transcript": self.create_publisher(String, "~/transcript", 10),
        }
        self._subs = [
            self.create_subscription(String, "~/command", self._on_command, 10,
                                     callback_group=self.group),
            self.create_subscription(Empty, "~/estop", self._on_estop, 10,
                                     callback_group=self.group),
            self.create_subscription(AudioChunk, "~/audio", self._on_audio, AUDIO_QUEUE,
                                     callback_group=self.audio_group),
        ]
        self._mute_services = [self.create_service(SetBool, "~/mute", self._on_mute,
                                                   callback_group=self.audio_group)]
        if self.settings is not None and self.settings.tool_services and self.catalog:
            from tinyagent_interfaces.srv import CallSkill

            self._tool_services = [
                self.create_service(CallSkill, f"~/tools/{skill.name}",
                                    functools.partial(self._on_tool_call, skill),
                                    callback_group=self.group)
                for skill in self.catalog
            ]
        self._action = ActionServer(
            self, ExecuteCommand, "~/execute", execute_callback=self._execute_goal,
            goal_callback=lambda goal: GoalResponse.ACCEPT, cancel_callback=self._cancel_goal,
            callback_group=self.group,
        )
        self.get_logger().info(f"active: send commands to {self.resolve_topic_name('~/command')}"
                               f" or goals to {self.resolve_topic_name('~/execute')}")
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Cancel every command and withdraw the topics and the action."""
        self._stop_commands("deactivated")
        self._close_entities()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Drop the planner, backend and command loop."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Cancel everything and release it all."""
        self._stop_commands("shutting down")
        self._close_entities()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _stop_commands(self, reason: str) -> None:
        if self.runner is None:
            return
        self.runner.estop(reason)
        deadline = time.monotonic() + 3.0
        while (self.runner.busy() or self._goals) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _close_entities(self) -> None:
        if self._action is not None:
            self._action.destroy()
            self._action = None
        for sub in self._subs:
            self.destroy_subscription(sub)
        for srv in self._mute_services + self._tool_services:
            self.destroy_service(srv)
        self._mute_services, self._tool_services = [], []
        for pub in self._pubs.values():
            self.destroy_publisher(pub)
        self._subs, self._pubs = [], {}

    def _release(self) -> None:
        if self.runner is not None:
            self.runner.close()
            self.runner = None
        if isinstance(self._backend, ConfirmGate):
            self._backend.destroy()
        if self._bindings is not None:
            self._bindings.destroy()
            self._bindings = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._backend = None
        self._planner = None

    # ------------------------------------------------------------ topics

    def _publish(self, topic: str, text: str) -> None:
        pub = self._pubs.get(topic)
        if pub is not None:
            pub.publish(String(data=text))

    def _publish_event(self, event: dict[str, Any]) -> None:
        if self.settings is not None and self.settings.mute_while_speaking:
            self._follow_speaking(event)
        self._publish("events", json.dumps(event, ensure_ascii=False, default=str))

    def _publish_plan(self, command: Command, text: str) -> None:
        self._publish("plan", text)

    def _on_command(self, msg: String) -> None:
        if self.runner is not None:
            self.runner.submit(msg.data, "topic")

    def _on_estop(self, msg: Empty) -> None:
        if self.runner is not None:
            self.runner.estop("emergency stop")
        self.get_logger().warning("emergency stop: cancelling every command")
        self._publish_event({"t": 0.0, "kind": "estop", "task": None, "skill": None,
                             "message": "emergency stop", "value": None, "command": None})

    def _on_audio(self, msg: Any) -> None:
        if self._listener is None:
            self.get_logger().warning("audio received, but listen is false; send text to "
                                      "~/command", throttle_duration_sec=10.0)
            return
        self._listener.feed(np.asarray(msg.samples, dtype=np.int16), int(msg.sample_rate),
                            int(msg.channels))

    def _on_mute(self, request: Any, response: Any) -> Any:
        if self._listener is None:
            response.success, response.message = False, "listen is false"
            return response
        self._listener.mute(bool(request.data))
        response.success = True
        response.message = "muted" if request.data else "listening"
        return response

    def _on_tool_call(self, skill: Skill, request: Any, response: Any) -> Any:
        """Run one skill with the request's JSON arguments, queued like a command."""
        response.success, response.result = False, ""
        try:
            arguments = json.loads(request.arguments) if request.arguments.strip() else None
            args = bind_arguments(skill, arguments)
        except ValueError as err:  # JSONDecodeError is one
            response.error = f"bad arguments for {skill.name}: {one_line(err)}"
            return response
        if self.runner is None:
            response.error = "the agent is not active"
            return response
        plan = Plan((Task(1, skill.name, tuple(args)),), Join(2))
        outcome = self.runner.submit_plan(plan, f"service {skill.name}").done.result()
        response.success = outcome.success
        if outcome.success:
            value = outcome.answer[0] if outcome.answer else None
            response.result = json.dumps(value, ensure_ascii=False, default=str)
        else:
            response.error = one_line(outcome.error or "; ".join(outcome.task_results)
                                       or outcome.summary)
        return response

    def _on_speech_text(self, text: str, transcript: Any) -> None:
        self._publish("transcript", text)
        if self.runner is not None:
            self.runner.submit(text, "speech")

    def _on_speech_event(self, kind: str, message: str) -> None:
        if kind in ("speech_error", "speech_dropped", "speech_bad_chunk"):
            self.get_logger().warning(f"{kind}: {message}")
        self._publish_event({"t": 0.0, "kind": kind, "task": None, "skill": None,
                             "message": message, "value": None, "command": None})

    def _follow_speaking(self, event: dict[str, Any]) -> None:
        """Mute the microphone while the robot's own say tasks run."""
        kind = event.get("kind", "")
        if self._listener is None or (event.get("skill") != "say" and kind != "run_finished"):
            return
        if kind == "run_finished":  # whatever happened to its tasks, listen again
            if self._speaking:
                self._speaking = 0
                self._listener.mute(False)
        elif kind == "task_started":
            self._speaking += 1
            if self._speaking == 1:
                self._listener.mute(True)
        elif kind in _TASK_ENDS and self._speaking > 0:
            self._speaking -= 1
            if self._speaking == 0:
                self._listener.mute(False)

    # ------------------------------------------------------------ the action

    def _execute_goal(self, goal_handle: Any) -> Any:
        from tinyagent_interfaces.action import ExecuteCommand

        def listener(event: dict[str, Any]) -> None:
            feedback = ExecuteCommand.Feedback(event=json.dumps(event, ensure_ascii=False,
                                                                default=str))
            try:
                goal_handle.publish_feedback(feedback)
            except Exception:  # noqa: BLE001 - the goal ended meanwhile; feedback is best effort
                pass

        key = bytes(goal_handle.goal_id.uuid)
        if self.runner is None:
            goal_handle.abort()
            return ExecuteCommand.Result(success=False, summary="error: the agent is not active")
        command = self.runner.submit(goal_handle.request.command, "action", listener)
        self._goals[key] = command
        try:
            outcome = command.done.result()
        finally:
            self._goals.pop(key, None)
        result = ExecuteCommand.Result(success=outcome.success, plan=outcome.plan,
                                       summary=outcome.summary,
                                       task_results=outcome.task_results)
        cancelled = key in self._goal_cancels  # by its client; an estop aborts the goal
        self._goal_cancels.discard(key)
        if cancelled and _wait_cancel_state(goal_handle):
            goal_handle.canceled()
        elif outcome.success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        return result

    def _cancel_goal(self, goal_handle: Any) -> CancelResponse:
        key = bytes(goal_handle.goal_id.uuid)
        command = self._goals.get(key)
        if command is not None and self.runner is not None:
            self._goal_cancels.add(key)
            self.runner.cancel(command, "goal cancelled")
        return CancelResponse.ACCEPT


def _wait_cancel_state(goal_handle: Any) -> bool:
    """True once rclpy has marked the goal as cancelling (right after cancel_callback)."""
    deadline = time.monotonic() + _CANCEL_STATE_WAIT_S
    while not goal_handle.is_cancel_requested:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)
    return True


class ConfirmGate:
    """A backend wrapper: some skills run only after a person says yes on ``~/confirm``."""

    def __init__(self, inner: Backend, node: AgentNode, skills: set[str], timeout_s: float
                 ) -> None:
        from tinyagent_interfaces.srv import Confirm

        self.name = inner.name
        self.catalog = inner.catalog
        self._inner = inner
        self._node = node
        self._skills = skills
        self._timeout_s = timeout_s
        self._request = Confirm.Request
        self._client = node.create_client(Confirm, "~/confirm", callback_group=node.group)

    def destroy(self) -> None:
        """Destroy the ``~/confirm`` client (the wrapped backend is released by its owner)."""
        self._node.destroy_client(self._client)

    async def call(self, skill: Skill, args: list[Any], feedback: Feedback) -> Any:
        """Ask first when the skill needs confirmation, then run it."""
        if skill.name in self._skills:
            await self._confirm(skill, args, feedback)
        return await self._inner.call(skill, args, feedback)

    async def _confirm(self, skill: Skill, args: list[Any], feedback: Feedback) -> None:
        from tinyagent_ros.ros.bindings import await_future

        call = f"{skill.name}({', '.join(json.dumps(a, default=str) for a in args)})"
        feedback(f"waiting for confirmation of {call}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        while not self._client.service_is_ready():
            if loop.time() >= deadline:
                raise SkillFailed(f"not confirmed: no confirmation service for {call}")
            await asyncio.sleep(0.05)
        request = self._request(question=f"May I {call}?", skill=skill.name,
                                args_json=json.dumps(args, default=str))
        try:
            answer = await asyncio.wait_for(await_future(self._client.call_async(request)),
                                            max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise SkillFailed(f"not confirmed: no answer within {self._timeout_s:g} s") from None
        if not answer.confirmed:
            raise SkillFailed(f"not confirmed: {answer.reason or 'refused'}")


# ---------------------------------------------------------------- process


def main(args: list[str] | None = None) -> None:
    """Run the agent node: configure and activate it (autostart), serve until a signal."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    node = AgentNode()
    try:
        settings = node.read_settings()
    except ConfigureError as err:
        node.get_logger().error(f"configure failed: {err}")
        rclpy.shutdown()
        sys.exit(1)
    executor = MultiThreadedExecutor(num_threads=max(8, settings.queue_size + 6))
    executor.add_node(node)
    stop = threading.Event()
    spin = spin_until_signal(executor, stop)
    code = 0
    if settings.autostart:
        if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            code = 1
        elif node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
            code = 1
    if code == 0:
        stop.wait()
        node.get_logger().info("stopping: cancelling every command")
        node._stop_commands("shutting down")  # goals are cancelled while ROS still runs
    node._release()
    shut_down(spin, executor)
    sys.exit(code)


if __name__ == "__main__":
    main()
