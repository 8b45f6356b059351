"""How well does coach hear spoken ratings? A corpus generated here: espeak-ng voices x speeds x
answers ("one".."five", some with a carrier) x noise (gym: brown noise with clanks; music:
chords with a beat) x SNR, each answer inside a 6 s window, plus windows with no speech (noise or
music alone) and windows with off-grammar speech ("like", "fine", "go"...). Every window is fed
to the window's endpointer (coach.audio.listen.window.answers) in 0.1 s chunks, as the capture
gives them, with the PocketSphinx recogniser.

Figures: exact answers (the last answer of a window is the rating), false ratings per 100 empty
windows, latency from the end of speech to the answer (the audio the endpointer waited for plus
the decoding time), CPU-s per audio second of this process (run it under `taskset -c 0` for one
core).

    .venv/bin/python bench/bench_listen.py
    taskset -c 0 .venv/bin/python bench/bench_listen.py --voices 12 --empty 100
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.audio.listen.recognizer import RATE, RATING_OF  # noqa: E402
from coach.audio.listen.sphinx import SphinxRecognizer  # noqa: E402
from coach.audio.listen.window import answers  # noqa: E402

WINDOW_S = 6.0
CHUNK = int(RATE * 0.1)
VOICES = ["gmw/en", "gmw/en-us", "gmw/en-gb-x-rp", "gmw/en-029", "gmw/en-gb-scotland",
          "gmw/en-gb-x-gbclan", "gmw/en-gb-x-gbcwmd", "gmw/en-us-nyc"]  # espeak-ng's English
SPEEDS = [150, 190]
ANSWERS = ["one", "two", "three", "four", "five", "a three", "it was a four"]
OFF = ["like", "fine", "go", "hello there", "stop", "okay", "what", "seven", "I am done"]
SNRS = [None, 20, 10, 5]


def gym(n: int, rng: np.random.Generator) -> np.ndarray:
    brown = np.cumsum(rng.normal(0, 1, n))
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")
    x = brown / (np.std(brown) + 1e-9)
    for at in rng.integers(0, n, size=max(1, n // RATE)):  # a clank a second
        k = np.arange(min(2000, n - at))
        x[at:at + k.size] += 4 * np.exp(-k / 300) * np.sin(2 * np.pi * 2500 * k / RATE)
    return x.astype(np.float32)


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    seg = int(RATE * 0.25)
    t = np.arange(seg) / RATE
    out = []
    for _ in range(n // seg + 1):
        f0 = rng.choice([110, 147, 165, 196, 220, 247])
        chord = sum(np.sin(2 * np.pi * f0 * k * t) for k in (1, 1.25, 1.5, 2, 3))
        beat = np.exp(-t * 30) * rng.normal(0, 1, t.size)
        out.append(chord + 2 * beat)
    x = np.concatenate(out)[:n]
    return (x / np.std(x)).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def speech_clips(voices: list[str]) -> dict[tuple[str, int, str], np.ndarray]:
    import soxr

    from coach.audio.voice.espeak import EspeakSynth
    out = {}
    for v in voices:
        for speed in SPEEDS:
            s = EspeakSynth(v, "en", speed)
            for text in ANSWERS + OFF:
                out[(v, speed, text)] = soxr.resample(s.synth(text), s.native_rate,
                                                      RATE).astype(np.float32)
    return out


def window(clip: np.ndarray | None, noise: np.ndarray, snr: float | None,
           at_s: float) -> tuple[np.ndarray, float]:
    """A window: noise (at ``snr`` dB under the speech's level; None: a quiet room) with the
    clip at ``at_s``; and when the speech ends, s."""
    n = int(RATE * WINDOW_S)
    x = np.random.default_rng(0).normal(0, 0.002, n).astype(np.float32)
    end = 0.0
    level = 0.1
    if clip is not None:
        a = int(at_s * RATE)
        x[a:a + clip.size] += clip
        level = rms(clip[np.abs(clip) > 0.01]) if np.any(np.abs(clip) > 0.01) else rms(clip)
        loud = np.flatnonzero(np.abs(clip) > 0.02 * np.max(np.abs(clip)))
        end = at_s + (loud[-1] + 1) / RATE  # the speech's end, not the clip's trailing silence
    if snr is not None:
        x += noise[:n] * level / 10 ** (snr / 20)
    return x, end


def hear(rec: SphinxRecognizer, x: np.ndarray) -> tuple[int | None, float, float]:
    """The rating the window gives (its last answer), the audio position at that answer, s,
    and the processing time of the step that gave it."""
    chunks = (x[i:i + CHUNK] for i in range(0, x.size, CHUNK))
    fed = [0]

    def counted():
        for c in chunks:
            fed[0] += c.size
            yield c

    rating, at, took = None, 0.0, 0.0
    t0 = time.perf_counter()
    for h in answers(counted(), rec, "rating", WINDOW_S):
        rating, at, took = h.rating, fed[0] / RATE, time.perf_counter() - t0
        t0 = time.perf_counter()
    return rating, at, took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--voices", type=int, default=6, help=f"espeak-ng voices (of {len(VOICES)})")
    ap.add_argument("--skip-voices", type=int, default=1,
                    help="leave out the first N voices (the gate was tuned on the first)")
    ap.add_argument("--empty", type=int, default=100, help="empty windows per noise")
    ap.add_argument("--gate-db", type=float, default=None, help="the energy gate (vad.GATE_DB)")
    args = ap.parse_args()
    if args.gate_db is not None:
        from coach.audio.listen import vad
        vad.GATE_DB = args.gate_db
    voices = list(dict.fromkeys(VOICES))[args.skip_voices:args.skip_voices + args.voices]
    clips = speech_clips(voices)
    rng = np.random.default_rng(22)
    rec = SphinxRecognizer()
    cpu0, audio_s = time.process_time(), 0.0
    print(f"{len(voices)} espeak-ng voices ({', '.join(voices)}) x {len(SPEEDS)} speeds x "
          f"{len(ANSWERS)} answers; "
          f"windows of {WINDOW_S:g} s; {args.empty} empty windows per noise")
    print("| noise | SNR, dB | exact | no answer | wrong | latency, s (median, max) |")
    print("|---|---|---|---|---|---|")
    for kind, make in (("gym", gym), ("music", music)):
        for snr in SNRS:
            if snr is None and kind == "music":
                continue
            ok = none = wrong = 0
            lat: list[float] = []
            for (_v, _speed, text), clip in clips.items():
                if text not in ANSWERS:
                    continue
                x, end = window(clip, make(int(RATE * WINDOW_S), rng), snr,
                                at_s=float(rng.uniform(0.3, 2.0)))
                audio_s += WINDOW_S
                got, at, took = hear(rec, x)
                want = RATING_OF[text.split()[-1]]
                if got is None:
                    none += 1
                elif got == want:
                    ok += 1
                    lat.append(at - end + took)
                else:
                    wrong += 1
            n = ok + none + wrong
            la = f"{np.median(lat):.2f}, {max(lat):.2f}" if lat else "-"
            print(f"| {kind if snr is not None else 'quiet room'} | "
                  f"{'-' if snr is None else snr} | {ok}/{n} ({ok / n:.2f}) | {none} | {wrong} | "
                  f"{la} |", flush=True)
    print()
    print("| empty windows | false ratings per 100 |")
    print("|---|---|")
    for kind, make in (("gym noise", gym), ("music", music)):
        false = 0
        for _ in range(args.empty):
            x, _ = window(None, make(int(RATE * WINDOW_S), rng), float(rng.choice([0, 10, 20])),
                          0.0)
            audio_s += WINDOW_S
            false += hear(rec, x)[0] is not None
        print(f"| {kind} | {100 * false / args.empty:.1f} |", flush=True)
    false = total = 0
    for (_v, _speed, text), clip in clips.items():
        if text in OFF:
            x, _ = window(clip, gym(int(RATE * WINDOW_S), rng), None, 1.0)
            audio_s += WINDOW_S
            total += 1
            false += hear(rec, x)[0] is not None
    print(f"| off-grammar speech ({', '.join(OFF)}), quiet room | "
          f"{100 * false / max(total, 1):.1f} |")
    cpu = time.process_time() - cpu0
    print(f"\nCPU: {cpu:.1f} s for {audio_s:.0f} s of audio = {cpu / audio_s:.4f} CPU-s per "
          "audio second (endpointer + decoder; capture by parec not included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
