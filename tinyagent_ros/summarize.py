"""Summaries of long text (summarize_pdf) written by the local planner model, offline.

The planner's own llama.cpp instance is not used: it is busy streaming the rest
of a plan while the first tasks run, its KV cache holds the plan prompt that
the next command reuses, and its LoRA adapter is trained to write plans, not
prose. A second instance of the base GGUF (weights memory-mapped, so the
file's pages are shared) is loaded on the first summary and kept.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from tinyagent_ros.backends.base import SkillFailed

#: Context of the summariser; the document is cut to what fits beside the reply.
N_CTX = 2048
#: Longest summary, in tokens.
MAX_SUMMARY_TOKENS = 160

_INSTRUCTION = (
    "Summarize the document below in three or four plain sentences for a busy reader: "
    "what it is, its main points, and any dates, numbers or actions it asks for. "
    "Write only the summary."
)


class ModelSummarizer:
    """``summarize(text) -> str`` with the base planner GGUF (temperature 0)."""

    def __init__(self, model_path: str | os.PathLike[str] | None = None,
                 n_threads: int | None = None) -> None:
        #: A GGUF path or installed planner name (:func:`~tinyagent_ros.planner.resolve_model`).
        self.model_path = model_path
        self.n_threads = n_threads
        self._llm: Any = None
        self._chat: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        from tinyagent_ros.planner import (
            PlannerError,
            chat_formatter,
            quiet_llama_logs,
            resolve_model,
        )

        try:
            path = resolve_model(self.model_path)
        except PlannerError as err:
            raise SkillFailed(f"summarize_pdf: {err}") from None
        if not Path(path).is_file():
            raise SkillFailed(f"summarize_pdf: model not found: {path}")
        from llama_cpp import Llama

        quiet_llama_logs()
        self._llm = Llama(model_path=str(path), n_ctx=N_CTX, n_batch=512, verbose=False,
                          n_threads=self.n_threads or os.cpu_count())
        self._chat = chat_formatter(self._llm)

    def __call__(self, text: str) -> str:
        """A short summary of ``text``; blocks (run it in a thread)."""
        with self._lock:
            if self._llm is None:
                self._load()
            prompt = self._prompt(" ".join(text.split()))
            out = self._llm.create_completion(prompt, max_tokens=MAX_SUMMARY_TOKENS,
                                              temperature=0.0, top_k=1, repeat_penalty=1.1)
        summary = " ".join(out["choices"][0]["text"].split())
        if not summary:
            raise SkillFailed("summarize_pdf: the model wrote no summary")
        return summary

    def _prompt(self, text: str) -> str:
        """The chat prompt with as much of ``text`` as fits the context beside the reply."""
        def render(body: str) -> str:
            return self._chat([{"role": "user", "content": f"{_INSTRUCTION}\n\n{body}"}])

        budget = N_CTX - MAX_SUMMARY_TOKENS - 8
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=False)
        overhead = len(self._llm.tokenize(render("").encode("utf-8"), add_bos=False,
                                          special=True))
        keep = budget - overhead
        if len(tokens) > keep:
            cut = self._llm.detokenize(tokens[:keep]).decode("utf-8", errors="ignore")
            text = cut.rsplit(" ", 1)[0] + " ..."
        return render(text)
