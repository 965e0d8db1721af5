"""Commands through the agent on one asyncio loop thread, one command at a time.

Text commands and action goals take the same path: :meth:`CommandRunner.submit`
from any thread, then the queue policy decides. ``queue`` holds up to
``queue_size`` commands behind the running one; ``reject`` refuses a command
while another runs; ``preempt`` cancels the running and waiting ones for the
newest. :meth:`CommandRunner.estop` cancels every running and pending task of
every command. No rclpy here: the node wires the callbacks to topics and actions.

Events are the executor's (``Event.to_dict()``: ``t`` counts from the start of
the plan's run) plus command events (``command_queued``, ``command_started``,
``command_finished``, ``command_cancelled``, ``command_rejected``,
``command_error``; ``t`` counts from the command's arrival), each with the
``command`` id and ``elapsed``, seconds since the command arrived.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tinyagent_ros.agent import Agent
from tinyagent_ros.executor import Event
from tinyagent_ros.plan import Plan

log = logging.getLogger(__name__)

#: Longest command accepted, in characters (nobody speaks a page to a robot).
MAX_COMMAND_CHARS = 1000


class QueuePolicy(str, enum.Enum):
    """What a new command does while another one runs."""

    QUEUE = "queue"
    REJECT = "reject"
    PREEMPT = "preempt"


@dataclass
class CommandResult:
    """How a command ended (the fields of the ExecuteCommand result, plus the answer)."""

    success: bool
    plan: str = ""
    summary: str = ""
    task_results: list[str] = field(default_factory=list)
    answer: list[Any] = field(default_factory=list)
    #: Why the command did not run or was stopped ("" when it ran to its end).
    error: str = ""


@dataclass(eq=False)
class Command:
    """One submitted command; ``done`` resolves to its :class:`CommandResult`."""

    id: int
    text: str
    source: str
    #: Receives this command's events (dicts), e.g. to forward them as action feedback.
    listener: Callable[[dict[str, Any]], None] | None = None
    received: float = field(default_factory=time.monotonic)
    done: concurrent.futures.Future[CommandResult] = field(
        default_factory=concurrent.futures.Future
    )
    agent: Agent | None = None
    stop_reason: str = ""
    #: A plan to run as given instead of planning ``text`` (a direct skill call).
    plan: Plan | None = None


def check_command(text: Any, max_chars: int = MAX_COMMAND_CHARS) -> str:
    """The command text, trimmed; raise ValueError with the reason if it cannot be run."""
    if not isinstance(text, str):
        raise ValueError(f"the command is not text but {type(text).__name__}")
    text = text.strip()
    if not text:
        raise ValueError("the command is empty")
    if len(text) > max_chars:
        raise ValueError(f"the command is {len(text)} characters; the limit is {max_chars}")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text) or "\x7f" in text:
        raise ValueError("the command contains control characters")
    return text


class CommandRunner:
    """Run commands with :class:`Agent` on a private asyncio loop thread."""

    def __init__(
        self,
        make_agent: Callable[[Callable[[Event], None], Callable[[str], None]], Agent],
        *,
        policy: QueuePolicy = QueuePolicy.QUEUE,
        queue_size: int = 4,
        max_chars: int = MAX_COMMAND_CHARS,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        on_plan: Callable[[Command, str], None] | None = None,
    ) -> None:
        self._make_agent = make_agent
        self.policy = QueuePolicy(policy)
        self.queue_size = queue_size
        self.max_chars = max_chars
        self._on_event = on_event
        self._on_plan = on_plan
        self._ids = itertools.count(1)
        self._pending: deque[Command] = deque()
        self._running: Command | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tinyagent-agent",
                                         daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ any thread

    def submit(self, text: Any, source: str = "topic",
               listener: Callable[[dict[str, Any]], None] | None = None) -> Command:
        """Queue a command; its ``done`` future resolves when it ends or is refused."""
        command = Command(next(self._ids), str(text) if isinstance(text, str) else "", source,
                          listener)
        try:
            command.text = check_command(text, self.max_chars)
        except ValueError as err:
            self._refuse(command, "command_error", str(err))
            return command
        self._call(self._admit, command)
        return command

    def submit_plan(self, plan: Plan, source: str = "service",
                    listener: Callable[[dict[str, Any]], None] | None = None) -> Command:
        """Queue a plan to run as given (no planner), under the same policy as commands."""
        command = Command(next(self._ids), plan.render(), source, listener, plan=plan)
        self._call(self._admit, command)
        return command

    def cancel(self, command: Command, reason: str = "cancelled") -> None:
        """Cancel one command: drop it if it waits, stop every task if it runs."""
        self._call(self._cancel, command, reason)

    def estop(self, reason: str = "emergency stop") -> None:
        """Cancel every running and pending task of every command."""
        self._call(self._estop, reason)

    def busy(self) -> bool:
        """True while a command runs or waits."""
        return self._running is not None or bool(self._pending)

    def close(self, timeout: float = 3.0) -> None:
        """Cancel everything, wait up to ``timeout`` for it to stop, and end the loop thread."""
        if not self._thread.is_alive():
            return
        self.estop("shutting down")
        deadline = time.monotonic() + timeout
        while self.busy() and time.monotonic() < deadline:
            time.sleep(0.01)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed: the node is shutting down
            pass

    # ------------------------------------------------------------ loop thread

    def _emit(self, command: Command | None, event: dict[str, Any]) -> None:
        if command is not None:  # elapsed: one time base for all of a command's events
            event = {**event, "command": command.id,
                     "elapsed": round(time.monotonic() - command.received, 6)}
        for sink in (self._on_event, command.listener if command else None):
            if sink is None:
                continue
            try:
                sink(event)
            except Exception:
                log.exception("event listener failed on %s", event.get("kind"))

    def _node_event(self, command: Command, kind: str, message: str = "",
                    value: Any = None) -> None:
        """An event about a command as a whole (not one of the executor's task events)."""
        self._emit(command, {"t": round(time.monotonic() - command.received, 6), "kind": kind,
                             "task": None, "skill": None, "message": message, "value": value})

    def _refuse(self, command: Command, kind: str, reason: str) -> None:
        self._node_event(command, kind, reason, command.text[:200])
        command.done.set_result(CommandResult(False, summary=f"error: {reason}", error=reason))

    def _admit(self, command: Command) -> None:
        if self.policy is QueuePolicy.REJECT and self.busy():
            self._refuse(command, "command_rejected", "busy with another command")
            return
        if self.policy is QueuePolicy.PREEMPT:
            self._estop(f"preempted by command {command.id}")
        elif len(self._pending) >= self.queue_size and self._running is not None:
            self._refuse(command, "command_rejected",
                         f"the command queue is full ({self.queue_size} waiting)")
            return
        self._pending.append(command)
        self._node_event(command, "command_queued", command.text, command.source)
        self._next()

    def _next(self) -> None:
        if self._running is not None or not self._pending:
            return
        command = self._pending.popleft()
        self._running = command
        self._loop.create_task(self._run(command), name=f"command {command.id}")

    def _cancel(self, command: Command, reason: str) -> None:
        if command in self._pending:
            self._pending.remove(command)
            self._node_event(command, "command_cancelled", reason)
            command.done.set_result(CommandResult(False, summary=f"error: {reason}",
                                                  error=reason))
        elif command is self._running and not command.stop_reason:
            command.stop_reason = reason
            if command.agent is not None:
                command.agent.cancel(reason)

    def _estop(self, reason: str) -> None:
        if self._running is not None:
            self._cancel(self._running, reason)
        for command in list(self._pending):
            self._cancel(command, reason)

    async def _run(self, command: Command) -> None:
        try:
            result = await self._execute(command)
        except Exception as err:  # a bug below: report it, keep serving
            log.exception("command %d failed", command.id)
            reason = f"internal error: {type(err).__name__}: {err}"
            result = CommandResult(False, summary=f"error: {reason}", error=reason)
        finally:
            self._running = None
        self._node_event(command, "command_finished", result.summary, result.success)
        command.done.set_result(result)
        self._next()

    async def _execute(self, command: Command) -> CommandResult:
        if command.stop_reason:
            return CommandResult(False, summary=f"error: {command.stop_reason}",
                                 error=command.stop_reason)

        def on_event(event: Event) -> None:
            self._emit(command, event.to_dict())

        def on_plan(text: str) -> None:
            if self._on_plan is not None:
                self._on_plan(command, text)

        command.agent = self._make_agent(on_event, on_plan)
        self._node_event(command, "command_started", command.text, command.source)
        if command.plan is not None:
            outcome = await command.agent.execute(command.plan)
        else:
            outcome = await command.agent.run(command.text)
        if not outcome.attempts:
            if outcome.declined and not command.stop_reason:
                return CommandResult(False, summary=f"declined: {outcome.declined}",
                                     error=outcome.declined)
            reason = command.stop_reason or "nothing was planned"
            return CommandResult(False, summary=f"error: {reason}", error=reason)
        result = outcome.result
        summary = result.summary()
        if result.answer:
            summary += "\nanswer: " + "; ".join(str(a) for a in result.answer)
        return CommandResult(
            success=outcome.success and not command.stop_reason,
            plan=outcome.plan_text,
            summary=summary,
            task_results=[result.results[i].line() for i in sorted(result.results)],
            answer=list(result.answer),
            error=command.stop_reason or (result.error or ""),
        )
