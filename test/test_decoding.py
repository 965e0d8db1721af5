"""The planner's greedy grammar decoding against llama.cpp's own grammar sampler, real model."""

from __future__ import annotations

import threading

import pytest

from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.decoding import GrammarDecoder, forced_text
from tinyagent_ros.grammar import plan_grammar
from tinyagent_ros.planner import (
    Planner,
    PlannerError,
    PlannerSettings,
    build_planner,
    default_model_path,
)

ROBOT = load_catalog("robot")


@pytest.mark.parametrize("text, forced", [
    ("", "1. "),
    ("1. say(\"hi\")\n", "2. "),
    ("1. a()\n2. b()\n3. c()\n4. d()\n5. e()\n6. f()\n7. g()\n8. h()\n9. i()\n", "10. "),
    ("1. nav", "igate_to("),                       # one skill begins so
    ("1. say(\"hi\")\n2. j", "oin()<END_OF_PLAN>"),
    ("1. join", "()<END_OF_PLAN>"),
    ("1. s", ""),                                  # say or search
    ("1. ", ""),                                   # the model chooses the skill
    ("1. say(\"Hi. j", ""),                       # inside a string, not a new line
    ("1. navigate_to(\"x", ""),
])
def test_forced_text_is_what_the_grammar_allows_and_nothing_the_model_chooses(text, forced):
    assert forced_text(text, ["navigate_to", "say", "search", "take_photo"]) == forced


def test_nothing_is_forced_while_a_skill_and_join_share_the_prefix():
    assert forced_text("1. j", ["jump"]) == ""
    assert forced_text("1. ju", ["jump"]) == "mp("
    assert forced_text("1. jo", ["jump"]) == "in()<END_OF_PLAN>"
    assert forced_text("1. open", ["open", "open_door"]) == ""


@pytest.fixture(scope="module")
def planner():
    pytest.importorskip("llama_cpp")
    try:
        default_model_path()
    except PlannerError as err:
        pytest.skip(str(err))
    return Planner(ROBOT, PlannerSettings(n_threads=2))


@pytest.fixture(scope="module")
def tuned(planner):
    """The planner a user gets: ToolRAG and the shipped adapter (confident, so stable)."""
    return build_planner(ROBOT, PlannerSettings(n_threads=2))


def reference(planner: Planner, text: str, gbnf: str) -> str:
    """What llama.cpp's own grammar sampler writes, greedily."""
    from llama_cpp import LlamaGrammar

    planner.reset_cache()
    chunks = planner._llm.create_completion(
        text, max_tokens=planner.settings.max_tokens, temperature=0.0, top_k=1,
        repeat_penalty=1.0, stream=True, grammar=LlamaGrammar.from_string(gbnf, verbose=False))
    return "".join(chunk["choices"][0]["text"] for chunk in chunks)


@pytest.mark.llm
def test_same_plan_as_llama_cpps_grammar_sampler_even_when_the_model_strays(planner, monkeypatch):
    decoder = GrammarDecoder(planner._llm)
    full_checks: list[int] = []
    best = decoder._best_allowed
    monkeypatch.setattr(decoder, "_best_allowed",
                        lambda *a: full_checks.append(1) or best(*a))
    prompt = planner.prompt_for("where is emma? then take a picture of her")
    text = planner.render(prompt)
    # The prompt offers every skill but the grammar only two: the model's first
    # choice (locate_person) is refused and the full check must find the next best.
    for skills in (list(prompt.skills), ["say", "take_photo"]):
        gbnf = plan_grammar(ROBOT.subset(skills))
        planner.reset_cache()
        ours = "".join(decoder.stream(text, gbnf, skills, planner.settings.max_tokens))
        assert ours == reference(planner, text, gbnf)
        assert ours.endswith("join()<END_OF_PLAN>")
    assert full_checks, "the narrowed grammar never refused the model's first choice"


@pytest.mark.llm
def test_the_evaluated_prompt_is_reused_and_gives_the_same_plan(tuned, monkeypatch):
    prompt = tuned.prompt_for("go charge yourself")
    tuned.reset_cache()
    first = "".join(tuned.stream(prompt))
    batches: list[int] = []
    evaluate = tuned._llm.eval
    monkeypatch.setattr(tuned._llm, "eval", lambda tokens: batches.append(len(tokens))
                        or evaluate(tokens))
    again = "".join(tuned.stream(prompt))
    assert again == first == "1. dock()\n2. join()<END_OF_PLAN>"
    # only the prompt's last token (for fresh logits) and "1." are evaluated again
    assert batches[0] == 3, batches


@pytest.mark.llm
def test_stop_ends_the_stream_and_a_prompt_too_long_is_a_clear_error(planner):
    stop = threading.Event()
    pieces = planner.stream(planner.prompt_for("go to the kitchen and say hello"), stop)
    next(pieces)
    stop.set()
    assert list(pieces) == []
    small = Planner(ROBOT, PlannerSettings(n_ctx=256, n_threads=2))
    with pytest.raises(PlannerError, match="does not fit the context of 256"):
        list(small.stream(small.prompt_for("go to the kitchen")))
