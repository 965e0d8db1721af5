"""The agent: command -> planner (streaming) -> executor -> backend, with bounded replanning.

The executor reads the planner's token stream through the incremental parser,
so the first task is dispatched while the model is still writing the rest.
When a task fails, the planner is asked once more (TinyAgent's "Previous Plan
/ Observation" form), up to ``max_replans`` times; then the failure is reported.
A plan that loops is stopped before the repeat runs, and the next one may call
every listed skill (:meth:`Planner.widened`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tinyagent_ros.backends.base import Backend
from tinyagent_ros.executor import Event, ExecutionResult, Executor, PlanSource
from tinyagent_ros.plan import Join, Plan, PlanLoopError, Task, iter_plan
from tinyagent_ros.planner import Planner
from tinyagent_ros.prompt import Prompt


@dataclass
class Attempt:
    """One plan written and executed."""

    plan_text: str
    result: ExecutionResult
    first_dispatch_s: float | None


@dataclass
class AgentResult:
    """What a command led to: every attempt, the last one's result, and the timings."""

    query: str
    skills: list[str]
    attempts: list[Attempt] = field(default_factory=list)
    select_s: float = 0.0
    total_s: float = 0.0
    #: Why the command was declined without planning (no skill fits it); "" when it was not.
    declined: str = ""

    @property
    def result(self) -> ExecutionResult:
        """The last attempt's execution result."""
        return self.attempts[-1].result

    @property
    def success(self) -> bool:
        """True when the last attempt ran every task successfully."""
        return bool(self.attempts) and self.result.success

    @property
    def plan_text(self) -> str:
        """The last plan's text."""
        return self.attempts[-1].plan_text if self.attempts else ""


def observation(plan_text: str, result: ExecutionResult) -> str:
    """The replanning context: the previous plan and what happened to each task."""
    lines = [result.summary()]
    if result.error:
        lines.append(f"Plan error: {result.error}")
    return (
        f"Previous Plan:\n{plan_text.strip()}\nObservation:\n" + "\n".join(lines) +
        "\nThe previous plan failed. Write a new plan for what is still left to do."
    )


def declined_reason(catalog_name: str) -> str:
    """Why a command no skill serves ends without a plan (the agent's and the CLI's words)."""
    return f"no skill of the {catalog_name} catalog fits this request; nothing was done"


def _first_start(result: ExecutionResult) -> float | None:
    """When the first task was dispatched, in the run's time; None if none was."""
    started = [e.t for e in result.events if e.kind == "task_started"]
    return min(started) if started else None


class Agent:
    """Plans commands with a :class:`Planner` and executes them on a backend."""

    def __init__(
        self,
        planner: Planner,
        backend: Backend,
        *,
        max_replans: int = 1,
        on_event: Callable[[Event], None] | None = None,
        on_plan_text: Callable[[str], None] | None = None,
        decline_reply: str = "",
    ) -> None:
        self.planner = planner
        self.backend = backend
        self.max_replans = max_replans
        #: Said out loud (the catalog's ``say`` skill) when a request is declined; "": silence.
        #: Small talk (no skill reaches the classifier's threshold) is declined in silence.
        self.decline_reply = decline_reply
        self.on_event = on_event
        self.on_plan_text = on_plan_text
        self._stop = threading.Event()
        self._executor: Executor | None = None

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop planning and every running and pending task (safe from any thread)."""
        self._stop.set()
        if self._executor is not None:
            self._executor.cancel(reason)

    async def run(self, query: str, today: dt.date | None = None) -> AgentResult:
        """Plan and execute a command; replan after a failure, at most ``max_replans`` times."""
        self._stop.clear()
        start = time.perf_counter()
        skills = self.planner.select_skills(query)
        prompt = self.planner.prompt_for(query, today, skills)
        outcome = AgentResult(query=query, skills=skills, select_s=time.perf_counter() - start)
        if prompt.declines:
            outcome.declined = declined_reason(self.planner.catalog.name)
            if self.on_event is not None:
                self.on_event(Event(outcome.select_s, "declined", message=outcome.declined))
            if prompt.must_act:  # a request, not small talk
                await self._reply(self.decline_reply)
            outcome.total_s = time.perf_counter() - start
            return outcome
        previous: str | None = None
        for _ in range(self.max_replans + 1):
            text_parts: list[str] = []
            loops: list[PlanLoopError] = []
            result = await self._execute(self._items(prompt, previous, text_parts, loops))
            if result is None:
                break
            outcome.attempts.append(Attempt("".join(text_parts), result, _first_start(result)))
            if result.success or self._stop.is_set():
                break
            if loops:
                prompt = self.planner.widened(prompt)
            previous = observation(outcome.plan_text, result)
        outcome.total_s = time.perf_counter() - start
        return outcome

    async def _execute(self, source: PlanSource) -> ExecutionResult | None:
        """Run ``source`` on a fresh executor that :meth:`cancel` reaches; None if stopped first.

        The executor is in place before the stop is checked, so a cancel that comes
        in between is never missed.
        """
        executor = Executor(self.planner.catalog, self.backend, on_event=self.on_event)
        self._executor = executor
        try:
            return None if self._stop.is_set() else await executor.run(source)
        finally:
            self._executor = None

    async def _reply(self, text: str) -> None:
        """Say ``text`` through the backend, when there is text and the catalog can speak."""
        if text and self.planner.catalog.get("say") is not None:
            await self._execute(Plan(tasks=(Task(1, "say", (text,)),), join=Join(2)))

    async def execute(self, plan: Plan) -> AgentResult:
        """Run a given plan as it stands: no planning, no replanning (direct skill calls)."""
        self._stop.clear()
        start = time.perf_counter()
        outcome = AgentResult(query=plan.render(), skills=list(dict.fromkeys(plan.names)))
        result = await self._execute(plan)
        if result is not None:
            outcome.attempts.append(Attempt(plan.render(), result, _first_start(result)))
        outcome.total_s = time.perf_counter() - start
        return outcome

    def _items(self, prompt: Prompt, previous: str | None, sink: list[str],
               loops: list[PlanLoopError]) -> Iterator[Task | Join]:
        """Plan items as their lines complete; the executor reads this in a worker thread.

        The plan text goes to ``sink``; a loop that stopped the plan, to ``loops``.
        """
        def tee() -> Iterator[str]:
            for piece in self.planner.stream(prompt, self._stop, previous=previous):
                sink.append(piece)
                yield piece
            if self.on_plan_text is not None:
                self.on_plan_text("".join(sink))  # as soon as it is written, not after running

        chunks = tee()
        try:
            yield from iter_plan(chunks, self.planner.catalog, retarget=True, stop_loops=True)
        except PlanLoopError as err:
            loops.append(err)
            raise
        finally:
            chunks.close()  # releases the model now, for the next plan
