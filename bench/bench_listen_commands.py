"""How well does coach hear spoken commands in a push-to-talk window? The corpus of
bench_listen.py (bench/listen_corpus.py: the same voices, noises and seeds) says each command
("pause" ... "how long", "stop", "yes") once per voice, placed at random early in a command
window (the daemon's COMMAND_S, 4 s), in a quiet room and with gym noise or music at 10 and
5 dB SNR; then the set's off-grammar phrases and the five rating numbers (which are no command)
and windows of noise or music alone, to count commands taken from them. Each window goes
through the endpointer in 0.1-s chunks with the chosen engine, as bench_listen.py's do.

    nice -n 10 taskset -c 0 .venv/bin/python bench/bench_listen_commands.py --set check
    nice -n 10 taskset -c 0 .venv/bin/python bench/bench_listen_commands.py --set check \\
        --engine moonshine
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_listen import CPU, arguments, empty_windows, hear  # noqa: E402
from listen_corpus import NOISES, NUMBERS, OFF, RATE, SEEDS, SETS, Synth, window  # noqa: E402

from coach.audio.listen.engines import recognizer  # noqa: E402
from coach.audio.listen.recognizer import COMMANDS, meaning  # noqa: E402
from coach.daemon.listening import COMMAND_S  # noqa: E402

CONDITIONS: tuple[tuple[str, float | None], ...] = (
    ("quiet room", None), ("gym", 10), ("gym", 5), ("music", 10), ("music", 5))


def command_of(words: str) -> str | None:
    return meaning(words, "command")[1] if words else None


def main() -> int:
    args = arguments(__doc__, empty=50).parse_args()
    voices = SETS[args.set]
    # no command among them (the tuning set's off-grammar phrases have "stop")
    others = [t for t in (*OFF[args.set], *NUMBERS) if t not in COMMANDS]
    synth = Synth(args.cache)
    clips = {(i, text): synth.clip(v, text) for i, v in enumerate(voices)
             for text in list(COMMANDS) + others}
    rng = np.random.default_rng(SEEDS[args.set] + 1)
    rec = recognizer(args.engine)
    audio_s = 0.0
    print(f"engine {args.engine}; set {args.set}: {len(voices)} voices x {len(COMMANDS)} "
          f"commands; command windows of {COMMAND_S:g} s; {args.empty} empty windows per noise")
    print("| noise | SNR, dB | exact | no command | wrong | latency, s (median, max) | of which "
          "processing |")
    print("|---|---|---|---|---|---|---|")
    for kind, snr in CONDITIONS:
        ok = none = wrong = 0
        lat: list[tuple[float, float]] = []
        misses: dict[str, int] = {}
        for i, _v in enumerate(voices):
            for text in COMMANDS:
                noise = NOISES[kind](int(RATE * COMMAND_S) + RATE * 2, rng) if snr else None
                x, end = window(clips[i, text], noise, snr, float(rng.uniform(0.3, 1.5)), rng)
                audio_s += COMMAND_S
                _, words, at, took = hear(rec, x, "command", COMMAND_S)
                got = command_of(words)
                if got == text:
                    ok += 1
                    lat.append((at - end + took, took))
                else:
                    none += got is None
                    wrong += got is not None
                    misses[text] = misses.get(text, 0) + 1
                    if args.detail:
                        print(f"  {kind} {snr} {voices[i].label} {text!r}: {words or 'nothing'!r}")
        n = ok + none + wrong
        la = (f"{np.median([t for t, _ in lat]):.2f}, {max(t for t, _ in lat):.2f} | "
              f"{np.median([p for _, p in lat]):.2f}, {max(p for _, p in lat):.2f}"
              if lat else "- | -")
        print(f"| {kind} | {'-' if snr is None else snr} | {ok}/{n} ({ok / n:.2f}) | {none} | "
              f"{wrong} | {la} |", flush=True)
        if misses:
            print("  missed: " + ", ".join(f"{k} {v}" for k, v in sorted(misses.items())))
    print()
    print("| windows with no command in them | commands given |")
    print("|---|---|")
    for kind, make in NOISES.items():
        given = empty_windows(rec, make, args.empty, rng,
                              lambda _got, words: command_of(words) is not None,
                              "command", COMMAND_S, COMMAND_S + 2)
        audio_s += args.empty * COMMAND_S
        print(f"| {kind} alone, {args.empty} | {len(given)} |", flush=True)
    for kind, snr in (("quiet room", None), ("gym", 10), ("music", 10)):
        false = total = 0
        for i, _v in enumerate(voices):
            for text in others:
                noise = NOISES[kind](int(RATE * COMMAND_S) + RATE * 2, rng) if snr else None
                x, _ = window(clips[i, text], noise, snr, float(rng.uniform(0.3, 1.5)), rng)
                audio_s += COMMAND_S
                total += 1
                _, words, _, _ = hear(rec, x, "command", COMMAND_S)
                got = command_of(words)
                false += got is not None
                if got is not None and args.detail:
                    print(f"  off {kind} {voices[i].label} {text!r}: {words!r}")
        print(f"| off-grammar speech and numbers, {kind}{'' if snr is None else f' {snr} dB'}, "
              f"{total} | {false} ({100 * false / max(total, 1):.1f} %) |", flush=True)
    print(f"\nnot commands: {', '.join(others)}")
    print(f"\nCPU: {CPU[0]:.1f} s for {audio_s:.0f} s of audio = {CPU[0] / audio_s:.4f} CPU-s "
          f"per audio second (endpointer + decoder); {time.strftime('%H:%M')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
