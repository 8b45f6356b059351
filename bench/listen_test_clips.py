"""How sure a real-time test's spoken clip is of its outcome: each clip placed at 40 points of a
window (a -60 dBFS floor before and after it, as tests/daemon/test_listening.py's ``say_into``
plays it, 0.1 s chunks) through window.answers with the real engine, and the outcomes counted. A
clip that is not the same outcome at all 40 makes its test flaky; espeak-ng's own command gives
the same samples every run, pyttsx3's (``speech``) a slightly different clip each call.

    .venv/bin/python bench/listen_test_clips.py [--engine moonshine] [--what command]
        [--clips speech|espeak] six "it was a two"
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.audio.listen.engines import ENGINES, recognizer  # noqa: E402
from coach.audio.listen.recognizer import RATE, Heard, Listening, Recognizer  # noqa: E402
from coach.audio.listen.window import answers  # noqa: E402
from coach.core.types import ListenEngine  # noqa: E402
from tests.support.speech import espeak_ng, speech  # noqa: E402

MIC_RATE = 48000  # the tests' null-sink mic
PLACEMENTS = 40


def outcomes(text: str, engine: ListenEngine, what: Listening, clips: str) -> Counter[str]:
    rec = recognizer(engine)
    counts: Counter[str] = Counter()
    for n in range(PLACEMENTS):
        x = speech(text, MIC_RATE) if clips == "speech" else espeak_ng(text, peak=None,
                                                                        rate=MIC_RATE)
        rng = np.random.default_rng(n)
        lead = rng.normal(0, 1e-3, int(rng.uniform(0.3, 1.75) * MIC_RATE))
        tail = rng.normal(0, 1e-3, 3 * MIC_RATE)
        y = soxr.resample(np.concatenate([lead, x + rng.normal(0, 1e-3, x.size), tail])
                          .astype(np.float32), MIC_RATE, RATE).astype(np.float32)
        counts[outcome(y, rec, what)] += 1
    return counts


def outcome(y: np.ndarray, rec: Recognizer, what: Listening) -> str:
    events: list[str] = []

    def off(h: Heard) -> None:
        events.append(f"off the scale {h.text!r}")

    heard = list(answers((y[i:i + RATE // 10] for i in range(0, y.size, RATE // 10)), rec,
                         what, 8.0, no_answer=lambda: events.append("no answer"),
                         off_scale=off))
    events += [f"{h.text!r} -> {h.rating if h.command is None else h.command}" for h in heard]
    return "; ".join(events) or "nothing"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("texts", nargs="+")
    ap.add_argument("--engine", choices=ENGINES, default="pocketsphinx")
    ap.add_argument("--what", choices=("rating", "command"), default="rating")
    ap.add_argument("--clips", choices=("speech", "espeak"), default="espeak")
    a = ap.parse_args()
    for text in a.texts:
        counts = outcomes(text, a.engine, a.what, a.clips)
        print(f"{text!r} ({a.clips}, {a.engine}, {a.what}): " + ", ".join(
            f"{k} {v}/{PLACEMENTS}" for k, v in counts.most_common()), flush=True)


if __name__ == "__main__":
    main()
