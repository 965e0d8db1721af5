"""Greedy grammar-constrained decoding that asks the grammar as little as it can.

llama.cpp's grammar sampler checks all 151k vocabulary entries against the
grammar at every step. Greedy decoding needs only the best token the grammar
allows: when the model's own first choice is allowed (nearly always, for a tuned
planner) that token is the answer, and the full check runs only when it is not.
The result is the same plan, token for token.

Text the plan format forces (a line's number, the rest of a skill name once its
start is unambiguous) is not sampled either: its tokens ride along with the next
evaluation, and the rest of ``join()<END_OF_PLAN>`` is written without asking the
model at all.
"""

from __future__ import annotations

import codecs
import ctypes
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tinyagent_ros.plan import END_OF_PLAN

_JOIN = f"join(){END_OF_PLAN}"


class DecodingError(RuntimeError):
    """The prompt cannot be decoded (grammar rejected by llama.cpp, context too small)."""


def forced_text(text: str, skill_names: Sequence[str]) -> str:
    """Plan text the grammar allows nothing but, from the end of ``text`` (the plan so far).

    A new line must begin ``N. ``; a call begun with a prefix of exactly one skill
    name (and not of ``join``) must go on with the rest of that name and ``(``; one
    begun with a prefix of ``join`` alone, with the rest of ``join()<END_OF_PLAN>``.
    """
    if not text or text.endswith("\n"):
        done = text.count("\n")
        return f"{done + 1}. "
    number, sep, rest = text.rsplit("\n", 1)[-1].partition(". ")
    if not sep or not number.isdigit() or not rest or "(" in rest:
        return ""
    names = [name for name in skill_names if name.startswith(rest)]
    ends = _JOIN.startswith(rest)
    if ends and not names:
        return _JOIN[len(rest):]
    if len(names) == 1 and not ends:
        return names[0][len(rest):] + "("
    return ""


class GrammarDecoder:
    """Streams one greedy, grammar-constrained completion from a loaded ``llama_cpp.Llama``.

    Reuses the evaluated prefix of the previous prompt (as ``create_completion``
    does), so a stable prompt prefix is not evaluated twice.
    """

    def __init__(self, llm: Any) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._llm = llm
        self._n_vocab = llm.n_vocab()
        self._ids = np.arange(self._n_vocab, dtype=np.intc)
        # One array for the full check, one single-entry array for the first choice.
        self._all = np.recarray((self._n_vocab,), dtype=np.dtype(
            [("id", np.intc), ("logit", np.single), ("p", np.single)], align=True))
        self._one = (llama_cpp.llama_token_data * 1)()

    def _grammar_sampler(self, gbnf: str) -> Any:
        sampler = self._lib.llama_sampler_init_grammar(
            self._llm._model.vocab, gbnf.encode("utf-8"), b"root")
        if not sampler:
            raise DecodingError("llama.cpp rejected the plan grammar")
        return sampler

    def _allowed(self, sampler: Any, token: int) -> bool:
        self._one[0].id, self._one[0].logit, self._one[0].p = token, 0.0, 0.0
        view = self._lib.llama_token_data_array(
            data=ctypes.cast(self._one, self._lib.llama_token_data_p),
            size=1, selected=-1, sorted=False)
        self._lib.llama_sampler_apply(sampler, ctypes.byref(view))
        return bool(np.isfinite(self._one[0].logit))

    def _best_allowed(self, sampler: Any, logits: np.ndarray) -> int:
        self._all.id[:] = self._ids
        self._all.logit[:] = logits
        self._all.p[:] = 0.0
        view = self._lib.llama_token_data_array(
            data=self._all.ctypes.data_as(self._lib.llama_token_data_p),
            size=self._n_vocab, selected=-1, sorted=False)
        self._lib.llama_sampler_apply(sampler, ctypes.byref(view))
        return int(np.argmax(self._all.logit))

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Keep the evaluated tokens the prompt begins with; return how many."""
        llm = self._llm
        if len(tokens) >= llm.n_ctx():
            raise DecodingError(
                f"prompt of {len(tokens)} tokens does not fit the context of {llm.n_ctx()}")
        cached = np.asarray(llm._input_ids[: llm.n_tokens])
        limit = min(len(cached), len(tokens) - 1)  # evaluate at least one token for logits
        diff = np.nonzero(cached[:limit] != np.asarray(tokens[:limit]))[0]
        keep = int(diff[0]) if len(diff) else limit
        if keep == 0 or not llm._ctx.kv_cache_seq_rm(-1, keep, -1):
            llm.reset()
            keep = 0
        llm.n_tokens = keep
        return keep

    def prefill(self, prompt: str) -> int:
        """Evaluate a prompt now, keeping what is already cached; returns its token count.

        :meth:`stream` yields forced text before it evaluates anything, so reading
        its first piece does not warm the cache: this does.
        """
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        pending = tokens[self._reuse_prefix(tokens):]
        if pending:
            self._llm.eval(pending)
        return len(tokens)

    def _forced_tokens(self, text: str) -> list[int]:
        """The tokens of forced text, less the last, which could merge with what follows."""
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)[:-1]

    def stream(self, prompt: str, gbnf: str, skill_names: Sequence[str], max_tokens: int,
               stop: threading.Event | None = None) -> Iterator[str]:
        """Yield the completion's text piece by piece until the grammar is complete.

        Forced tokens are not sampled: they join the next evaluation as one batch,
        which costs little more than the single sampled token they follow.
        """
        llm, lib = self._llm, self._lib

        def stopped() -> bool:
            return stop is not None and stop.is_set()

        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        sampler = self._grammar_sampler(gbnf)
        try:
            pending = tokens[self._reuse_prefix(tokens):]
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            vocab = llm._model.vocab
            text = ""
            for _ in range(max_tokens):
                forced = forced_text(text, skill_names)
                if forced.endswith(END_OF_PLAN):
                    yield forced
                    return
                for token in self._forced_tokens(forced) if forced else ():
                    if stopped():
                        return
                    if not self._allowed(sampler, token):
                        break
                    lib.llama_sampler_accept(sampler, token)
                    pending.append(token)
                    piece = decoder.decode(llm.detokenize([token]))
                    text += piece
                    yield piece
                if stopped() or llm.n_tokens + len(pending) >= llm.n_ctx():
                    return
                llm.eval(pending)
                logits = np.ctypeslib.as_array(
                    llm._ctx.get_logits_ith(-1), shape=(self._n_vocab,))
                token = int(np.argmax(logits))
                if not self._allowed(sampler, token):
                    token = self._best_allowed(sampler, logits)
                if lib.llama_vocab_is_eog(vocab, token):
                    return
                lib.llama_sampler_accept(sampler, token)
                pending = [token]
                piece = decoder.decode(llm.detokenize([token]))
                text += piece
                if piece:
                    yield piece
        finally:
            lib.llama_sampler_free(sampler)
