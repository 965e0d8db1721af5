"""The ``tinyagent`` command line (contract section 6).

Every command exits non-zero with one line on stderr for bad input; set
``TINYAGENT_DEBUG=1`` to see the full traceback of an unexpected error.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from tinyagent_ros.bfcl import CATEGORIES as BFCL_CATEGORIES
from tinyagent_ros.bfcl import RELEVANCE as BFCL_RELEVANCE
from tinyagent_ros.catalog import CatalogError, load_catalog
from tinyagent_ros.dataset import DatasetError, check_cases, load_cases
from tinyagent_ros.plan import PlanError, parse_plan, render_value
from tinyagent_ros.planner import DEFAULT_EXAMPLES, TOOL_SELECTIONS, PlannerError, resolve_model

#: Errors caused by the user's input: reported in one line, exit code 2.
USER_ERRORS: tuple[type[Exception], ...] = (PlanError, CatalogError, DatasetError, PlannerError,
                                            click.UsageError)


def _emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise click.UsageError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise click.UsageError(f"{path} is not UTF-8 text") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinyagent_ros", prog_name="tinyagent")
def cli() -> None:
    """Offline robot agent: plan skill calls from a command and run them in parallel.

    \b
    Examples:
      tinyagent run --plan-text examples/plans/fetch_cup.txt
      tinyagent check --dataset test/data/gold_plans.jsonl
    """


@cli.command()
@click.option("--dataset", "dataset", required=True, type=click.Path(dir_okay=False),
              help="JSONL file of cases (contract section 5).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(dataset: str, as_json: bool) -> None:
    """Validate every gold plan of a dataset against its catalog.

    Prints ``OK N`` or one line per bad case, and exits 1 if any is bad.

    \b
    Example:
      tinyagent check --dataset test/data/gold_plans.jsonl
    """
    cases = load_cases(dataset)
    bad = check_cases(cases)
    if as_json:
        _emit_json({"cases": len(cases), "ok": len(cases) - len(bad),
                    "bad": [{"id": i, "error": e} for i, e in bad]})
    elif not bad:
        click.echo(f"OK {len(cases)}")
    else:
        for case_id, error in bad:
            click.echo(f"{case_id}: {error}")
    if bad:
        sys.exit(1)


def _format_event(event: Any) -> str | None:
    marks = {"task_started": ">", "task_succeeded": "ok", "task_failed": "FAIL",
             "task_timed_out": "TIMEOUT", "task_skipped": "skip", "task_cancelled": "cancel",
             "plan_error": "PLAN ERROR"}
    mark = marks.get(event.kind)
    if mark is None:
        return None
    who = f"{event.task} {event.skill}" if event.task is not None else ""
    tail = ""
    if event.kind == "task_succeeded":
        shown = event.value
        literal = isinstance(shown, str | int | float | list)
        tail = f" -> {render_value(shown) if literal else repr(shown)}"
    elif event.message:
        tail = f": {event.message}"
    return f"{event.t:7.2f}s  {mark:<7} {who}{tail}"


def _resolve_model(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        path = resolve_model(value)
    except PlannerError as err:
        raise click.BadParameter(str(err), ctx=ctx, param=param) from None
    if not path.is_file():
        raise click.BadParameter(f"planner model {str(path)!r} does not exist", ctx=ctx,
                                 param=param)
    return str(path)


def model_option(help_text: str = "Any GGUF planner model instead of the shipped one, or an "
                                  "installed planner's name: 0.5b (the shipped one, with its "
                                  "adapters) or 1.5b (`tinyagent models install planner-1.5b`)."
                 ) -> Any:
    """``--model PATH|NAME``: a GGUF file, or an installed planner's name (``1.5b``)."""
    return click.option("--model", "model", metavar="PATH|NAME", callback=_resolve_model,
                        help=help_text)


def planner_options(command):
    """Options that choose and configure the planner model (passed on as ``planner``)."""
    for option in reversed([
        model_option(),
        click.option("--adapter", type=click.Path(dir_okay=False, exists=True), default=None,
                     help="A LoRA adapter GGUF (default: the shipped one for the catalog, "
                          "with the shipped model)."),
        click.option("--no-adapter", is_flag=True, help="Run the model without any adapter."),
        click.option("--tools", type=click.Choice(TOOL_SELECTIONS), default="auto",
                     show_default=True,
                     help="Skills offered to the model: the ToolRAG classifier's pick, all, "
                          "or all listed with the pick enforced by the grammar (grammar); "
                          "auto: what the shipped adapter plans best with (robot, mac: grammar), "
                          "else classifier."),
        click.option("--examples", type=click.IntRange(0, 8), default=None,
                     help="Retrieved in-context examples per prompt (default: what the "
                          f"shipped adapter was measured best with, else {DEFAULT_EXAMPLES})."),
        click.option("--no-grammar", is_flag=True, help="Decode without the plan grammar."),
        click.option("--no-date-hints", is_flag=True,
                     help="Do not spell out what the command's dates and times resolve to."),
        click.option("--no-decline", is_flag=True,
                     help="Plan even a command the classifier finds no skill for, instead of "
                          "declining it."),
    ]):
        command = option(command)
    return command


def _make_planner(catalog: Any, model: str | None, adapter: str | None, no_adapter: bool,
                  tools: str, examples: int | None, no_grammar: bool,
                  no_date_hints: bool, no_decline: bool) -> Any:
    from tinyagent_ros.planner import PlannerSettings, build_planner, merge_hint

    if adapter and no_adapter:
        raise click.UsageError("--adapter and --no-adapter exclude each other")
    settings = PlannerSettings(model_path=Path(model) if model else None,
                               use_grammar=not no_grammar, date_hints=not no_date_hints)
    planner = build_planner(catalog, settings, tools=tools, examples=examples,
                            adapter=None if no_adapter else adapter or "default",
                            decline=not no_decline)
    hint = merge_hint(planner)
    if hint:
        click.echo(f"note: {hint}", err=True)
    return planner


def today_option(command):
    """``--today``: the date the planner is told is today."""
    return click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
                        help="The date the planner is told is today (mac catalog).")(command)


@cli.command()
@click.argument("query")
@click.option("--catalog", "catalog_name", default="robot", show_default=True,
              help="Catalog name (robot, mac) or a catalog YAML path.")
@planner_options
@today_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def plan(query: str, catalog_name: str, today: Any, as_json: bool, **planner: Any) -> None:
    """Write the plan for a command without executing it.

    \b
    Examples:
      tinyagent plan "bring me the red cup from the kitchen"
      tinyagent plan "email Dave the Q3 report" --catalog mac --json
    """
    catalog = load_catalog(catalog_name)
    outcome = _make_planner(catalog, **planner).plan(_check_query(query),
                                                     today=today.date() if today else None)
    if as_json:
        _emit_json({"query": query, "plan": outcome.text, "valid": outcome.error is None,
                    "error": outcome.error, "skills": list(outcome.prompt.callable),
                    "prompt_tokens": outcome.prompt_tokens, "latency_s": outcome.latency_s,
                    "first_task_s": outcome.first_task_s,
                    "declined": outcome.prompt.declines})
    else:
        click.echo(outcome.text.strip())
        if outcome.prompt.declines:
            from tinyagent_ros.agent import declined_reason

            click.echo(f"declined: {declined_reason(catalog.name)}", err=True)
    if outcome.error:
        raise PlanError(f"the planner wrote an invalid plan: {outcome.error}")


def _world_state(backend: Any) -> dict[str, Any] | None:
    """The simulated world after a run (simulated backends only)."""
    return backend.world.to_dict() if hasattr(backend, "world") else None


def _make_backend(name: str, catalog: Any, world: str, time_scale: float,
                  model: str | None = None) -> Any:
    from tinyagent_ros.backends import get_backend

    if name in ("sim", "mujoco"):
        if catalog.name != "robot":
            raise click.UsageError(f"the {name} backend runs the robot catalog; "
                                   "use --backend dry-run")
        try:
            return get_backend(name, world=world, time_scale=time_scale)
        except ValueError as err:
            raise click.UsageError(str(err)) from None
    if name == "macos":
        if catalog.name != "mac":
            raise click.UsageError("the macos backend runs the mac catalog; add --catalog mac")
        from tinyagent_ros.summarize import ModelSummarizer

        try:  # summarize_pdf: the base planner model (no adapter) writes the summary
            return get_backend("macos", summarize=ModelSummarizer(model))
        except ValueError as err:
            raise click.UsageError(str(err)) from None
    return get_backend("dry-run", catalog_name=catalog.name)


#: Longer commands are refused: nobody speaks a page to a robot, and the prompt must fit.
MAX_QUERY_CHARS = 1000


def _check_query(query: str) -> str:
    text = query.strip()
    if not text:
        raise click.UsageError("the command is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise click.UsageError(f"the command is {len(text)} characters; the limit is "
                               f"{MAX_QUERY_CHARS}")
    return text


@cli.command()
@click.argument("query", required=False)
@click.option("--plan-text", "plan_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Execute this plan file ('-' for stdin) instead of planning.")
@click.option("--catalog", "catalog_name", default="robot", show_default=True,
              help="Catalog name (robot, mac) or a catalog YAML path.")
@click.option("--backend", "backend_name",
              type=click.Choice(["sim", "mujoco", "dry-run", "macos"]), default=None,
              help="Where skills run: the simulated robot (default for robot), the same home "
                   "on MuJoCo physics, the Mac's apps (default for mac on macOS) or a dry run.")
@click.option("--world", default="home", show_default=True, help="Simulated world name or YAML.")
@click.option("--time-scale", default=1.0, show_default=True, type=click.FloatRange(min=0),
              help="Simulated durations are multiplied by this (0.01 = 100x faster).")
@click.option("--dag-png", type=click.Path(dir_okay=False), help="Draw the plan DAG here.")
@click.option("--timeline-png", type=click.Path(dir_okay=False), help="Draw the timeline here.")
@click.option("--frame-png", type=click.Path(dir_okay=False),
              help="With --backend mujoco: render the home from above after the run.")
@click.option("--replans", default=1, show_default=True, type=click.IntRange(0, 5),
              help="Times to replan after a failed task.")
@planner_options
@today_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event, then the result.")
def run(query: str | None, plan_file: str | None, catalog_name: str, backend_name: str | None,
        world: str, time_scale: float, dag_png: str | None, timeline_png: str | None,
        frame_png: str | None, replans: int, today: Any, as_json: bool, **planner: Any) -> None:
    """Plan a command (or take a plan file) and execute it, streaming each task.

    \b
    Examples:
      tinyagent run "bring me the red cup from the kitchen"
      tinyagent run --plan-text examples/plans/fetch_cup.txt --backend sim
      tinyagent run --plan-text plan.txt --time-scale 0.1 --timeline-png timeline.png
    """
    from tinyagent_ros.backends import default_backend
    from tinyagent_ros.executor import Executor, format_timeline

    if (plan_file is None) == (query is None):
        raise click.UsageError("give a QUERY or --plan-text FILE (one of them)")
    catalog = load_catalog(catalog_name)
    backend = _make_backend(backend_name or default_backend(catalog.name), catalog, world,
                            time_scale, planner.get("model"))
    plan = parse_plan(_read_text(plan_file), catalog) if plan_file else None
    if query is not None:
        query = _check_query(query)

    def on_event(event: Any) -> None:
        if as_json:
            _emit_json(event.to_dict())
        else:
            line = _format_event(event)
            if line:
                click.echo(line)

    if plan is not None:
        result = asyncio.run(Executor(catalog, backend, on_event=on_event).run(plan))
    else:
        from tinyagent_ros.agent import Agent

        agent = Agent(_make_planner(catalog, **planner), backend, max_replans=replans,
                      on_event=on_event,
                      on_plan_text=None if as_json else lambda t: click.echo(f"plan:\n{t}\n"))
        outcome = asyncio.run(agent.run(query, today=today.date() if today else None))
        if outcome.declined:
            if as_json:
                _emit_json({"success": False, "declined": outcome.declined,
                            "error": outcome.declined, "makespan_s": 0.0, "answer": [],
                            "tasks": [],
                            "world": _world_state(backend)})
            else:
                click.echo(f"declined: {outcome.declined}")
            sys.exit(1)
        result = outcome.result
        plan = parse_plan(outcome.plan_text, catalog, retarget=True) \
            if result.error is None else None
    if dag_png and plan is not None:
        from tinyagent_ros.viz import draw_dag

        draw_dag(plan, catalog, dag_png)
    if timeline_png:
        from tinyagent_ros.viz import draw_timeline

        draw_timeline(result, timeline_png)
    if frame_png:
        if not hasattr(backend, "render_png"):
            raise click.UsageError("--frame-png needs --backend mujoco")
        Path(frame_png).write_bytes(backend.render_png("overview", (800, 600)))
    world_state = _world_state(backend)
    if as_json:
        _emit_json({
            "success": result.success,
            "error": result.error,
            "makespan_s": result.makespan_s,
            "answer": result.answer,
            "tasks": [
                {"idx": s.idx, "skill": s.name, "args": s.args, "outcome": s.outcome.value,
                 "value": s.value, "message": s.message, "started": s.started, "ended": s.ended}
                for s in sorted(result.results.values(), key=lambda s: s.idx)
            ],
            "world": world_state,
        })
    else:
        click.echo("")
        click.echo(format_timeline(result))
        click.echo("")
        click.echo(result.summary())
        if world_state is not None:
            click.echo("\nworld state:")
            click.echo(json.dumps(world_state, indent=2, ensure_ascii=False))
    if not result.success:
        sys.exit(1)


@cli.command()
@click.option("--dataset", required=True, type=click.Path(dir_okay=False),
              help="JSONL file of cases (contract section 5).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N cases.")
@click.option("--tools-only", is_flag=True, help="Tool selection only, no model.")
@click.option("--topk", type=click.IntRange(1, 16), default=None,
              help="Select skills by embedding similarity (top K) instead of --tools.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None, help="ToolRAG classifier threshold (default: the model's, 0.5).")
@planner_options
@click.option("--out", "cases_out", type=click.Path(dir_okay=False), default=None,
              help="Write one JSON line per planned case (plan, gold, verdict) here.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object of metrics.")
def bench(dataset: str, limit: int | None, tools_only: bool, topk: int | None,
          threshold: float | None, cases_out: str | None, as_json: bool,
          **planner: Any) -> None:
    """Tool selection and planning on every case: success, recall, prompt size, latency.

    \b
    Examples:
      tinyagent bench --dataset test/data/natural_robot.jsonl
      tinyagent bench --dataset test/data/natural_mac.jsonl --tools-only --json
      tinyagent bench --dataset robot_test.jsonl --limit 100 --topk 5 --no-adapter
    """
    from tinyagent_ros.bench import BenchError, bench_main

    if planner["tools"] == "grammar" and (topk or tools_only):
        raise click.UsageError("--tools grammar plans with the classifier's pick; it goes "
                               "with neither --topk nor --tools-only")
    if threshold is not None and (topk or planner["tools"] == "all"):
        raise click.UsageError("--threshold is the classifier's; not with --topk or --tools all")

    def factory(catalog_name: str, selector: Any) -> Any:
        # the bench's selector picks the skills (passed per case, over any selector of the
        # planner's own); the planner keeps its example retriever and, for grammar or
        # auto, the way it lists skills
        tools = "all" if topk or planner["tools"] == "classifier" else planner["tools"]
        return _make_planner(load_catalog(catalog_name), **{**planner, "tools": tools})

    selector = "topk" if topk else "all" if planner["tools"] == "all" else "classifier"
    try:
        bench_main(dataset, tools_only=tools_only, limit=limit, as_json=as_json,
                   selector=selector, k=topk or 5, threshold=threshold,
                   planner_factory=factory, cases_out=cases_out)
    except BenchError as err:
        raise click.UsageError(str(err)) from None


@cli.command("bench-bfcl")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, exists=True),
              required=True, help="Folder with BFCL_v4_<category>.json and possible_answer/.")
@click.option("--category", type=click.Choice([*BFCL_CATEGORIES, "all"]), default="all",
              show_default=True, help="One non-live AST category, or all five.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Only the first N cases of each category.")
@model_option("Any GGUF planner model instead of the shipped one, or an installed planner's "
              "name (0.5b, 1.5b); no adapter unless --adapter.")
@click.option("--adapter", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A LoRA adapter GGUF, e.g. models/adapters/planner-0.5b-robot.gguf "
                   "(default: none, the base model).")
@click.option("--no-grammar", is_flag=True, help="Decode without the plan grammar.")
@click.option("--relevance", type=click.FloatRange(0, 1), default=BFCL_RELEVANCE,
              show_default=True,
              help="A question whose similarity to every function description stays below "
                   "this gets an empty plan (no call); 0 turns it off.")
@click.option("--keep-unstated", is_flag=True,
              help="Keep optional values the question never states in the calls (left out "
                   "by default: the function's default is what was asked for).")
@click.option("--out", "cases_out", type=click.Path(dir_okay=False), default=None,
              help="Write one JSON line per case (plan, calls, verdict) here.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object of metrics.")
def bench_bfcl(data_dir: str, category: str, limit: int | None, model: str | None,
               adapter: str | None, no_grammar: bool, relevance: float, keep_unstated: bool,
               cases_out: str | None, as_json: bool) -> None:
    """BFCL's non-live AST categories through the planner: each case's functions become a
    catalog, the plan becomes keyword calls, BFCL's AST rules score them.

    \b
    Examples:
      tinyagent bench-bfcl --data ../shared/bfcl --category simple_python --limit 50
      tinyagent bench-bfcl --data ../shared/bfcl --adapter models/adapters/planner-0.5b-robot.gguf
    """
    from dataclasses import asdict

    from tqdm import tqdm

    from tinyagent_ros.bfcl import BFCLError, load_category, run_bfcl, summarize
    from tinyagent_ros.catalog import Catalog
    from tinyagent_ros.planner import Planner, PlannerSettings, default_model_path

    try:
        cases = [c for cat in (BFCL_CATEGORIES if category == "all" else (category,))
                 for c in load_category(Path(data_dir), cat)[:limit]]
    except BFCLError as err:
        raise click.UsageError(str(err)) from None
    settings = PlannerSettings(model_path=Path(model) if model else None,
                               lora_path=Path(adapter) if adapter else None,
                               use_grammar=not no_grammar)
    planner = Planner(Catalog(name="bfcl", skills=()), settings)
    out = open(cases_out, "w", encoding="utf-8") if cases_out else None  # noqa: SIM115
    with tqdm(total=len(cases), desc="bfcl", unit="case", leave=False,
              disable=as_json) as bar:
        def progress(result: Any) -> None:
            bar.update()
            if out is not None:
                out.write(json.dumps(asdict(result), ensure_ascii=False, default=str) + "\n")

        try:
            results = run_bfcl(planner, cases, progress, relevance or None, keep_unstated)
        finally:
            if out is not None:
                out.close()
    metrics = summarize(results)
    metrics.update(model=str(planner.settings.model_path or default_model_path()),
                   adapter=str(adapter or "none"),
                   grammar=not no_grammar, relevance=relevance or None,
                   keep_unstated=keep_unstated)
    for cat, acc in metrics["accuracy"].items():
        click.echo(f"{cat:<18} {acc:6.1%}  ({metrics['cases_per_category'][cat]} cases)")
    click.echo(f"{'overall':<18} {metrics['overall']:6.1%}  (unweighted mean)   "
               f"latency p50 {metrics['latency_p50_s']:.2f} s")
    if as_json:
        click.echo(json.dumps(metrics))


@click.command("merge", short_help="Merge the shipped adapters into the planner model.")
@click.option("--catalog", type=click.Choice(["robot", "mac", "all"]), default="all",
              show_default=True)
@click.option("--force", is_flag=True, help="Merge again even if an up-to-date merge exists.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def merge_cmd(catalog: str, force: bool, quiet: bool) -> None:
    """Merge each shipped adapter into the planner model, for faster planning.

    Without torch: the weights an adapter touches are dequantised, the adapter
    is added and the sum stored as Q8_0 (about 600 MB per catalog, a minute or
    two). The planner then uses the merged model in place of base + adapter, as
    long as it was made from exactly the shipped base and adapter; an
    up-to-date merge is not made again.

    \b
    Example: tinyagent models merge --catalog robot
    """
    from tinyagent_ros.planner import merge_shipped, shipped_merged

    for name in ("robot", "mac") if catalog == "all" else (catalog,):
        done = None if force else shipped_merged(name)
        if done is not None:
            click.echo(f"{name}: up to date: {done}")
            continue
        try:
            report = merge_shipped(name, progress=not quiet)
        except PlannerError as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"{name}: merged {report.merged_tensors} tensors into {report.out} "
                   f"({report.size / 1e6:.0f} MB, {report.seconds:.0f} s)")


def _register_groups() -> None:
    from tinyagent_ros.asr import transcribe_cli
    from tinyagent_ros.datagen.cli import data
    from tinyagent_ros.models import models_cli
    from tinyagent_ros.toolrag import toolrag_cli
    from tinyagent_ros.training.cli import train_cli

    models_cli.add_command(merge_cmd)
    cli.add_command(models_cli, "models")
    cli.add_command(toolrag_cli, "toolrag")
    cli.add_command(transcribe_cli, "transcribe")
    cli.add_command(data, "data")
    cli.add_command(train_cli, "train")


_register_groups()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning errors into one line and a non-zero exit code."""
    try:
        cli.main(args=argv, prog_name="tinyagent", standalone_mode=False)
    except click.exceptions.Exit as stop:
        sys.exit(stop.exit_code)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except USER_ERRORS as err:
        msg = err.format_message() if isinstance(err, click.ClickException) else str(err)
        click.echo(f"error: {msg.splitlines()[0] if msg else type(err).__name__}", err=True)
        sys.exit(2)
    except click.ClickException as err:
        click.echo(f"error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)
    except Exception as err:  # noqa: BLE001 - the one place that turns bugs into one line
        if os.environ.get("TINYAGENT_DEBUG"):
            traceback.print_exc()
        click.echo(f"error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                   " (set TINYAGENT_DEBUG=1 for the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
