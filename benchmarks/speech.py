"""Speech benchmark (issue 6): speak hand-written commands, transcribe them, plan them.

    python benchmarks/speech.py                          # 60 commands, robot + mac, with plans
    python benchmarks/speech.py --no-plan --limit 12     # speech only (no LLM)
    python benchmarks/speech.py --no-plan --whisper-model base   # the optional base model
    python benchmarks/speech.py --dataset test/data/natural_robot.jsonl --json --out speech.jsonl

Each command of the hand-written natural sets (by default both, taken in turn, ``--limit``
in total) is spoken by espeak-ng into a temporary WAV, cycling through several voices
(``--voices``) and speeds (``--speeds``, words per minute); three commands in every nine are
mixed with white noise at ``--snr`` dB (speech power over the whole clip against noise
power; numpy, seeded, so the runs repeat). Every WAV is then transcribed by
:class:`tinyagent_ros.asr.Transcriber` (the installed whisper tiny.en unless
``--whisper-model``, a ggml file or an installed model's name such as ``base``;
``--threads`` whisper threads; one untimed warm-up first).

What the numbers mean:

* **WER**: corpus word error rate, the substitutions, deletions and insertions of all
  transcripts divided by the words of all their references, after
  :func:`tinyagent_ros.asr.normalize_words` (lower case, no punctuation, spelled numbers
  as digits on both sides, so "three" and "3" agree). Target: <= 10 % clean.
* **RTF**: real-time factor, whisper's wall time over the clip's duration (below 1 is
  faster than real time), p50 and mean. Target: <= 0.3 with tiny.en on 2 cores.
* **DAG text / DAG speech** (unless ``--no-plan``): the share of commands whose plan from
  the default planner (:func:`tinyagent_ros.planner.build_planner`: ToolRAG, shipped
  adapter, retrieved examples) has the gold plan's DAG
  (:func:`tinyagent_ros.dag.dag_success`), planning the original text and the transcript.
  **Drop** is text minus speech in points. Target: <= 5 points.

The table has one row for all commands, clean and noisy ones, each voice and each speed;
under it, the five transcripts with the highest word error rate.
``--json`` ends the output with one JSON object; ``--out FILE`` writes one JSON line per
command (text, transcript, voice, speed, noisy, wer, rtf, dag_text, dag_speech, ...).
Needs espeak-ng (``apt-get install espeak-ng sox``) and the whisper model
(``tinyagent models install``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from tqdm import tqdm

from tinyagent_ros.asr import ASRError, Transcriber, load_audio, word_errors
from tinyagent_ros.dataset import Case, DatasetError, load_cases

DATASETS = ("test/data/natural_robot.jsonl", "test/data/natural_mac.jsonl")
VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp", "en+m3")
SPEEDS = (140, 170, 200)


@dataclass
class Result:
    """One spoken command: how it was spoken, what whisper heard, and the plans' verdicts."""

    id: str
    catalog: str
    text: str
    voice: str
    speed: int
    noisy: bool
    transcript: str = ""
    errors: int = 0
    words: int = 0
    wer: float = 0.0
    audio_s: float = 0.0
    rtf: float = 0.0
    dag_text: bool | None = None
    dag_speech: bool | None = None


def fail(message: str) -> NoReturn:
    """Exit with a one-line error."""
    sys.exit(f"speech.py: {message}")


def pick_cases(datasets: Sequence[str], limit: int) -> list[Case]:
    """Up to ``limit`` cases, taken from the datasets in turn (so each is represented)."""
    try:
        pools = [load_cases(path) for path in datasets]
    except DatasetError as err:
        fail(str(err))
    picked: list[Case] = []
    for i in range(max(len(p) for p in pools)):
        for pool in pools:
            if i < len(pool) and len(picked) < limit:
                picked.append(pool[i])
    return picked


def condition(i: int, voices: Sequence[str], speeds: Sequence[int]) -> tuple[str, int, bool]:
    """Voice, speed and noise of the i-th command.

    Speed cycles with ``i``, noise is on for three commands in every nine (so each speed
    is noisy equally often), and the voice cycles independently of both.
    """
    return voices[i % len(voices)], speeds[i % len(speeds)], (i // len(speeds)) % 3 == 1


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write float samples in [-1, 1] as a 16-bit mono WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def speak(text: str, voice: str, speed: int, path: Path) -> None:
    """Synthesise ``text`` with espeak-ng into ``path`` (text on stdin, so no option parsing)."""
    proc = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path),
                           "--stdin"], input=text, text=True, capture_output=True, check=False)
    if proc.returncode != 0 or not path.is_file():
        fail(f"espeak-ng failed for voice {voice}: {proc.stderr.strip() or proc.returncode}")


def add_noise(path: Path, snr_db: float, rng: np.random.Generator) -> None:
    """Mix white noise into a WAV in place, at ``snr_db`` against the clip's mean power."""
    audio = load_audio(path)
    speech = audio.samples.mean(axis=1).astype(np.float64)
    power = float(np.mean(speech**2)) if speech.size else 0.0
    noise = rng.standard_normal(speech.size) * np.sqrt(power / 10.0 ** (snr_db / 10.0))
    write_wav(path, (speech + noise).astype(np.float32), audio.sample_rate)


def synthesise(cases: Sequence[Case], args: argparse.Namespace, folder: Path) -> list[Result]:
    """Speak every command into ``folder`` (noise mixed in where its condition says)."""
    rng = np.random.default_rng(args.seed)
    results = []
    for i, case in enumerate(tqdm(cases, desc="espeak-ng", unit="cmd", leave=False)):
        voice, speed, noisy = condition(i, args.voices, args.speeds)
        path = folder / f"{i:03d}.wav"
        speak(case.query, voice, speed, path)
        if noisy:
            add_noise(path, args.snr, rng)
        results.append(Result(case.id, case.catalog, case.query, voice, speed, noisy))
    return results


def transcribe_all(results: list[Result], transcriber: Transcriber, folder: Path) -> None:
    """Transcribe each command's WAV and score it against the text."""
    transcriber.transcribe(folder / "000.wav")  # warm-up: first-call allocations, page cache
    for i, r in enumerate(tqdm(results, desc="whisper", unit="cmd", leave=False)):
        out = transcriber.transcribe(folder / f"{i:03d}.wav")
        r.transcript, r.audio_s, r.rtf = out.text, out.audio_s, out.rtf
        r.errors, r.words = word_errors(r.text, r.transcript)
        r.wer = r.errors / r.words if r.words else float(r.errors > 0)


def plan_all(results: list[Result], cases: Sequence[Case]) -> None:
    """Plan the text and the transcript of each command; record DAG success of both.

    One default planner per catalog, built on first use. An empty transcript counts as
    a failed plan (nothing was heard), as does a plan that does not parse.
    """
    from tinyagent_ros.catalog import Catalog, load_catalog
    from tinyagent_ros.dag import dag_success
    from tinyagent_ros.plan import PlanError
    from tinyagent_ros.planner import Planner, PlannerError, build_planner

    planners: dict[str, tuple[Catalog, Planner]] = {}

    def judge(planner: Planner, catalog: Catalog, case: Case, query: str) -> bool:
        if not query.strip():
            return False
        outcome = planner.plan(query, today=case.today)
        return outcome.plan is not None and dag_success(outcome.plan, case.gold(catalog),
                                                        catalog)

    for r, case in zip(tqdm(results, desc="plan", unit="cmd", leave=False), cases, strict=True):
        if case.catalog not in planners:
            catalog = load_catalog(case.catalog)
            try:
                planners[case.catalog] = (catalog, build_planner(catalog))
            except PlannerError as err:
                fail(str(err))
        catalog, planner = planners[case.catalog]
        try:
            r.dag_text = judge(planner, catalog, case, r.text)
            r.dag_speech = judge(planner, catalog, case, r.transcript)
        except PlanError as err:  # the gold plan itself does not validate
            fail(f"case {case.id}: gold plan does not validate: {err}")


def summarise(rows: Sequence[Result]) -> dict[str, Any]:
    """Metrics of a group of commands (DAG keys are None when nothing was planned)."""
    words = sum(r.words for r in rows)
    rtfs = [r.rtf for r in rows]
    planned = [r for r in rows if r.dag_text is not None]
    out: dict[str, Any] = {
        "commands": len(rows), "words": words,
        "wer": sum(r.errors for r in rows) / words if words else None,
        "exact": sum(r.errors == 0 for r in rows) / len(rows) if rows else None,
        "rtf_p50": statistics.median(rtfs) if rtfs else None,
        "rtf_mean": statistics.fmean(rtfs) if rtfs else None,
        "dag_text": None, "dag_speech": None, "dag_drop_points": None}
    if planned:
        text = statistics.fmean(bool(r.dag_text) for r in planned)
        speech = statistics.fmean(bool(r.dag_speech) for r in planned)
        out.update(dag_text=text, dag_speech=speech, dag_drop_points=100.0 * (text - speech))
    return out


def groups(results: Sequence[Result]) -> dict[str, dict[str, Any]]:
    """Summaries for all commands, clean/noisy, each voice and each speed (table rows)."""
    selectors: list[tuple[str, Callable[[Result], bool]]] = [
        ("all", lambda r: True), ("clean", lambda r: not r.noisy), ("noisy", lambda r: r.noisy)]
    for voice in dict.fromkeys(r.voice for r in results):
        selectors.append((f"voice {voice}", lambda r, v=voice: r.voice == v))
    for speed in sorted({r.speed for r in results}):
        selectors.append((f"{speed} wpm", lambda r, s=speed: r.speed == s))
    out = {}
    for label, keep in selectors:
        rows = [r for r in results if keep(r)]
        if rows:
            out[label] = summarise(rows)
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100.0 * value:.1f} %"


def table(summary: dict[str, dict[str, Any]], planned: bool) -> str:
    """The Markdown table of :func:`groups`."""
    head = ["group", "commands", "words", "WER", "exact", "RTF p50", "RTF mean"]
    if planned:
        head += ["DAG text", "DAG speech", "drop (points)"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for label, s in summary.items():
        cells = [label, str(s["commands"]), str(s["words"]), _pct(s["wer"]), _pct(s["exact"]),
                 f"{s['rtf_p50']:.3f}", f"{s['rtf_mean']:.3f}"]
        if planned:
            drop = s["dag_drop_points"]
            cells += [_pct(s["dag_text"]), _pct(s["dag_speech"]),
                      "-" if drop is None else f"{drop:+.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dataset", action="append", metavar="JSONL",
                        help="A natural command set (repeatable; default: "
                        f"{' and '.join(DATASETS)}).")
    parser.add_argument("--limit", type=int, default=60, help="Commands in total (default 60).")
    parser.add_argument("--voices", type=lambda s: s.split(","), default=list(VOICES),
                        help=f"espeak-ng voices, comma-separated (default {','.join(VOICES)}).")
    parser.add_argument("--speeds", type=lambda s: [int(x) for x in s.split(",")],
                        default=list(SPEEDS), help="Words per minute, comma-separated "
                        f"(default {','.join(map(str, SPEEDS))}).")
    parser.add_argument("--snr", type=float, default=10.0,
                        help="Signal-to-noise ratio of the noisy commands in dB (default 10).")
    parser.add_argument("--seed", type=int, default=0, help="Noise seed (default 0).")
    parser.add_argument("--threads", type=int, default=1, help="whisper.cpp threads (default 1).")
    parser.add_argument("--whisper-model", metavar="PATH|NAME",
                        help="A whisper.cpp ggml file or an installed model's name: tiny.en "
                        "(default) or base.")
    parser.add_argument("--audio-ctx", default="auto", metavar="auto|FRAMES",
                        type=lambda v: v if v == "auto" else int(v),
                        help="Encoder window in 20 ms frames: auto (sized to the clip, the "
                        "default) or a number (0: whisper.cpp's full 30 s).")
    parser.add_argument("--initial-prompt", default="", metavar="TEXT",
                        help="Text whisper decodes after (vocabulary bias); default none.")
    parser.add_argument("--no-plan", action="store_true", help="Skip planning (no LLM).")
    parser.add_argument("--out", metavar="FILE", help="Write one JSON line per command.")
    parser.add_argument("--json", action="store_true", help="End with one JSON object.")
    args = parser.parse_args(argv)
    args.dataset = args.dataset or list(DATASETS)
    if args.limit < 1 or not args.voices or not args.speeds or args.threads < 1:
        parser.error("--limit and --threads must be >= 1; --voices and --speeds non-empty")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Speak, transcribe and (unless --no-plan) plan the commands; print the table."""
    args = parse_args(argv)
    if shutil.which("espeak-ng") is None:
        fail("espeak-ng not found; install it: apt-get install espeak-ng sox")
    cases = pick_cases(args.dataset, args.limit)
    if not cases:
        fail("no commands in " + ", ".join(args.dataset))
    try:
        transcriber = Transcriber(args.whisper_model, n_threads=args.threads,
                                  initial_prompt=args.initial_prompt or None,
                                  audio_ctx=args.audio_ctx)
    except ASRError as err:
        fail(str(err))
    model_name = transcriber.model_path.name
    with tempfile.TemporaryDirectory(prefix="speech-bench-") as tmp:
        folder = Path(tmp)
        results = synthesise(cases, args, folder)
        try:
            transcribe_all(results, transcriber, folder)
        except ASRError as err:
            fail(str(err))
    if not args.no_plan:
        del transcriber  # free whisper before the LLM loads
        plan_all(results, cases)
    summary = groups(results)
    planned = not args.no_plan
    print(f"{len(results)} commands of {', '.join(args.dataset)}; model {model_name}, "
          f"{args.threads} thread(s), audio_ctx {args.audio_ctx}; noisy: white noise at "
          f"{args.snr:g} dB SNR")
    print(table(summary, planned))
    worst = sorted((r for r in results if r.errors), key=lambda r: (-r.wer, r.id))[:5]
    for r in worst:
        print(f"- {r.id} ({r.voice}, {r.speed} wpm{', noisy' if r.noisy else ''}): "
              f"{r.text!r} -> {r.transcript!r}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            for r in results:
                fh.write(json.dumps(asdict(r)) + "\n")
    if args.json:
        print(json.dumps({"datasets": args.dataset, "model": model_name,
                          "threads": args.threads, "audio_ctx": args.audio_ctx,
                          "snr_db": args.snr,
                          "planned": planned, "groups": summary}))


if __name__ == "__main__":
    main()
