"""The ``ros`` backend: every skill runs as a ROS 2 action, service call or topic message.

A bindings file (``config/bindings/*.yaml``) says, per skill, which interface
type and ROS name to use, how to fill the goal from the skill's arguments, and
which result field is the skill's result::

    navigate_to:
      action: tinyagent_interfaces/action/NavigateTo
      name: sim_robot/navigate_to
      goal: {location: "{location}"}
      result: place

Types are imported and templates checked when the file is loaded (the node's
configure step), so a typo fails at start-up, naming the skill and the field.
At run time a rejected, aborted or timed-out goal is a :class:`SkillFailed`
with the reason; cancelling the calling asyncio task cancels the goal.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tinyagent_ros.backends.base import Feedback, SkillFailed
from tinyagent_ros.catalog import Catalog, Skill
from tinyagent_ros.paths import share_path
from tinyagent_ros.ros.interfaces import (
    InterfaceError,
    field_type,
    fill_message,
    get_field,
    get_interface,
    to_python,
)

#: ``{param}`` or ``{param|filter}`` in a template value.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([a-z_]+))?\}")

#: Conversions a placeholder may apply: ``{yaw_deg|yaw_qz}`` for a quaternion's z.
FILTERS: dict[str, Callable[[Any], Any]] = {
    "str": str,
    "int": lambda v: int(float(v)),
    "float": float,
    "rad": lambda v: math.radians(float(v)),
    "yaw_qz": lambda v: math.sin(math.radians(float(v)) / 2),
    "yaw_qw": lambda v: math.cos(math.radians(float(v)) / 2),
}

#: A value of each catalog parameter type, to check templates at load time.
_SAMPLES: dict[str, Any] = {
    "str": "text", "int": 1, "float": 1.5, "bool": True,
    "list[str]": ["text"], "list[int]": [1], "list[float]": [1.5], "list[bool]": [True],
}


class BindingError(ValueError):
    """A bindings file that cannot be used; the message names file, skill and field."""


class Binding(BaseModel):
    """How one skill runs on ROS 2: exactly one of ``action``, ``service`` or ``topic``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str | None = Field(None, description="Action type, e.g. 'pkg/action/Name'.")
    service: str | None = Field(None, description="Service type, e.g. 'pkg/srv/Name'.")
    topic: str | None = Field(None, description="Message type published once per call.")
    name: str = Field(description="ROS name of the server or topic; relative names resolve "
                                  "in the agent's namespace.")
    goal: dict[str, Any] = Field(
        default_factory=dict,
        description="Goal (request, message) template: literal values and '{param}' "
                    "placeholders, nested mappings for nested messages.",
    )
    result: str | None = Field(None, description="Dotted result field returned as the skill's "
                                                 "result (default: the whole result).")
    feedback: str | None = Field(None, description="Dotted feedback field passed on as progress.")
    message: str | None = Field(None, description="Dotted result field with the failure reason.")
    success: str | None = Field(None, description="Boolean result field that must be true "
                                                  "(e.g. std_srvs/srv/Trigger 'success').")
    timeout_s: float | None = Field(None, gt=0, description="Seconds before the call is "
                                    "cancelled and fails (default: the skill's timeout).")
    server_timeout_s: float = Field(5.0, ge=0, description="Seconds to wait for the server.")

    @model_validator(mode="after")
    def _one_kind(self) -> Binding:
        kinds = [k for k in ("action", "service", "topic") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("give exactly one of action, service, topic")
        if self.topic and (self.feedback or self.message):
            raise ValueError("a topic has no feedback or result message")
        return self

    @property
    def kind(self) -> str:
        """``action``, ``service`` or ``topic``."""
        return "action" if self.action else "service" if self.service else "topic"

    @property
    def type_name(self) -> str:
        """The interface type name."""
        return self.action or self.service or self.topic or ""


@dataclass
class SkillBinding:
    """A binding checked against its skill and interface types, ready to build goals."""

    skill: Skill
    spec: Binding
    interface: Any
    goal_class: Any
    result_class: Any | None
    feedback_class: Any | None

    @property
    def kind(self) -> str:
        """``action``, ``service`` or ``topic``."""
        return self.spec.kind

    @property
    def name(self) -> str:
        """The ROS name of the server or topic."""
        return self.spec.name

    @property
    def timeout_s(self) -> float:
        """Seconds a call may take."""
        return self.spec.timeout_s or self.skill.timeout_s

    def build(self, args: list[Any]) -> Any:
        """The goal (request, message) for resolved ``args``; InterfaceError if one misfits."""
        values = {p.name: a for p, a in zip(self.skill.params, args, strict=True)}
        return fill_message(self.goal_class, _substitute(self.spec.goal, values))

    def result_value(self, result: Any) -> Any:
        """The skill's result from the action result (service response)."""
        return get_field(result, self.spec.result) if self.spec.result else to_python(result)

    def failure_reason(self, result: Any) -> str:
        """The reason text in a result, or ''."""
        if result is None or not self.spec.message:
            return ""
        return str(get_field(result, self.spec.message) or "")

    def param_paths(self) -> dict[str, str]:
        """Parameter -> goal field it fills unchanged (``"{param}"``), to decode goals."""
        paths: dict[str, str] = {}

        def walk(node: Any, prefix: str) -> None:
            if isinstance(node, Mapping):
                for key, value in node.items():
                    walk(value, f"{prefix}.{key}" if prefix else key)
            elif isinstance(node, str):
                match = PLACEHOLDER.fullmatch(node)
                if match and match.group(2) is None:
                    paths.setdefault(match.group(1), prefix)

        walk(self.spec.goal, "")
        return paths


def _substitute(template: Any, values: Mapping[str, Any]) -> Any:
    """The template with placeholders replaced: a whole ``"{p}"`` keeps the value's type."""
    if isinstance(template, Mapping):
        return {k: _substitute(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_substitute(v, values) for v in template]
    if not isinstance(template, str):
        return template
    whole = PLACEHOLDER.fullmatch(template)
    if whole:
        return _apply(values[whole.group(1)], whole.group(2))
    return PLACEHOLDER.sub(lambda m: str(_apply(values[m.group(1)], m.group(2))), template)


def _apply(value: Any, name: str | None) -> Any:
    if name is None:
        return value
    try:
        return FILTERS[name](value)
    except (TypeError, ValueError) as err:
        raise InterfaceError(f"cannot apply {name} to {value!r} ({err})") from None


def _placeholders(template: Any) -> Iterable[tuple[str, str | None]]:
    if isinstance(template, Mapping):
        for value in template.values():
            yield from _placeholders(value)
    elif isinstance(template, list):
        for value in template:
            yield from _placeholders(value)
    elif isinstance(template, str):
        for match in PLACEHOLDER.finditer(template):
            yield match.group(1), match.group(2)


# ---------------------------------------------------------------- loading


def bindings_path(name_or_path: str | Path) -> Path:
    """A shipped bindings file by name (``robot_sim``) or any YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = share_path("config", "bindings", f"{name_or_path}.yaml")
    return path


def load_bindings(
    name_or_path: str | Path, catalog: Catalog, skills: Iterable[str] | None = None
) -> dict[str, SkillBinding]:
    """Load and check a bindings file for ``catalog``.

    Every skill in ``skills`` (default: all of the catalog) must be bound;
    bindings of other catalog skills are checked but left out. Interface types
    are imported here: a missing package is an error now, not at the first call.
    """
    path = bindings_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise BindingError(f"{path}: cannot read bindings ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise BindingError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("skills"), dict):
        raise BindingError(f"{path}: expected a mapping with 'catalog' and 'skills'")
    unknown_keys = set(data) - {"catalog", "defaults", "skills"}
    if unknown_keys:
        raise BindingError(f"{path}: unknown key {sorted(unknown_keys)[0]!r} "
                           "(use catalog, defaults, skills)")
    if data.get("catalog") != catalog.name:
        raise BindingError(f"{path}: binds catalog {data.get('catalog')!r}, "
                           f"not {catalog.name!r}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise BindingError(f"{path}: defaults must be a mapping")
    wanted = list(catalog.names) if skills is None else list(skills)
    missing = [s for s in wanted if s not in data["skills"]]
    if missing:
        raise BindingError(f"{path}: no binding for skill(s) {', '.join(missing)}; bind them "
                           "or leave them out with the allowed_skills parameter")
    compiled: dict[str, SkillBinding] = {}
    for skill_name, raw in data["skills"].items():
        where = f"{path}: skill {skill_name!r}"
        skill = catalog.get(skill_name)
        if skill is None:
            raise BindingError(f"{where}: no such skill in catalog {catalog.name!r}")
        if not isinstance(raw, dict):
            raise BindingError(f"{where}: expected a mapping")
        try:
            spec = Binding.model_validate({**defaults, **raw})
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            msg = first["msg"].removeprefix("Value error, ")
            raise BindingError(f"{where}: {f'field {loc}: ' if loc else ''}{msg}") from None
        try:
            binding = compile_binding(skill, spec)
        except InterfaceError as err:
            raise BindingError(f"{where}: {err}") from None
        if skill_name in wanted:
            compiled[skill_name] = binding
    return compiled


def compile_binding(skill: Skill, spec: Binding) -> SkillBinding:
    """Import the binding's types and check its template and fields against them."""
    iface = get_interface(spec.type_name)
    kind = spec.kind
    expected = {"action": "/action/", "service": "/srv/", "topic": "/msg/"}[kind]
    if expected not in spec.type_name:
        raise InterfaceError(f"{kind} type must be a '{expected.strip('/')}' type, "
                             f"not {spec.type_name!r}")
    if kind == "action":
        goal_cls, result_cls, feedback_cls = iface.Goal, iface.Result, iface.Feedback
    elif kind == "service":
        goal_cls, result_cls, feedback_cls = iface.Request, iface.Response, None
    else:
        goal_cls, result_cls, feedback_cls = iface, None, None
    params = {p.name: p for p in skill.params}
    for name, filt in _placeholders(spec.goal):
        if name not in params:
            raise InterfaceError(f"goal: placeholder {{{name}}} is not a parameter of "
                                 f"{skill.signature}")
        if filt is not None and filt not in FILTERS:
            raise InterfaceError(f"goal: unknown filter {filt!r} in {{{name}|{filt}}} "
                                 f"(known: {', '.join(FILTERS)})")
    binding = SkillBinding(skill, spec, iface, goal_cls, result_cls, feedback_cls)
    try:  # fill with a sample of each parameter's type: checks fields and types at once
        binding.build([_SAMPLES[p.type] for p in skill.params])
    except InterfaceError as err:
        raise InterfaceError(f"goal: {err}") from None
    for label, cls, dotted in (("result", result_cls, spec.result),
                               ("message", result_cls, spec.message),
                               ("success", result_cls, spec.success),
                               ("feedback", feedback_cls, spec.feedback)):
        if dotted is None:
            continue
        if cls is None:
            raise InterfaceError(f"{label}: a {kind} has no {label} message")
        try:
            type_name = field_type(cls, dotted)
        except InterfaceError as err:
            raise InterfaceError(f"{label}: {err}") from None
        if label == "success" and type_name != "boolean":
            raise InterfaceError(f"success: {dotted} is {type_name}, not boolean")
    return binding


# ---------------------------------------------------------------- the backend


def _action_client(node: Any, interface: Any, name: str, callback_group: Any) -> Any:
    """An rclpy ActionClient that is safe to create while the node spins.

    rclpy's ActionClient joins the node's wait set before it makes its lock
    (ros2/rclpy#1589); an executor that meets it in that window dies with
    "'ActionClient' object has no attribute '_lock'" and the node goes deaf.
    The lock is given first, so the window is closed whenever the node is
    configured (autostart, or a lifecycle request while spinning).
    """
    from rclpy.action import ActionClient

    client = ActionClient.__new__(ActionClient)
    client._lock = threading.Lock()
    client.__init__(node, interface, name, callback_group=callback_group)
    return client


class BindingsBackend:
    """Run skills as ROS 2 actions, services and topics on a node's executor.

    The node must be spun by an executor in another thread (a
    ``MultiThreadedExecutor``): ROS answers arrive there and are handed to the
    asyncio loop that awaits them. Calls of independent tasks are in flight at
    the same time.
    """

    name = "ros"

    def __init__(self, node: Any, catalog: Catalog, bindings: dict[str, SkillBinding],
                 callback_group: Any = None) -> None:
        self.catalog = catalog.name
        self._node = node
        self._bindings = bindings
        self._clients: dict[str, Any] = {}
        for skill, b in bindings.items():
            if b.kind == "action":
                client = _action_client(node, b.interface, b.name, callback_group)
            elif b.kind == "service":
                client = node.create_client(b.interface, b.name, callback_group=callback_group)
            else:
                client = node.create_publisher(b.interface, b.name, 10)
            self._clients[skill] = client

    def destroy(self) -> None:
        """Destroy the clients and publishers (the node lives on)."""
        for skill, client in self._clients.items():
            if self._bindings[skill].kind == "topic":
                self._node.destroy_publisher(client)
            elif self._bindings[skill].kind == "service":
                self._node.destroy_client(client)
            else:
                # ActionClient.destroy frees its handle while a spinning executor may still
                # be putting it in a wait set (RCLError "action client pointer is invalid");
                # leaving the wait set and dropping the last reference frees it afterwards
                self._node.remove_waitable(client)
        self._clients.clear()

    def servers(self) -> dict[str, bool]:
        """Skill -> whether its action server or service is available now."""
        ready: dict[str, bool] = {}
        for skill, client in self._clients.items():
            kind = self._bindings[skill].kind
            ready[skill] = (kind == "topic" or (client.server_is_ready() if kind == "action"
                                                else client.service_is_ready()))
        return ready

    async def call(self, skill: Skill, args: list[Any], feedback: Feedback) -> Any:
        """Run one skill through its binding (see the module docstring)."""
        binding = self._bindings.get(skill.name)
        if binding is None:
            raise SkillFailed(f"no ROS binding for {skill.name}")
        try:
            goal = binding.build(args)
        except InterfaceError as err:
            raise SkillFailed(f"bad arguments for {binding.name}: {err}") from None
        client = self._clients[skill.name]
        if binding.kind == "topic":
            client.publish(goal)
            return f"published on {binding.name}"
        await self._wait_for_server(binding, client)
        if binding.kind == "service":
            response = await await_future(client.call_async(goal))
            self._check_success(binding, response)
            return binding.result_value(response)
        return await self._run_action(binding, client, goal, feedback)

    async def _wait_for_server(self, binding: SkillBinding, client: Any) -> None:
        ready = client.server_is_ready if binding.kind == "action" else client.service_is_ready
        loop = asyncio.get_running_loop()
        deadline = loop.time() + binding.spec.server_timeout_s
        while not ready():
            if loop.time() >= deadline:
                raise SkillFailed(f"{binding.kind} server {binding.name} not available")
            await asyncio.sleep(0.02)

    def _check_success(self, binding: SkillBinding, result: Any) -> None:
        if binding.spec.success and not get_field(result, binding.spec.success):
            reason = binding.failure_reason(result)
            raise SkillFailed(reason or f"{binding.name} reported failure")

    async def _run_action(self, binding: SkillBinding, client: Any, goal: Any,
                          feedback: Feedback) -> Any:
        from action_msgs.msg import GoalStatus

        def on_feedback(msg: Any) -> None:
            if binding.spec.feedback:
                feedback(str(get_field(msg.feedback, binding.spec.feedback)))

        sending = client.send_goal_async(goal, feedback_callback=on_feedback)
        try:
            handle = await await_future(sending)
        except asyncio.CancelledError:
            # Cancelled before the server answered: cancel the goal once it is accepted.
            sending.add_done_callback(_cancel_when_accepted)
            raise
        if not handle.accepted:
            raise SkillFailed(f"{binding.name} rejected the goal")
        try:
            response = await asyncio.wait_for(await_future(handle.get_result_async()),
                                              binding.timeout_s)
        except asyncio.CancelledError:
            handle.cancel_goal_async()  # the request goes out now; nobody waits for the answer
            raise
        except TimeoutError:
            handle.cancel_goal_async()
            raise SkillFailed(f"no result from {binding.name} within "
                              f"{binding.timeout_s:g} s") from None
        result = response.result
        if response.status == GoalStatus.STATUS_SUCCEEDED:
            self._check_success(binding, result)
            return binding.result_value(result)
        reason = binding.failure_reason(result)
        if response.status == GoalStatus.STATUS_ABORTED:
            raise SkillFailed(reason or f"{binding.name} aborted the goal")
        if response.status == GoalStatus.STATUS_CANCELED:
            raise SkillFailed(reason or f"{binding.name} cancelled the goal")
        raise SkillFailed(f"{binding.name} ended the goal with status {response.status}")


def _cancel_when_accepted(future: Any) -> None:
    handle = future.result() if not future.cancelled() and future.exception() is None else None
    if handle is not None and handle.accepted:
        handle.cancel_goal_async()


async def await_future(future: Any) -> Any:
    """Await an rclpy future from asyncio (its callbacks run on the ROS executor's threads)."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def transfer(done: Any) -> None:
        if waiter.done():
            return
        if done.cancelled():
            waiter.set_exception(SkillFailed("the ROS request was cancelled"))
            return
        err = done.exception()
        if err is not None:
            waiter.set_exception(err)
        else:
            waiter.set_result(done.result())

    def on_done(done: Any) -> None:
        try:
            loop.call_soon_threadsafe(transfer, done)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    future.add_done_callback(on_done)
    return await waiter
