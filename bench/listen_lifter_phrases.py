"""What a lifter says after a set that is no answer and rhymes with no number ("let me breathe",
"give me a second", "come on", "ouch"): how often each engine takes it for a rating. The check
set's off-grammar phrases (bench/listen_corpus.py) were chosen to rhyme with the numbers
("nice", "more", "so"); these were not. 10 phrases x 10 espeak-ng voices and speeds, each once
at a random place in a 6-s rating window, in a quiet room, gym noise and music at 10 dB under
the phrase (tests/support/speech.py's rooms), through window.answers in 0.1-s chunks as the
daemon's listener feeds it. Never tuned on.

    nice -n 10 taskset -c 0 .venv/bin/python bench/listen_lifter_phrases.py [--engine moonshine]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.audio.listen.engines import ENGINES, recognizer  # noqa: E402
from coach.audio.listen.recognizer import RATE, Heard, Recognizer  # noqa: E402
from coach.audio.listen.window import answers  # noqa: E402
from tests.support.speech import espeak_ng, gym_noise, in_window, music  # noqa: E402

PHRASES = ("not bad", "let me breathe", "hang on", "my legs are burning", "come on", "hello",
           "good", "yes", "ouch", "give me a second")
VOICES = (("en", 150), ("en-us", 190), ("en-gb-scotland", 170), ("en+f3", 190), ("en+m7", 150),
          ("en-us+f4", 170), ("en-gb-x-rp", 150), ("en-029", 190), ("en+m3", 170),
          ("en-us-nyc", 150))
ROOMS = ("quiet room", "gym", "music")
FIRST_SEED = 5000  # none of listen_corpus.py's or the tests' seeds
WINDOW_S = 6.0


def window(phrase: int, voice: int, room: str) -> np.ndarray:
    seed = FIRST_SEED + 10 * phrase + voice
    name, wpm = VOICES[voice]
    clip = espeak_ng(PHRASES[phrase], name, wpm)
    at = float(np.random.default_rng(seed).uniform(0.5, 2.5))
    n = int(RATE * WINDOW_S)
    noise = None if room == "quiet room" else {"gym": gym_noise, "music": music}[room](n, seed)
    return in_window([(at, clip)], WINDOW_S, noise, 10.0)


def heard(rec: Recognizer, x: np.ndarray) -> tuple[list[Heard], list[Heard]]:
    off: list[Heard] = []
    got = list(answers((x[i:i + RATE // 10] for i in range(0, x.size, RATE // 10)), rec,
                       "rating", WINDOW_S, off_scale=off.append))
    return got, off


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=ENGINES, default="pocketsphinx")
    ap.add_argument("--detail", action="store_true", help="each phrase taken, and as what")
    a = ap.parse_args()
    rec = recognizer(a.engine)
    print(f"engine {a.engine}; {len(PHRASES)} phrases x {len(VOICES)} voices a room; "
          f"phrases: {', '.join(PHRASES)}")
    print("| room | rated | \"one to five?\" asked | phrases taken most |")
    print("|---|---|---|---|")
    for room in ROOMS:
        taken: Counter[str] = Counter()
        asked = 0
        for p in range(len(PHRASES)):
            for v in range(len(VOICES)):
                got, off = heard(rec, window(p, v, room))
                asked += bool(off)
                for h in got:
                    taken[PHRASES[p]] += 1
                    if a.detail:
                        print(f"  {room} {VOICES[v][0]}@{VOICES[v][1]} {PHRASES[p]!r}: "
                              f"{h.text!r} -> {h.rating} (confidence {h.confidence:.2f})")
        n = len(PHRASES) * len(VOICES)
        most = ", ".join(f"{k} {c}" for k, c in taken.most_common(4))
        print(f"| {room} | {sum(taken.values())} of {n} | {asked} | {most} |", flush=True)


if __name__ == "__main__":
    main()
