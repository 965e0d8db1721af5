"""Run a plan's skill calls in parallel along its dependency DAG.

A task depends on the tasks its arguments reference (``$N``) and on every
earlier task it conflicts with by resource (same resource, one of them
exclusive). It starts as soon as all its dependencies have succeeded, and is
skipped when one of them did not. Plan items may stream in while the planner
is still writing; each is validated on arrival, and a bad one stops the run.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import logging
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tinyagent_ros.backends.base import Backend, SkillFailed
from tinyagent_ros.catalog import Access, Catalog, Skill
from tinyagent_ros.plan import Join, Plan, PlanError, Task, check_task, render_value, resolve_value

log = logging.getLogger(__name__)

PlanItem = Task | Join
PlanSource = Plan | Iterable[PlanItem] | AsyncIterable[PlanItem]

#: How long a cancel waits for running skills to stop before giving up on them.
DRAIN_TIMEOUT_S = 2.0


class Outcome(str, enum.Enum):
    """How a task ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


@dataclass
class StepResult:
    """The end state of one task; times are seconds since the run started."""

    idx: int
    name: str
    #: Resolved arguments once started, else the plan's literal arguments.
    args: list[Any]
    outcome: Outcome
    value: Any = None
    message: str = ""
    started: float | None = None
    ended: float | None = None

    @property
    def duration(self) -> float | None:
        """Seconds the skill ran, or None if it never started."""
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started

    def line(self) -> str:
        """One readable line: call, outcome, duration, result or reason."""
        text = f"{self.idx}. {_call_text(self.name, self.args)}"
        took = f" ({self.duration:.2f} s)" if self.duration is not None else ""
        if self.outcome is Outcome.SUCCEEDED:
            return f"{text} -> {_value_text(self.value)}{took}"
        text += f" {self.outcome.value.replace('_', ' ')}{took}"
        return f"{text}: {self.message}" if self.message else text


@dataclass(frozen=True)
class Event:
    """One state change of a run; ``t`` is seconds since the run started (monotonic clock)."""

    t: float
    kind: str
    task: int | None = None
    skill: str | None = None
    message: str = ""
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (values that JSON cannot hold become strings)."""
        return {
            "t": round(self.t, 6),
            "kind": self.kind,
            "task": self.task,
            "skill": self.skill,
            "message": self.message,
            "value": _json_safe(self.value),
        }


@dataclass
class ExecutionResult:
    """What a run did: per-task results, every event, and the answer for the user."""

    #: Every task succeeded and the plan had no error.
    success: bool
    results: dict[int, StepResult]
    events: list[Event]
    error: str | None
    makespan_s: float
    #: Values of the succeeded tasks no other task references: what join() returns.
    answer: list[Any]

    def summary(self) -> str:
        """One line per task, then the error if there was one."""
        lines = [self.results[idx].line() for idx in sorted(self.results)]
        if self.error:
            lines.append(f"error: {self.error}")
        return "\n".join(lines)


class Executor:
    """Execute plans on a backend, in parallel where the plan's DAG allows.

    One run at a time per executor; use one executor per concurrent command.
    """

    def __init__(
        self,
        catalog: Catalog,
        backend: Backend,
        *,
        on_event: Callable[[Event], None] | None = None,
        sequential: bool = False,
    ) -> None:
        if backend.catalog != catalog.name:
            raise ValueError(
                f"backend {backend.name!r} serves catalog {backend.catalog!r}, not {catalog.name!r}"
            )
        self.catalog = catalog
        self.backend = backend
        self.on_event = on_event
        self.sequential = sequential
        self._lock = threading.Lock()
        self._active: _Run | None = None

    async def run(self, plan_source: PlanSource) -> ExecutionResult:
        """Execute a plan, or a (sync or async) stream of tasks, and return what happened.

        A stream is validated item by item; a :class:`PlanError` (from the
        stream or from validation) stops the run: running tasks are cancelled
        and the error is in ``result.error``. A blocking iterator (not a list,
        tuple or Plan) is read in a worker thread so that a planner writing
        tokens does not stall the running skills. Any other exception from the
        source, or cancellation of this coroutine, cancels and drains the
        running skills, then propagates.
        """
        run = _Run(self.catalog, self.backend, self.on_event, self.sequential)
        with self._lock:
            if self._active is not None:
                raise RuntimeError("this executor is already running a plan; make one per run")
            self._active = run
        try:
            return await run.execute(plan_source)
        finally:
            with self._lock:
                self._active = None

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop every running and pending task of the current run; safe from any thread.

        Running skills are cancelled at once and the run returns as soon as
        they have stopped; all unfinished tasks end as ``cancelled`` with
        ``reason``. Without a current run this does nothing.
        """
        with self._lock:
            run = self._active
        if run is not None:
            run.cancel_threadsafe(reason)


class _Run:
    """The state of one execution; every method except cancel_threadsafe runs on its loop."""

    def __init__(
        self,
        catalog: Catalog,
        backend: Backend,
        on_event: Callable[[Event], None] | None,
        sequential: bool,
    ) -> None:
        self._catalog = catalog
        self._backend = backend
        self._on_event = on_event
        self._limit = 1 if sequential else math.inf
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._t0 = time.monotonic()
        self._stop: asyncio.Future[str] = self._loop.create_future()
        self._aborting = False
        self._joined = False
        self._arrival: asyncio.Task[PlanItem] | None = None
        self.tasks: dict[int, Task] = {}
        self._skills: dict[int, Skill] = {}
        self._args: dict[int, list[Any]] = {}
        self._started: dict[int, float] = {}
        self.results: dict[int, StepResult] = {}
        self._values: dict[int, Any] = {}
        self._referenced: set[int] = set()
        # Dependency bookkeeping: unsettled dependency counts and reverse edges.
        self._waiting_on: dict[int, int] = {}
        self._dependents: dict[int, list[int]] = {}
        self._ready: list[int] = []  # heap: plan order when sequential
        self._running: dict[asyncio.Task[tuple[Outcome, Any, str, float]], int] = {}
        # Timeouts: a timer per running task, and the tasks it cancelled.
        self._deadlines: dict[asyncio.Task[Any], asyncio.TimerHandle] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        # Resource edges, reader-writer style (see _resource_deps).
        self._last_exclusive: dict[str, int] = {}
        self._shared_since: dict[str, list[int]] = {}
        self.events: list[Event] = []

    # ------------------------------------------------------------ control

    def now(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self._t0

    def emit(
        self, kind: str, idx: int | None = None, message: str = "", value: Any = None
    ) -> None:
        """Record an event and pass it to the listener; a failing listener is logged, not fatal."""
        skill = self.tasks[idx].name if idx is not None else None
        event = Event(self.now(), kind, idx, skill, message, value)
        self.events.append(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("on_event listener failed on %s", kind)

    def cancel_threadsafe(self, reason: str) -> None:
        """Ask the run, from any thread, to cancel everything."""
        try:
            self._loop.call_soon_threadsafe(self._request_stop, reason)
        except RuntimeError:  # loop already closed: the run is over
            pass

    def _request_stop(self, reason: str) -> None:
        if not self._stop.done():
            self._stop.set_result(reason)

    async def execute(self, source: PlanSource) -> ExecutionResult:
        """Run the source to the end, a plan error or a cancel, and build the result."""
        items, stream = _split_source(source)
        error: str | None = None
        try:
            for item in items:  # a whole plan is validated before anything starts
                self._admit(item)
            if await self._drive(stream):
                error = self._stop.result()
                await self._abort(error)
        except PlanError as err:
            error = str(err)
            self.emit("plan_error", message=error)
            await self._abort(f"plan error: {err.reason}")
        except (asyncio.CancelledError, Exception):
            await self._abort("run interrupted")
            raise
        return self._finish(error)

    async def _drive(self, stream: AsyncIterator[PlanItem] | None) -> bool:
        """Dispatch and collect tasks until all are done; True if stopped by cancel."""
        self._arrival = _next_item(stream)
        while True:
            if self._stop.done():
                return True
            self._dispatch()
            if not self._running and self._arrival is None:
                return False
            waits: set[asyncio.Future[Any]] = {*self._running, self._stop}
            if self._arrival is not None:
                waits.add(self._arrival)
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for fut in done:
                if fut in self._running:
                    self._complete(fut)  # type: ignore[arg-type]
            if self._arrival is not None and self._arrival in done and not self._stop.done():
                arrival, self._arrival = self._arrival, None
                try:
                    item = arrival.result()
                except StopAsyncIteration:
                    continue
                self._admit(item)
                self._arrival = _next_item(stream)

    # ------------------------------------------------------------ arrival

    def _admit(self, item: PlanItem) -> None:
        """Validate a new item and link it into the DAG; raise PlanError if it is bad."""
        if self._joined:
            raise PlanError(f"{_describe_item(item)} after join()", getattr(item, "line", None))
        if isinstance(item, Join):
            self._joined = True
            return
        if not isinstance(item, Task):
            raise PlanError(f"not a plan item: {item!r}")
        if item.idx in self.tasks:
            raise PlanError(f"task number {item.idx} repeated", item.line)
        for ref in sorted(item.refs):
            if ref >= item.idx or ref not in self.tasks:
                raise PlanError(
                    f"task {item.idx} {item.name}: ${ref} refers to no earlier task", item.line
                )
        check_task(item, self._catalog)  # unknown skills never reach the backend
        skill = self._catalog[item.name]
        idx = item.idx
        self.tasks[idx] = item
        self._skills[idx] = skill
        self._referenced.update(item.refs)
        self.emit("task_received", idx, message=item.render())
        deps = item.refs | self._resource_deps(idx, skill)
        for dep in sorted(d for d in deps if d in self.results):
            if self.results[dep].outcome is not Outcome.SUCCEEDED:
                self._settle(idx, Outcome.SKIPPED, message=self._blocked_reason(dep))
                return
        pending = [d for d in deps if d not in self.results]
        self._waiting_on[idx] = len(pending)
        for dep in pending:
            self._dependents.setdefault(dep, []).append(idx)
        if not pending:
            heapq.heappush(self._ready, idx)

    def _resource_deps(self, idx: int, skill: Skill) -> set[int]:
        """Earlier tasks this one must wait for because of resources.

        Same ordering as an edge to every earlier conflicting task
        (``Skill.conflicts_with``), in O(resources): an exclusive user waits for
        the last exclusive user and the shared users since; a shared user waits
        for the last exclusive user. The rest follows transitively.
        """
        deps: set[int] = set()
        for res, access in skill.resources.items():
            last = self._last_exclusive.get(res)
            if last is not None:
                deps.add(last)
            if access is Access.EXCLUSIVE:
                deps.update(self._shared_since.pop(res, ()))
                self._last_exclusive[res] = idx
            else:
                self._shared_since.setdefault(res, []).append(idx)
        return deps

    # ------------------------------------------------------------ running

    def _dispatch(self) -> None:
        """Start ready tasks (lowest number first) while under the concurrency limit."""
        while self._ready and len(self._running) < self._limit:
            idx = heapq.heappop(self._ready)
            task, skill = self.tasks[idx], self._skills[idx]
            args = [resolve_value(a, self._values) for a in task.args]
            self._args[idx] = args
            self._started[idx] = self.now()
            self.emit("task_started", idx, message=_call_text(task.name, args), value=args)
            job = asyncio.create_task(self._call(idx, skill, args), name=f"task {idx} {task.name}")
            self._running[job] = idx
            self._deadlines[job] = self._loop.call_later(skill.timeout_s, self._expire, job)

    def _expire(self, job: asyncio.Task[Any]) -> None:
        """Cancel a skill that ran past its timeout; _complete records it as timed out."""
        self._expired.add(job)
        job.cancel()

    async def _call(
        self, idx: int, skill: Skill, args: list[Any]
    ) -> tuple[Outcome, Any, str, float]:
        """Run one skill on the backend; turn every failure into an outcome and a message."""

        def feedback(text: str) -> None:
            if threading.get_ident() == self._thread:
                self.emit("task_feedback", idx, str(text))
            else:
                self._loop.call_soon_threadsafe(self.emit, "task_feedback", idx, str(text))

        try:
            value = await self._backend.call(skill, args, feedback)
        except SkillFailed as err:
            return Outcome.FAILED, None, str(err) or "failed", self.now()
        except Exception as err:
            log.exception("backend %s crashed in task %d %s", self._backend.name, idx, skill.name)
            return Outcome.FAILED, None, f"internal error: {type(err).__name__}: {err}", self.now()
        return Outcome.SUCCEEDED, value, "", self.now()

    def _complete(self, job: asyncio.Task[tuple[Outcome, Any, str, float]]) -> None:
        """Record a finished asyncio task."""
        idx = self._running.pop(job)
        self._deadlines.pop(job).cancel()
        if job in self._expired:
            limit = self._skills[idx].timeout_s
            self._settle(idx, Outcome.TIMED_OUT, None, f"no result within {limit:g} s", self.now())
        elif job.cancelled():
            self._settle(idx, Outcome.CANCELLED, None, "cancelled by the backend", self.now())
        else:
            outcome, value, message, ended = job.result()
            self._settle(idx, outcome, value, message, ended)

    def _settle(
        self,
        idx: int,
        outcome: Outcome,
        value: Any = None,
        message: str = "",
        ended: float | None = None,
    ) -> None:
        """Record a task's end and release or skip its dependents (iteratively: chains are long)."""
        todo = deque([(idx, outcome, value, message, ended)])
        while todo:
            idx, outcome, value, message, ended = todo.popleft()
            if idx in self.results:
                continue
            task = self.tasks[idx]
            self.results[idx] = StepResult(
                idx,
                task.name,
                self._args.get(idx, list(task.args)),
                outcome,
                value,
                message,
                self._started.get(idx),
                ended,
            )
            self.emit(f"task_{outcome.value}", idx, message=message, value=value)
            dependents = self._dependents.pop(idx, ())
            if outcome is Outcome.SUCCEEDED:
                self._values[idx] = value
                for dep in dependents:
                    self._waiting_on[dep] -= 1
                    if self._waiting_on[dep] == 0:
                        heapq.heappush(self._ready, dep)
            elif not self._aborting:
                reason = self._blocked_reason(idx)
                todo.extend((dep, Outcome.SKIPPED, None, reason, None) for dep in dependents)

    def _blocked_reason(self, idx: int) -> str:
        """Why a dependent of task ``idx`` cannot run, naming the root cause."""
        res = self.results[idx]
        if res.outcome is Outcome.SKIPPED:
            return res.message
        text = f"task {idx} {res.name} {res.outcome.value.replace('_', ' ')}"
        return f"{text}: {res.message}" if res.message else text

    async def _abort(self, reason: str) -> None:
        """Cancel and drain every running task and the stream; end all others as cancelled."""
        self._aborting = True
        for timer in self._deadlines.values():
            timer.cancel()  # what follows is a cancel, not a timeout
        waits: list[asyncio.Future[Any]] = list(self._running)
        if self._arrival is not None:
            waits.append(self._arrival)
            self._arrival = None
        for fut in waits:
            fut.cancel()
        if waits:
            await asyncio.wait(waits, timeout=DRAIN_TIMEOUT_S)
        for job, idx in list(self._running.items()):
            if job.done() and not job.cancelled():
                self._complete(job)  # it finished before the cancel reached it
                continue
            if not job.done():
                log.warning("task %d ignored cancellation for %.1f s", idx, DRAIN_TIMEOUT_S)
            del self._running[job]
            self._settle(idx, Outcome.CANCELLED, message=reason, ended=self.now())
        for idx in sorted(self.tasks.keys() - self.results.keys()):
            self._settle(idx, Outcome.CANCELLED, message=reason)

    def _finish(self, error: str | None) -> ExecutionResult:
        """Build the result and emit run_finished."""
        counts: dict[str, int] = {}
        for res in self.results.values():
            counts[res.outcome.value] = counts.get(res.outcome.value, 0) + 1
        success = error is None and all(
            r.outcome is Outcome.SUCCEEDED for r in self.results.values()
        )
        tally = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no tasks"
        self.emit("run_finished", message=f"{tally}; {error}" if error else tally, value=success)
        answer = [
            self.results[i].value
            for i in sorted(self.results)
            if i not in self._referenced and self.results[i].outcome is Outcome.SUCCEEDED
        ]
        return ExecutionResult(
            success=success,
            results=dict(sorted(self.results.items())),
            events=self.events,
            error=error,
            makespan_s=self.now(),
            answer=answer,
        )


# ---------------------------------------------------------------- sources

_END = object()


def _split_source(source: PlanSource) -> tuple[list[PlanItem], AsyncIterator[PlanItem] | None]:
    """Items known now (a whole plan) or an async stream to read as it arrives."""
    if isinstance(source, Plan):
        return [*source.tasks, source.join], None
    if isinstance(source, list | tuple):
        return list(source), None
    if isinstance(source, AsyncIterable):
        return [], source.__aiter__()
    return [], _read_in_thread(iter(source))


async def _read_in_thread(items: Iterator[PlanItem]) -> AsyncIterator[PlanItem]:
    """Yield from a blocking iterator without blocking the event loop."""
    while True:
        item = await asyncio.to_thread(next, items, _END)
        if item is _END:
            return
        yield item


def _next_item(stream: AsyncIterator[PlanItem] | None) -> asyncio.Task[PlanItem] | None:
    """Start reading the stream's next item (None without a stream)."""
    if stream is None:
        return None

    async def pull() -> PlanItem:
        return await stream.__anext__()

    return asyncio.create_task(pull(), name="plan stream")


def _describe_item(item: Any) -> str:
    if isinstance(item, Task):
        return f"task {item.idx} {item.name}"
    return "join()" if isinstance(item, Join) else repr(item)


# ---------------------------------------------------------------- text


def _literal(value: Any) -> str:
    """A value written as a plan literal where possible (results may be anything)."""
    try:
        return render_value(value)
    except PlanError:
        return repr(value)


def _call_text(name: str, args: list[Any]) -> str:
    return f"{name}({', '.join(_literal(a) for a in args)})"


def _value_text(value: Any, width: int = 80) -> str:
    text = _literal(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return str(value)


def format_timeline(result: ExecutionResult, width: int = 60) -> str:
    """Draw a text Gantt chart: one row per task on a shared time axis."""
    rows = [result.results[i] for i in sorted(result.results)]
    ends = [r.ended for r in rows if r.ended is not None]
    span = max([result.makespan_s, *ends]) or 1e-9
    name_w = max([5, *(len(r.name) for r in rows)])
    lines = [f"{'#':>3}  {'skill':<{name_w}}  |{'-' * width}|"]
    for r in rows:
        bar = [" "] * width
        if r.started is not None:
            start = min(width - 1, int(r.started / span * width))
            end = r.ended if r.ended is not None else span
            stop = max(start + 1, min(width, round(end / span * width)))
            bar[start:stop] = "#" * (stop - start)
        took = f"{r.duration:.2f} s" if r.duration is not None else "-"
        lines.append(
            f"{r.idx:>3}  {r.name:<{name_w}}  |{''.join(bar)}| {r.outcome.value:<9}  {took}"
        )
    right = f"{span:.2f} s"
    lines.append(f"{'':>3}  {'':<{name_w}}   0 s{right:>{width - 2}}")
    return "\n".join(lines)
