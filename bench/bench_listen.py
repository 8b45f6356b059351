"""How well does coach hear spoken ratings? Over a corpus generated here (bench/listen_corpus.py:
espeak-ng voices and variants and Piper voices x 5 answers x gym noise and music at 4 SNRs, plus
a quiet room; 100 windows of noise alone and 100 of music alone; off-grammar speech in a quiet
room, in gym noise and in music), each 6-s window fed to the window's endpointer
(coach.audio.listen.window.answers) in 0.1-s chunks, as the capture gives them, with the
PocketSphinx recogniser or (``--engine moonshine``) Moonshine's.

Figures: exact answers (the last answer of a window is the rating), false ratings per 100 empty
windows and in off-grammar windows, latency from the end of speech to the answer (the audio the
endpointer waited for plus the decoding time: an upper bound since the window decodes in the
wait, window.EARLY_S; bench_listen_readback.py measures the whole in the daemon's audio),
CPU-s per audio second of this process (run it
under `taskset -c 0` for one core). ``--set tune`` is what the recogniser was tuned on;
``--set check`` (other voices, phrases and seeds) is what BENCHMARKS.md reports.

    nice -n 10 taskset -c 0 .venv/bin/python bench/bench_listen.py --set check
    nice -n 10 taskset -c 0 .venv/bin/python bench/bench_listen.py --set check --engine moonshine
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from listen_corpus import (  # noqa: E402
    NOISES,
    OFF,
    RATE,
    SEEDS,
    SETS,
    WINDOW_S,
    Synth,
    Voice,
    answers,
    window,
)

from coach.audio.listen import vad  # noqa: E402
from coach.audio.listen import window as endpointer  # noqa: E402
from coach.audio.listen.engines import ENGINES, recognizer  # noqa: E402
from coach.audio.listen.recognizer import RATING_OF, Listening, Recognizer  # noqa: E402
from coach.audio.listen.window import answers as heard_in  # noqa: E402
from coach.core.phrases import say_number  # noqa: E402

CHUNK = int(RATE * 0.1)
CPU = [0.0]  # CPU-s spent hearing (the corpus's making left out)
BAND = [0]  # --band: the mic's rate, Hz (0: RATE itself)
DUCK = [0.0]  # --duck: dB the music is lowered by while the mic listens
# The first number off the scale each window heard (the daemon asks "one to five?", once a
# window): len(ASKED) counts the windows that would ask it.
ASKED: list[str] = []


def mic_snr(kind: str, snr: float | None) -> float | None:
    """The SNR the mic hears: music (the lifter's, played through coach's sound server) is
    lowered by the duck while the mic listens; gym noise is not."""
    return snr + DUCK[0] if snr is not None and kind.startswith("music") else snr
SNRS = (20, 15, 10, 5)


def hear(rec: Recognizer, x: np.ndarray, what: Listening = "rating",
         window_s: float = WINDOW_S) -> tuple[int | None, str, float, float]:
    """The rating the window gives (its last answer), its words, the audio position at that
    answer, s, and the processing time of the step that gave it. A command window (``what``)
    gives its words only (the command they mean is ``meaning(words, "command")``)."""
    if BAND[0]:  # a call-quality mic: everything over half its rate is gone
        import soxr
        x = soxr.resample(soxr.resample(x, RATE, BAND[0]), BAND[0], RATE).astype(np.float32)
    fed = [0]

    def counted() -> Iterator[np.ndarray]:
        for i in range(0, x.size, CHUNK):
            fed[0] += min(CHUNK, x.size - i)
            yield x[i:i + CHUNK]

    rating, text, at, took = None, "", 0.0, 0.0
    asked = len(ASKED)
    cpu = time.process_time()
    t0 = time.perf_counter()
    for h in heard_in(counted(), rec, what, window_s,
                      off_scale=lambda h: ASKED.append(h.text)):
        rating, text, at, took = h.rating, h.text, fed[0] / RATE, time.perf_counter() - t0
        t0 = time.perf_counter()
    CPU[0] += time.process_time() - cpu
    del ASKED[asked + 1:]
    return rating, text, at, took


def empty_windows(rec: Recognizer, make: Callable[[int, np.random.Generator], np.ndarray],
                  n: int, rng: np.random.Generator, took: Callable[[int | None, str], bool],
                  what: Listening = "rating", window_s: float = WINDOW_S,
                  noise_s: float = WINDOW_S) -> list[str]:
    """``n`` windows of noise alone (0, 10 or 20 dB under a 0.1 level): the words of each one
    ``took`` says gave an answer (from the rating and the words ``hear`` returns)."""
    given = []
    for _ in range(n):
        x, _ = window(None, make(int(RATE * noise_s), rng), float(rng.choice([0, 10, 20])), 0.0, rng)
        got, words, _, _ = hear(rec, x, what, window_s)
        if took(got, words):
            given.append(words)
    return given


def drawn_windows(corpus: str, seed: int, cache: Path
                  ) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    """The windows main() hears, in its order with its rng drawn as it draws it (answers in
    each room and SNR, then 100 windows of each noise alone, then the off-grammar phrases in a
    quiet room, gym noise and music at 10 dB), each with its label: for the harnesses that hear
    them otherwise (listen_confidence.py, listen_prior.py). main() keeps its own loop: its
    figures are printed as each condition ends."""
    voices = SETS[corpus]
    synth = Synth(cache)
    clips = {(i, text): synth.clip(v, text) for i, v in enumerate(voices)
             for text in answers(i) + list(OFF[corpus])}
    rng = np.random.default_rng(seed)
    for kind, snrs in (("quiet room", (None,)), ("gym", SNRS), ("music", SNRS)):
        for snr in snrs:
            for i, v in enumerate(voices):
                for text in answers(i):
                    noise = (NOISES[kind](int(RATE * WINDOW_S), rng) if snr is not None
                             else None)
                    x, _ = window(clips[i, text], noise, snr, float(rng.uniform(0.3, 2.0)), rng)
                    yield x, {"kind": kind, "snr": snr, "voice": v.label, "text": text,
                              "want": RATING_OF[text.split()[-1]], "off": False}
        print(f"seed {seed}: {kind} done", flush=True)
    for kind, make in NOISES.items():
        for _ in range(100):
            x, _ = window(None, make(int(RATE * WINDOW_S), rng), float(rng.choice([0, 10, 20])),
                          0.0, rng)
            yield x, {"kind": f"{kind} alone", "snr": None, "voice": "", "text": "",
                      "want": None, "off": True}
    for kind, snr in (("quiet room", None), ("gym", 10), ("music", 10)):
        for i, v in enumerate(voices):
            for text in OFF[corpus]:
                noise = NOISES[kind](int(RATE * WINDOW_S), rng) if snr is not None else None
                x, _ = window(clips[i, text], noise, snr, float(rng.uniform(0.3, 2.0)), rng)
                yield x, {"kind": f"off {kind}", "snr": snr, "voice": v.label, "text": text,
                          "want": None, "off": True}
        print(f"seed {seed}: off {kind} done", flush=True)


def harness_arguments(doc: str) -> argparse.ArgumentParser:
    """The options of a harness over drawn_windows: the set (the tuning set by default), the
    noise's draw, the JSON file written, the clips' cache."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--set", choices=sorted(SETS), default="tune")
    ap.add_argument("--seed", type=int, help="the noise's draw (default: the set's own)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/coach-bench-listen"))
    return ap


def arguments(doc: str, empty: int) -> argparse.ArgumentParser:
    """The options every listening bench takes: the corpus's set and cache, the engine."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--set", choices=sorted(SETS), default="check")
    ap.add_argument("--empty", type=int, default=empty, help="empty windows per noise")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/coach-bench-listen"),
                    help="where the synthesized clips are kept between runs")
    ap.add_argument("--detail", action="store_true", help="print each window that went wrong")
    ap.add_argument("--engine", choices=ENGINES, default="pocketsphinx")
    return ap


def main() -> int:
    ap = arguments(__doc__, empty=100)
    ap.add_argument("--band", type=int, default=0, metavar="HZ",
                    help="the mic's rate: each window through HZ and back (a Bluetooth "
                         "headset's call profile: 8000 for CVSD, 16000 for mSBC)")
    ap.add_argument("--end-silence", type=float, default=None, metavar="S",
                    help="the endpointer's silence after a stretch (window.END_SILENCE_S, "
                         f"{endpointer.END_SILENCE_S} s as built): a candidate measured")
    ap.add_argument("--early", type=float, default=None, metavar="S",
                    help="when a stretch is decoded, before its end is sure (window.EARLY_S, "
                         f"{endpointer.EARLY_S} s as built): a candidate measured")
    ap.add_argument("--quiet-dbfs", type=float, default=None, metavar="DB",
                    help="the gate's floor: frames under it are silence without the model "
                         f"(vad.QUIET_DBFS, {vad.QUIET_DBFS:g} as built): a candidate measured")
    ap.add_argument("--duck", type=float, default=0.0, metavar="DB",
                    help="the music lowered by DB dB while the mic listens (coach's duck, "
                         "12 by default, when the music plays through its sound server): each "
                         "music window's SNR is its row's + DB, music alone DB lower")
    args = ap.parse_args()
    BAND[0] = args.band
    DUCK[0] = args.duck
    if args.early is not None:
        endpointer.EARLY_S = args.early
    if args.end_silence is not None:
        endpointer.END_SILENCE_S = args.end_silence
    if args.quiet_dbfs is not None:
        vad.QUIET_DBFS = args.quiet_dbfs
    endpointer.EARLY_S = min(endpointer.EARLY_S, endpointer.END_SILENCE_S)  # decoded by then
    voices = SETS[args.set]
    synth = Synth(args.cache)
    clips = {(i, text): synth.clip(v, text) for i, v in enumerate(voices)
             for text in answers(i) + list(OFF[args.set])}
    rng = np.random.default_rng(SEEDS[args.set])
    rec = recognizer(args.engine)  # loaded, as the daemon loads it before its socket answers
    audio_s = 0.0
    print(f"endpointer silence {endpointer.END_SILENCE_S:g} s (decoded at {endpointer.EARLY_S:g} s); "
          f"gate floor {vad.QUIET_DBFS:g} dBFS; engine {args.engine}; set {args.set}; "
          f"mic at {args.band or RATE} Hz: {len(voices)} voices "
          f"({'; '.join(v.label for v in voices)}) x 5 "
          f"answers; windows of {WINDOW_S:g} s; {args.empty} empty windows per noise"
          + (f"; music ducked {args.duck:g} dB (SNR = the row's + {args.duck:g})"
             if args.duck else ""))
    print("| noise | SNR, dB | exact | no answer | wrong | latency, s (median, max) | of which "
          "audio waited for | of which processing | \"one to five?\" asked |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, snrs in (("quiet room", (None,)), ("gym", SNRS), ("music", SNRS)):
        for snr in snrs:
            ok = none = wrong = 0
            lat: list[tuple[float, float]] = []
            asked = len(ASKED)
            for i, _v in enumerate(voices):
                for text in answers(i):
                    noise = (NOISES[kind](int(RATE * WINDOW_S), rng) if snr is not None
                             else None)
                    x, end = window(clips[i, text], noise, mic_snr(kind, snr),
                                    float(rng.uniform(0.3, 2.0)), rng)
                    audio_s += WINDOW_S
                    got, words, at, took = hear(rec, x)
                    want = RATING_OF[text.split()[-1]]
                    if got == want:
                        ok += 1
                        lat.append((at - end, took))
                    else:
                        none += got is None
                        wrong += got is not None
                        if args.detail:
                            print(f"  {kind} {snr} {voices[i].label} {text!r}: "
                                  f"{words or 'nothing'!r}")
            n = ok + none + wrong
            tot = [w + p for w, p in lat]
            la = (f"{np.median(tot):.2f}, {max(tot):.2f} | "
                  f"{np.median([w for w, _ in lat]):.2f}, {max(w for w, _ in lat):.2f} | "
                  f"{np.median([p for _, p in lat]):.2f}, {max(p for _, p in lat):.2f}"
                  if lat else "- | - | -")
            print(f"| {kind} | {'-' if snr is None else snr} | {ok}/{n} ({ok / n:.2f}) | "
                  f"{none} | {wrong} | {la} | {len(ASKED) - asked} |", flush=True)
    print()
    print("| windows with no answer in them | ratings given | \"one to five?\" asked |")
    print("|---|---|---|")
    for kind, noise_of in NOISES.items():
        ducked = 10 ** (-args.duck / 20) if kind == "music" else 1.0

        def lowered(n: int, r: np.random.Generator, noise_of: Any = noise_of,
                    ducked: float = ducked) -> np.ndarray:
            return noise_of(n, r) * ducked
        asked = len(ASKED)
        given = empty_windows(rec, lowered, args.empty, rng, lambda got, _words: got is not None)
        audio_s += args.empty * WINDOW_S
        if args.detail:
            for words in given:
                print(f"  {kind} alone: {words!r}")
        print(f"| {kind} alone, {args.empty} | {len(given)} | {len(ASKED) - asked} |", flush=True)
    for kind, snr in (("quiet room", None), ("gym", 10), ("music", 10)):
        false = total = 0
        asked = len(ASKED)
        for i, _v in enumerate(voices):
            for text in OFF[args.set]:
                noise = NOISES[kind](int(RATE * WINDOW_S), rng) if snr is not None else None
                x, _ = window(clips[i, text], noise, mic_snr(kind, snr),
                              float(rng.uniform(0.3, 2.0)), rng)
                audio_s += WINDOW_S
                total += 1
                got, words, _, _ = hear(rec, x)
                false += got is not None
                if got is not None and args.detail:
                    print(f"  off {kind} {voices[i].label} {text!r}: {words!r}")
        print(f"| off-grammar speech, {kind}{'' if snr is None else f' {snr} dB'}, {total} | "
              f"{false} ({100 * false / max(total, 1):.1f} %) | {len(ASKED) - asked} |", flush=True)
    print(f"\noff-grammar phrases: {', '.join(OFF[args.set])}")
    print("\nThe other languages' numbers, espeak-ng's voice of each, quiet room (the model is "
          "English: what does it make of them?)")
    print("| language | one..five said | heard as that rating | another rating | nothing |")
    print("|---|---|---|---|---|")
    for lang in ("de", "fr", "es"):
        said = [say_number(n, lang) for n in range(1, 6)]
        got_ = [hear(rec, window(synth.clip(Voice("espeak-ng", lang), w), None, None, 1.0,
                                 rng)[0])[0] for w in said]
        audio_s += WINDOW_S * len(said)
        same = sum(g == n for n, g in enumerate(got_, start=1))
        nothing = sum(g is None for g in got_)
        print(f"| {lang} | {', '.join(said)} | {same} | {5 - same - nothing} | {nothing} |")
    for kind, make in (("a quiet room", None), ("music", NOISES["music"])):
        c0, n = CPU[0], 20
        for _ in range(n):
            x, _ = window(None, make(int(RATE * WINDOW_S), rng) if make else None, 10.0, 0.0, rng)
            hear(rec, x)
        print(f"CPU with {kind} alone ({n} windows): "
              f"{(CPU[0] - c0) / (n * WINDOW_S):.4f} CPU-s per audio second")
        CPU[0] = c0
    cpu = CPU[0]
    print(f"\nCPU: {cpu:.1f} s for {audio_s:.0f} s of audio = {cpu / audio_s:.4f} CPU-s per "
          "audio second (endpointer + decoder; capture by parec not included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
