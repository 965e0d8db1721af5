"""The LLM planner: a 4-bit GGUF model in llama.cpp writes the plan, token by token.

Decoding is greedy and, by default, constrained by a grammar generated from
the selected skills, so the model can only write calls that validate. Text
is streamed so the executor can start the first task before the plan ends.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from tinyagent_ros.catalog import Catalog
from tinyagent_ros.decoding import DecodingError, GrammarDecoder
from tinyagent_ros.grammar import DEFAULT_MAX_TASKS, plan_grammar
from tinyagent_ros.plan import END_OF_PLAN, Plan, PlanError, PlanLoopError, PlanParser
from tinyagent_ros.prompt import Example, Prompt, build_prompt


class PlannerError(RuntimeError):
    """The planner cannot run (model missing or unreadable); the message names the remedy."""


class ToolSelector(Protocol):
    """Picks the skills a command needs (ToolRAG)."""

    def select(self, query: str) -> list[str]:
        """Skill names for ``query``; never empty."""
        ...


class ActionGate(Protocol):
    """Tells a command that asks for something from small talk (the ToolRAG classifier)."""

    def needs_action(self, query: str) -> bool:
        """True when some skill is needed, so an empty plan would be a slip."""
        ...


class RelevanceGate(Protocol):
    """Tells a request that some skill could serve from one nothing in the catalog fits."""

    def relevant(self, query: str) -> bool:
        """False when no skill fits, so the plan must be empty rather than a wrong call."""
        ...


class ExampleRetriever(Protocol):
    """Finds in-context examples that use only the selected skills."""

    def retrieve(self, query: str, skills: list[str]) -> list[Example]:
        """The most similar examples whose skills all lie in ``skills``."""
        ...


@dataclass
class PlannerSettings:
    """How the planner model runs."""

    model_path: Path | None = None
    lora_path: Path | None = None
    n_ctx: int = 4096
    n_threads: int | None = None
    use_grammar: bool = True
    #: Spell out what the command's dates and times resolve to (catalogs with dates).
    date_hints: bool = True
    max_tokens: int = 512
    max_tasks: int = DEFAULT_MAX_TASKS
    seed: int = 0


@dataclass
class PlanOutcome:
    """One planning call: the text, the plan or the reason it is invalid, and its cost."""

    query: str
    prompt: Prompt
    text: str
    plan: Plan | None
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    first_task_s: float | None
    timings: dict[str, float] = field(default_factory=dict)
    #: Why a first plan was dropped and written again with every skill allowed.
    loop_error: str | None = None


_LOG_CALLBACK: Any = None


def quiet_llama_logs() -> None:
    """Keep llama.cpp's errors on stderr, drop its info and warnings.

    llama-cpp-python's own filter maps an older ggml level enum, so with
    ``verbose=False`` it still prints warnings about normal conditions (a LoRA
    tensor without a repacked buffer, the context of a vocab-only load).
    """
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import ctypes
    import sys

    import llama_cpp

    error, cont = 4, 5  # ggml_log_level: NONE, DEBUG, INFO, WARN, ERROR, CONT
    last = [0]

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        last[0] = last[0] if level == cont else level
        if last[0] == error:
            sys.stderr.write(text.decode("utf-8", errors="replace"))

    _LOG_CALLBACK = callback  # the C side keeps only a pointer
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


#: The planner asset the shipped adapters were trained on.
SHIPPED_MODEL = "planner-0.5b"
#: Environment variable naming another planner model (a path or a model name).
PLANNER_MODEL_ENV = "TINYAGENT_PLANNER_MODEL"


def shipped_model_path() -> Path:
    """The installed shipped planner (the base of the shipped adapters)."""
    from tinyagent_ros.models import ModelError, model_path

    try:
        return model_path(SHIPPED_MODEL)
    except ModelError as err:
        raise PlannerError(str(err)) from None


def default_model_path() -> Path:
    """The shipped planner GGUF, or the one ``TINYAGENT_PLANNER_MODEL`` names (path or name)."""
    env = os.environ.get(PLANNER_MODEL_ENV, "").strip()
    return resolve_model(env) if env else shipped_model_path()


def resolve_model(spec: str | os.PathLike[str] | None) -> Path:
    """The GGUF a ``--model`` value / node parameter means: a path, or a model's name.

    ``None`` or ``""``: :func:`default_model_path`. A file or path-like text
    (``/``, ``~``, ``.gguf``): taken as given. Otherwise an installed planner of
    config/models.yaml, with or without its ``planner-`` prefix (``1.5b``,
    ``planner-1.5b``).
    """
    from tinyagent_ros.models import ModelError, resolve_spec

    if spec is None or not os.fspath(spec).strip():
        return default_model_path()
    try:
        return resolve_spec(os.fspath(spec), kind="gguf", prefix="planner-", suffix=".gguf",
                            what="planner model")
    except ModelError as err:
        raise PlannerError(str(err)) from None


def is_shipped_model(path: Path | None) -> bool:
    """Whether ``path`` (None: the default) is the shipped planner the adapters fit."""
    try:
        chosen = path or default_model_path()
        return chosen.resolve() == shipped_model_path().resolve()
    except (PlannerError, OSError):
        return path is None and not os.environ.get(PLANNER_MODEL_ENV, "").strip()


#: Retrieved in-context examples per prompt without a shipped adapter: the base model's
#: largest single gain measured (docs/planner.md). A shipped adapter's entry in
#: adapters.json may say otherwise (``examples``).
DEFAULT_EXAMPLES = 3

#: What the model is offered: the classifier's pick, every skill, or every skill listed
#: with the classifier's pick enforced by the grammar (:func:`build_planner`); ``auto``
#: is what the adapter in use plans best with (:func:`default_tools`).
TOOL_SELECTIONS = ("auto", "classifier", "all", "grammar")

#: LoRA adapters trained here for the default base model, one per catalog, listed with
#: their sha256 in ``models/adapters/adapters.json`` (docs/training.md says how they were made).
ADAPTERS_DIR = ("models", "adapters")


def _adapter_entry(catalog_name: str) -> tuple[Path, dict[str, Any]] | None:
    """The shipped adapters index and this catalog's entry in it, if any."""
    import json

    from tinyagent_ros.paths import share_path

    index = share_path(*ADAPTERS_DIR, "adapters.json")
    if not index.is_file():
        return None
    try:
        entry = json.loads(index.read_text(encoding="utf-8")).get(catalog_name)
    except (OSError, ValueError) as err:
        raise PlannerError(f"{index}: unreadable ({err})") from None
    return None if entry is None else (index, entry)


def default_examples(catalog_name: str, with_shipped_adapter: bool) -> int:
    """Retrieved examples per prompt: what the shipped adapter was measured best with, else 3.

    An adapter trained without examples can do better without them (and the
    prompt is shorter); the base model needs them.
    """
    found = _adapter_entry(catalog_name) if with_shipped_adapter else None
    return int(found[1].get("examples", DEFAULT_EXAMPLES)) if found else DEFAULT_EXAMPLES


def default_tools(catalog_name: str, adapter: Path | None) -> str:
    """The tool selection an adapter plans best with: its ``tools`` in adapters.json when it
    is the catalog's shipped adapter (by sha256), else ``classifier``.

    An adapter trained on prompts that list every skill plans better with ``grammar`` (the
    prompt it knows, the classifier's pick enforced by the grammar) and, its prompt being
    the same for every command, faster.
    """
    found = _adapter_entry(catalog_name)
    if found is None or adapter is None or "tools" not in found[1]:
        return "classifier"
    try:
        digest = _adapter_sha256(Path(adapter))
    except OSError:
        return "classifier"
    return str(found[1]["tools"]) if digest == found[1]["sha256"] else "classifier"


def _adapter_sha256(path: Path) -> str:
    """sha256 of an adapter file, hashed once per version of the file (``build_planner``
    checks the shipped adapter, then asks :func:`default_tools` about the same file).
    """
    stat = path.stat()
    return _sha256_of(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256_of(path: Path, size: int, mtime_ns: int) -> str:
    from tinyagent_ros.encoder import file_sha256

    return file_sha256(path)


def shipped_adapter(catalog_name: str) -> Path | None:
    """The shipped adapter for a catalog, sha256-checked; None when there is none."""
    found = _adapter_entry(catalog_name)
    if found is None:
        return None
    index, entry = found
    path = index.parent / entry["file"]
    try:
        digest = _adapter_sha256(path)
    except OSError as err:
        raise PlannerError(f"shipped adapter {path}: {err.strerror}") from None
    if digest != entry["sha256"]:
        raise PlannerError(f"shipped adapter {path} is corrupt: sha256 {digest[:12]}... "
                           f"differs from {entry['sha256'][:12]}... in {index}")
    return path


def merged_path(catalog_name: str) -> Path:
    """Where ``tinyagent models merge`` writes the shipped adapter merged into the base."""
    from tinyagent_ros.models import models_dir

    return models_dir() / "merged" / f"{SHIPPED_MODEL}-{catalog_name}-q8_0.gguf"


def shipped_merged(catalog_name: str) -> Path | None:
    """The merged model of the catalog's shipped adapter, if made for exactly that adapter."""
    from tinyagent_ros.lora_merge import merged_model

    found = _adapter_entry(catalog_name)
    base_sha = (found[1].get("base") or {}).get("sha256") if found else None
    if found is None or not base_sha:
        return None
    return merged_model(merged_path(catalog_name), base_sha, found[1]["sha256"])


def merge_hint(planner: Planner) -> str | None:
    """A line for a planner running its catalog's shipped adapter unmerged while no merge
    exists: merged, the same adapter plans 2-3x faster, and for mac more plans right
    (docs/planner.md). With a merge made, an adapter given by path is the user's choice.
    """
    lora = planner.settings.lora_path
    name = planner.catalog.name
    try:
        shipped = shipped_adapter(name) if lora is not None else None
    except PlannerError:
        return None
    if shipped is None or Path(lora).resolve() != shipped.resolve() or shipped_merged(name):
        return None
    return (f"the shipped {name} adapter runs unmerged: `tinyagent models merge --catalog "
            f"{name}` (once, about 600 MB) makes planning 2-3x faster")


def merge_shipped(catalog_name: str, progress: bool = True) -> Any:
    """Merge the catalog's shipped adapter into the default base (:mod:`lora_merge`)."""
    from tinyagent_ros.lora_merge import MergeError, merge_lora

    adapter = shipped_adapter(catalog_name)
    found = _adapter_entry(catalog_name)
    if adapter is None or found is None:
        raise PlannerError(f"no shipped adapter for the {catalog_name} catalog")
    want = (found[1].get("base") or {}).get("sha256")
    if not want:
        raise PlannerError(f"adapters.json names no base sha256 for the {catalog_name} "
                           "adapter; nothing to merge it into")
    try:
        return merge_lora(shipped_model_path(), adapter, merged_path(catalog_name),
                          progress=progress, base_sha256=want)
    except MergeError as err:
        raise PlannerError(str(err)) from None


def build_planner(
    catalog: Catalog,
    settings: PlannerSettings | None = None,
    *,
    tools: str = "auto",
    examples: int | None = None,
    adapter: str | Path | None = "default",
    decline: bool = True,
) -> Planner:
    """The planner a user gets: ToolRAG picks the skills, the shipped adapter tunes the model.

    ``tools``: ``classifier`` (the shipped ToolRAG model of the catalog; every skill
    for a catalog without one), ``all``, or ``grammar``: the prompt lists every
    skill, so it is the same for every command and llama.cpp keeps all of it
    evaluated, and the grammar lets the model call only the classifier's pick;
    ``auto``: what the adapter plans best with (:func:`default_tools`).
    ``examples``: retrieved in-context examples per prompt; None:
    :func:`default_examples`. ``adapter``: ``"default"`` (the
    shipped adapter of the catalog when the model is the default one), None (no
    adapter) or a GGUF path; with ``"default"``, a merged model made by ``tinyagent
    models merge`` from that very adapter is used in its place. For the shipped
    catalogs the classifier also gates empty plans: a command it finds a skill for
    gets at least one task, small talk may still get none. ``decline``: a command
    the classifier finds no skill for (under its ``decline_below``) gets the empty
    plan without the model, so the agent declines it instead of acting.
    """
    settings = settings or PlannerSettings()
    shipped = None
    if adapter == "default":
        shipped_model = is_shipped_model(settings.model_path)
        adapter = shipped = shipped_adapter(catalog.name) if shipped_model else None
    if examples is None:
        examples = default_examples(catalog.name, shipped is not None)
    settings = replace(settings, lora_path=Path(adapter) if adapter else None)
    if tools == "auto":
        tools = default_tools(catalog.name, settings.lora_path)
    merged = shipped_merged(catalog.name) if shipped is not None else None
    if merged is not None:
        settings = replace(settings, model_path=merged, lora_path=None)
    selector = retriever = gate = None
    if tools not in TOOL_SELECTIONS:
        raise PlannerError(f"unknown tool selection {tools!r}; use {', '.join(TOOL_SELECTIONS)}")
    if tools == "grammar" and not settings.use_grammar:
        raise PlannerError("tool selection 'grammar' works through the plan grammar; "
                           "it cannot be used without it")
    if catalog.name in ("robot", "mac"):
        from tinyagent_ros.retrieval import ExampleRetriever as Store
        from tinyagent_ros.retrieval import RetrievalError
        from tinyagent_ros.toolrag import ToolClassifier, ToolRAGError

        try:
            gate = ToolClassifier.load(catalog.name)
            if tools != "all":
                selector = gate
            if examples > 0:
                retriever = Store.load(catalog.name, k=examples)
        except (ToolRAGError, RetrievalError) as err:
            raise PlannerError(str(err)) from None
    relevance = gate if decline and gate is not None and gate.declines else None
    return Planner(catalog, settings, selector=selector, retriever=retriever, gate=gate,
                   list_all=tools == "grammar", relevance=relevance)


class Planner:
    """Writes LLMCompiler plans for commands with a local GGUF model."""

    def __init__(
        self,
        catalog: Catalog,
        settings: PlannerSettings | None = None,
        selector: ToolSelector | None = None,
        retriever: ExampleRetriever | None = None,
        gate: ActionGate | None = None,
        list_all: bool = False,
        relevance: RelevanceGate | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings or PlannerSettings()
        self.selector = selector
        self.retriever = retriever
        #: Says whether a command asks for something; then the plan may not be empty.
        self.gate = gate
        #: List every skill in the prompt; the selection then only narrows the grammar.
        self.list_all = list_all
        #: Says whether any skill fits a request; when none does, the grammar allows only join().
        self.relevance = relevance
        self._lock = threading.Lock()
        self._grammars: dict[tuple[tuple[str, ...], bool], str] = {}
        self._llm = self._load()
        self._decoder = GrammarDecoder(self._llm)
        self._chat = chat_formatter(self._llm)

    def for_catalog(self, catalog: Catalog, relevance: RelevanceGate | None = None) -> Planner:
        """A planner for another catalog (all its skills, no examples) sharing this model."""
        other = copy.copy(self)
        other.catalog, other.selector, other.retriever, other.gate = catalog, None, None, None
        other.relevance = relevance
        other._grammars = {}
        return other

    def _load(self) -> Any:
        path = self.settings.model_path or default_model_path()
        if not Path(path).is_file():
            raise PlannerError(f"planner model not found: {path}")
        if self.settings.lora_path is not None and not Path(self.settings.lora_path).is_file():
            raise PlannerError(f"planner adapter not found: {self.settings.lora_path}")
        try:
            from llama_cpp import Llama
        except ImportError as err:
            raise PlannerError(f"llama-cpp-python is not installed ({err})") from None
        quiet_llama_logs()
        try:
            return Llama(
                model_path=str(path),
                lora_path=str(self.settings.lora_path) if self.settings.lora_path else None,
                n_ctx=self.settings.n_ctx,
                n_threads=self.settings.n_threads or os.cpu_count(),
                n_batch=512,
                seed=self.settings.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as err:
            raise PlannerError(f"cannot load planner model {path}: {err}") from None

    # ------------------------------------------------------------ prompt

    def select_skills(self, query: str) -> list[str]:
        """The skills offered to the model for this command (all when no selector is set)."""
        if self.selector is None:
            return list(self.catalog.names)
        chosen = set(self.selector.select(query))
        return [n for n in self.catalog.names if n in chosen] or list(self.catalog.names)

    def prompt_for(
        self, query: str, today: dt.date | None = None, skills: list[str] | None = None
    ) -> Prompt:
        """The prompt for a command: selected skills, retrieved examples, the date for mac."""
        skills = skills if skills is not None else self.select_skills(query)
        examples = self.retriever.retrieve(query, skills) if self.retriever else []
        if today is None and self.catalog.name == "mac":
            today = dt.date.today()
        listed = list(self.catalog.names) if self.list_all else skills
        prompt = build_prompt(self.catalog, query, listed, examples, today,
                              self.settings.date_hints)
        if self.list_all and set(skills) != set(listed):
            prompt = replace(prompt, allowed=tuple(n for n in listed if n in skills))
        if self.gate is not None and self.gate.needs_action(query):
            prompt = replace(prompt, must_act=True)
        if self.relevance is not None and not self.relevance.relevant(query):
            prompt = replace(prompt, allowed=())
        return prompt

    @staticmethod
    def widened(prompt: Prompt) -> Prompt:
        """``prompt`` with every listed skill callable: the retry after a loop.

        A loop most often means the grammar refused the skill the model wanted
        (ToolRAG missed it); in ``grammar`` mode every skill is listed already,
        so the retry costs no new prompt. Unchanged when the pick is the listing.
        """
        return replace(prompt, allowed=None) if prompt.allowed else prompt

    def render(self, prompt: Prompt, previous: str | None = None) -> str:
        """The prompt as the model's chat template writes it, ending where the plan begins."""
        messages = prompt.messages()
        if previous:
            messages[-1] = {"role": "user", "content": f"{prompt.user}\n{previous}"}
        return self._chat(messages)

    def warm_up(self, query: str = "Hello") -> int:
        """Evaluate the prompt for ``query`` now, so the instructions and rules every later
        prompt begins with are cached before the first command; returns its token count.
        """
        prompt = self.prompt_for(query)
        if prompt.declines:  # declined prompts never reach the model: warm it anyway
            prompt = replace(prompt, allowed=None)
        with self._lock:
            return self._decoder.prefill(self.render(prompt))

    def reset_cache(self) -> None:
        """Forget the evaluated prompt, so the next one is evaluated in full (benchmarks)."""
        with self._lock:
            self._llm.reset()

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` under the planner model's tokenizer."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _grammar(self, skills: tuple[str, ...], must_act: bool) -> str:
        key = (skills, must_act)
        if key not in self._grammars:
            self._grammars[key] = plan_grammar(self.catalog.subset(list(skills)),
                                               self.settings.max_tasks, must_act)
        return self._grammars[key]

    # ------------------------------------------------------------ generation

    def stream(
        self, prompt: Prompt, stop: threading.Event | None = None, previous: str | None = None
    ) -> Iterator[str]:
        """Yield plan text as the model writes it; stop early when ``stop`` is set."""
        if prompt.declines:
            yield f"1. join(){END_OF_PLAN}"
            return
        text = self.render(prompt, previous)
        with self._lock:
            if self.settings.use_grammar:
                pieces = self._decoder.stream(
                    text, self._grammar(prompt.callable, prompt.must_act), prompt.callable,
                    self.settings.max_tokens, stop)
            else:
                pieces = self._free_stream(text, stop)
            try:
                yield from pieces
            except DecodingError as err:
                raise PlannerError(str(err)) from None
            finally:
                pieces.close()

    def _free_stream(self, text: str, stop: threading.Event | None) -> Iterator[str]:
        """Unconstrained greedy decoding, stopped at the end marker (``--no-grammar``)."""
        chunks = self._llm.create_completion(
            text,
            max_tokens=self.settings.max_tokens,
            temperature=0.0,
            top_k=1,
            repeat_penalty=1.0,
            stream=True,
            stop=[END_OF_PLAN, "<|im_end|>", "<|endoftext|>"],
        )
        try:
            for chunk in chunks:
                if stop is not None and stop.is_set():
                    return
                piece = chunk["choices"][0]["text"]
                if piece:
                    yield piece
        finally:
            chunks.close()
        yield END_OF_PLAN  # the stop string is swallowed by llama.cpp

    def _write(self, prompt: Prompt, previous: str | None, start: float
               ) -> tuple[str, Plan | None, PlanError | None, float | None]:
        """Decode one plan to its end: text, plan or error, first task's time since ``start``."""
        parser = PlanParser(self.catalog, retarget=True, stop_loops=True)
        parts: list[str] = []
        first_task: float | None = None
        pieces = self.stream(prompt, previous=previous)
        try:
            for piece in pieces:
                parts.append(piece)
                if parser.feed(piece) and first_task is None:
                    first_task = time.perf_counter() - start
            return "".join(parts), parser.finish(), None, first_task
        except PlanError as err:
            return "".join(parts), None, err, first_task
        finally:
            pieces.close()  # releases the model now, for the retry

    def plan(self, query: str, today: dt.date | None = None, skills: list[str] | None = None,
             previous: str | None = None) -> PlanOutcome:
        """Plan a command to the end and validate it (no execution).

        A plan that loops is written once more with every listed skill allowed.
        """
        start = time.perf_counter()
        prompt = self.prompt_for(query, today, skills)
        t_prompt = time.perf_counter()
        text, plan, error, first_task = self._write(prompt, previous, start)
        loop_error: str | None = None
        wider = self.widened(prompt)
        if isinstance(error, PlanLoopError) and wider != prompt:
            loop_error, prompt = str(error), wider
            text, plan, error, first_task = self._write(prompt, previous, start)
        end = time.perf_counter()
        return PlanOutcome(
            query=query,
            prompt=prompt,
            text=text,
            plan=plan,
            error=None if error is None else str(error),
            prompt_tokens=self.count_tokens(self.render(prompt, previous)),
            completion_tokens=self.count_tokens(text),
            latency_s=end - start,
            first_task_s=first_task,
            timings={"select_s": t_prompt - start, "generate_s": end - t_prompt},
            loop_error=loop_error,
        )


def chat_formatter(llm: Any) -> Callable[[list[dict[str, str]]], str]:
    """The GGUF's own chat template, compiled once, rendering messages with the reply open.

    Falls back to ChatML when the file has no template.
    """
    template = (getattr(llm, "metadata", None) or {}).get("tokenizer.chat_template")
    if not template:
        def chatml(messages: list[dict[str, str]]) -> str:
            body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n"
                           for m in messages)
            return body + "<|im_start|>assistant\n"

        return chatml

    def piece(token: int) -> str:
        if token < 0:
            return ""
        return llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

    formatter = _jinja_formatter(template, piece(llm.token_eos()), piece(llm.token_bos()))
    return lambda messages: formatter(messages=messages).prompt


@functools.lru_cache(maxsize=8)
def _jinja_formatter(template: str, eos: str, bos: str) -> Any:
    """Compiling a chat template takes ~15 ms: once per template, not once per training example."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)


def format_chat(llm: Any, messages: list[dict[str, str]]) -> str:
    """Render messages with the model's chat template (hold a :func:`chat_formatter` for many)."""
    return chat_formatter(llm)(messages)
