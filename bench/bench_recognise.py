"""Does each engine say every phrase so that an independent recogniser hears it?

Every distinct spoken phrase of the shipped programs (programs/*.yaml) is synthesized through
coach's own clip pipeline (coach.audio.voice.Voice: the text the engine is given, the engine,
trimming, loudness, 48 kHz), padded with 0.3 s of digital silence, resampled to 16 kHz mono
int16 and decoded by PocketSphinx (its bundled US English model) with a JSGF grammar over the
vocabulary of the plan's words, any sequence of them. A phrase is a hit when the recogniser's
words equal the phrase's words (digits read as English words; homophones such as "to"/"two"
count as the same; "one hundred and twenty" equals "one hundred twenty"). Phrases with a
word outside PocketSphinx's dictionary ("pulldown") cannot be scored and are left out.

The default phrasing, "coach", is what coach gives the engine (coach.audio.voice.spoken_text:
Piper gets an exclamation mark after a count below 20, a full stop after another one-word
text, espeak-ng the text as written); --phrasing
compares others. Every run also reports the bare counts' clip lengths and the least headroom
(time from a clip's end to the next cue) over every cue of the programs: below zero, `coach
check` would warn.

Decoder settings (all PocketSphinx's defaults but one):
- bestpath=False: the lattice rescoring that follows the grammar search can end on a path of
  silence alone, which the grammar does not allow: a clip then gives an empty hypothesis
  (Piper's "2": empty 2 times in 3 with it, "to" 3 in 3 without it). It also cost most of
  the decoding time of the long announcements.
- the default beams (1e-48 / 7e-29 / 1e-48): the narrow ones an earlier version used
  (1e-20 / 1e-15 / 1e-20) pruned the right words away (Piper's counts and tempo words 15/60
  exact with them, 36/60 without).
- no dither: the model's noise removal copes with the digital silence of the padding; dither
  made short clips worse ("3" heard as "every it").

Piper samples with noise inside its ONNX graph (noise_scale, noise_w; its random draws are
not seeded from Python), so every synthesis differs: --repeats N synthesizes every phrase N
times (a fresh clip cache each time) and scores all of them. espeak-ng has no noise (two
syntheses of "2" differed by 62 samples in length): one synthesis by default.

    .venv/bin/python bench/bench_recognise.py                  # both engines, coach's phrasing
    .venv/bin/python bench/bench_recognise.py --engine piper --repeats 5 \\
        --phrasing as-is --phrasing coach --phrasing one-word!  # compare what Piper is given
    .venv/bin/python bench/bench_recognise.py --engine piper --show-misses
"""

from __future__ import annotations

import argparse
import difflib
import multiprocessing
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.core.program import VoiceSettings, load_program  # noqa: E402
from coach.core.timeline import compile_program  # noqa: E402

TEMPO_PHRASES = {"lower", "bottom_hold", "squeeze", "top_hold", "explode"}
CLASSES = ("counts", "tempo", "other")
RATE = 48000
PAD_S = 0.3
DECODER = dict(samprate=16000, loglevel="FATAL", bestpath=False)
NUMBER_WORDS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty",
                "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "point"}


def timelines(paths: list[Path]) -> list:
    return [compile_program(load_program(path)) for path in paths]


def plan_phrases(paths: list[Path]) -> dict[str, str]:
    """Every distinct speech text of the programs -> its class: counts, tempo, other."""
    out: dict[str, str] = {}
    for timeline in timelines(paths):
        for cue in timeline.cues:
            if cue.kind != "speech":
                continue
            cls = ("counts" if cue.phrase == "numbers" else
                   "tempo" if cue.phrase in TEMPO_PHRASES else "other")
            out.setdefault(cue.text, cls)
    return out


def _en(n: int | float) -> str:
    from num2words import num2words
    return num2words(n, lang="en")


def words_of(text: str) -> list[str]:
    def number(m: re.Match) -> str:
        return " " + _en(float(m[0]) if "." in m[0] else int(m[0])) + " "
    text = re.sub(r"\d+(?:\.\d+)?", number, text.lower())
    return _no_number_and(re.findall(r"[a-z']+", text.replace("-", " ")))


def _no_number_and(words: list[str]) -> list[str]:
    """"one hundred and twenty" -> "one hundred twenty" (British and US readings are equal)."""
    return [w for i, w in enumerate(words)
            if not (w == "and" and 0 < i < len(words) - 1 and words[i - 1] == "hundred"
                    and words[i + 1] in NUMBER_WORDS)]


# --- decoding: one Decoder per worker process --------------------------------------------

_DEC = None


def _init_worker(vocabulary: list[str]) -> None:
    global _DEC
    from pocketsphinx import Decoder
    _DEC = Decoder(**DECODER)
    rules = " | ".join(vocabulary)
    _DEC.add_jsgf_string("plan", f"#JSGF V1.0;\ngrammar plan;\npublic <s> = <w>+;\n<w> = {rules};\n")
    _DEC.activate_search("plan")


def _hear(samples: np.ndarray) -> list[str]:
    import soxr
    pad = np.zeros(int(RATE * PAD_S), np.float32)
    x = soxr.resample(np.concatenate([pad, samples, pad]), RATE, 16000)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    d = _DEC
    assert d is not None
    d.start_utt()
    d.process_raw(pcm, full_utt=True)
    d.end_utt()
    hyp = d.hyp()
    return hyp.hypstr.split() if hyp is not None else []


def known_words(vocabulary: set[str]) -> list[str]:
    from pocketsphinx import Decoder
    d = Decoder(**DECODER)
    return sorted(w for w in vocabulary if d.lookup_word(w))


class Judge:
    """Compares what was heard with what was meant, by pronunciation."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder
        self.d = Decoder(**DECODER)

    def pron(self, words: list[str]) -> list[str]:
        return [self.d.lookup_word(w) or w for w in _no_number_and(words)]

    def score(self, heard: list[str], text: str) -> tuple[bool, bool, int, int]:
        """(exact, the phrase's words heard in order among extra ones, words matched, words)."""
        want, got = self.pron(words_of(text)), self.pron(heard)
        inside = any(got[i:i + len(want)] == want for i in range(len(got) - len(want) + 1))
        sm = difflib.SequenceMatcher(a=want, b=got, autojunk=False)
        return want == got, inside, sum(b.size for b in sm.get_matching_blocks()), len(want)


# --- phrasings: what the engine is given for a phrase ---------------------------------------

def _stop(text: str) -> str:
    t = text.rstrip()
    return t if t.endswith((".", "!", "?")) else t + "."


def _number_words(text: str) -> str:
    return re.sub(r"\d+", lambda m: _en(int(m[0])), text)


def phrasings() -> dict[str, Callable[[str, str], str]]:
    from coach.audio.voice import spoken_text
    return {
        "coach": spoken_text,  # what coach gives the engine (coach.audio.voice.spoken_text)
        "as-is": lambda engine, text: text,
        "stop": lambda engine, text: _stop(text),  # a full stop unless the text ends a sentence
        "comma": lambda engine, text: text.rstrip().rstrip(".") + ",",
        "words.": lambda engine, text: _stop(_number_words(text)),
        # one word (a count, "lower"...) with an exclamation mark, longer texts as written
        "one-word!": lambda engine, text: (text.strip() + "!" if len(text.split()) == 1
                                           and not text.rstrip().endswith((".", "!", "?"))
                                           else text),
    }


def synthesize(engine: str, texts: list[str], phrasing: str,
               rate: int) -> tuple[dict[str, np.ndarray], float]:
    """One clip per text through coach's Voice (a fresh cache), with ``phrasing``'s text."""
    from coach.audio import voice as V
    change = phrasings()[phrasing]
    with tempfile.TemporaryDirectory() as cache:
        v = V.Voice(VoiceSettings(engine=engine, rate=rate), "en", RATE, Path(cache),
                    require_real=True)
        v.said = lambda text: change(v.engine, text)  # type: ignore[method-assign]
        t0 = time.perf_counter()
        clips = v.prepare(texts)
        return {t: clips[t].samples for t in texts}, time.perf_counter() - t0


def headroom(tls: list, clips: dict[str, np.ndarray]) -> tuple[float, str]:
    """The least time, s, between a speech clip's end and the next cue, over every cue of the
    programs (negative: the clip runs into the next cue, which `coach check` warns about)."""
    worst, what = float("inf"), ""
    for tl in tls:
        cues = tl.cues
        for i, c in enumerate(cues):
            if c.kind != "speech":
                continue
            nxt = next((n for n in cues[i + 1:] if n.t_ms > c.t_ms), None)
            if nxt is None:
                continue
            room = (nxt.t_ms - c.t_ms) / 1000 - clips[c.text].size / RATE
            if room < worst:
                worst, what = room, c.text
    return worst, what


def is_bare_count(text: str) -> bool:
    return re.fullmatch(r"\d+", text) is not None


def run(engine: str, phrasing: str, repeats: int, phrases: dict[str, str], texts: list[str],
        vocabulary: list[str], judge: Judge, rate: int, show_misses: bool, tls: list) -> str:
    tally = {c: [0, 0, 0, 0, 0] for c in CLASSES}  # exact, inside, words matched, words, phrases
    durations: list[float] = []
    two: list[str] = []
    two_s: list[float] = []
    synth_s = decode_s = 0.0
    room, tight = float("inf"), ""
    for _ in range(repeats):
        clips, s = synthesize(engine, list(phrases), phrasing, rate)
        synth_s += s
        r, what = headroom(tls, clips)
        if r < room:
            room, tight = r, what
        t0 = time.perf_counter()
        # spawn, not fork: the parent runs onnxruntime's and espeak-ng's threads
        with multiprocessing.get_context("spawn").Pool(2, _init_worker, (vocabulary,)) as pool:
            heard = pool.map(_hear, [clips[t] for t in texts], chunksize=2)
        decode_s += time.perf_counter() - t0
        for text, h in zip(texts, heard):
            exact, inside, matched, n = judge.score(h, text)
            row = tally[phrases[text]]
            for i, v in enumerate((exact, inside, matched, n, 1)):
                row[i] += int(v)
            if is_bare_count(text):
                durations.append(clips[text].size / RATE)
            if text == "2":
                two.append(" ".join(h) or "-")
                two_s.append(clips[text].size / RATE)
            if show_misses and not exact:
                print(f"  miss [{engine}, {phrasing}] {text!r}: heard {' '.join(h)!r} "
                      f"({clips[text].size / RATE:.2f} s)")
    print(f"  ({engine}, {phrasing}: {len(phrases)} texts x {repeats}: synthesis {synth_s:.0f} s, "
          f"decoding {decode_s:.0f} s; '2' heard as: {', '.join(two)}, lasted "
          f"{min(two_s, default=0):.2f}-{max(two_s, default=0):.2f} s; least headroom after "
          f"{tight!r})", file=sys.stderr)
    cells = []
    for c in (*CLASSES, "all"):
        rows = list(tally.values()) if c == "all" else [tally[c]]
        e, i, m, n, p = (sum(r[k] for r in rows) for k in range(5))
        cells.append(f"{e}/{p} ({i}) {100 * m / max(n, 1):.0f} %")
    d = np.array(durations)
    dur = f"{np.median(d):.2f} ({d.min():.2f}-{d.max():.2f})" if d.size else "-"
    return (f"| {engine} | {phrasing} | {repeats} | " + " | ".join(cells)
            + f" | {dur} | {room:+.2f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=("espeak", "piper"), action="append",
                    help="engine to score (repeatable; default both)")
    ap.add_argument("--phrasing", choices=sorted(phrasings()), action="append",
                    help="what the engine is given (repeatable; default 'coach', coach's own)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="syntheses of every phrase (default: 3 for piper, 1 for espeak, which "
                         "has no noise)")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--rate", type=int, default=170, help="voice rate, wpm (default 170)")
    ap.add_argument("programs", nargs="*", type=Path)
    args = ap.parse_args()
    paths = args.programs or sorted((ROOT / "programs").glob("*.yaml"))
    phrases = plan_phrases(paths)
    tls = timelines(paths)
    vocabulary = known_words({w for t in phrases for w in words_of(t)})
    known = set(vocabulary)
    texts = [t for t in phrases if all(w in known for w in words_of(t))]
    judge = Judge()
    n = {c: sum(phrases[t] == c for t in texts) for c in CLASSES}
    print(f"{len(phrases)} distinct phrases in {len(paths)} programs; {len(texts)} scorable "
          f"({n['counts']} counts, {n['tempo']} tempo words, {n['other']} others; "
          f"{len(vocabulary)} words in the grammar), {args.rate} wpm")
    print("a cell: exact hits/phrases x repeats (phrases whose words were heard in order among "
          "extra ones) words matched; bare counts: clip length, s, median (min-max); headroom: "
          "the least time, s, from a clip's end to the next cue in the programs, any repeat")
    print("| engine | phrasing | repeats | counts | tempo words | others | all | bare counts, s "
          "| headroom, s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for engine in args.engine or ["espeak", "piper"]:
        repeats = args.repeats or (3 if engine == "piper" else 1)
        for phrasing in args.phrasing or ["coach"]:
            print(run(engine, phrasing, repeats, phrases, texts, vocabulary, judge, args.rate,
                      args.show_misses, tls), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
