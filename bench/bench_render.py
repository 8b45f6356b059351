"""Mixer benchmark: render speed (x real time) and peak RSS of rendering whole programs to WAV.

Usage: bench/bench_render.py [PROGRAM.yaml] [--rate HZ]
Without a program (or if the compiler/voice are unavailable) a synthetic timeline is used.
"""

from __future__ import annotations

import argparse
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coach.audio.wavout import render_to_wav  # noqa: E402
from coach.core.mixer import TICK_KEY, Mixer, clip_key  # noqa: E402
from coach.core.timeline import Cue, Phase, Timeline  # noqa: E402

logger = logging.getLogger(__name__)


def synthetic(minutes: int, rate: int) -> tuple[Timeline, dict[str, np.ndarray]]:
    """A cue every second with realistic clip lengths: short words (0.25-0.8 s: numbers,
    "lower", "squeeze"), "two, lower"-style rep words (~1 s), a 5-8 s announcement every
    2 minutes, and ticks; ~40 distinct clips, as in a real program."""
    rng = np.random.default_rng(1)

    def clip(seconds: float) -> np.ndarray:
        return (0.3 * rng.standard_normal(int(seconds * rate))).astype(np.float32)

    words = {f"word{i}": clip(0.25 + 0.05 * i) for i in range(12)}
    reps = {f"rep{i}": clip(0.9 + 0.02 * i) for i in range(20)}
    announces = {f"announce{i}": clip(5 + i) for i in range(4)}
    clips = {**words, **reps, **announces, TICK_KEY: clip(0.015)}
    events: list = []
    for s in range(minutes * 60):
        t = s * 1000
        if s % 120 == 0:
            events.append(Phase(t, 8000, "announce", "Ex", 0, 1, None, None, None))
            text, kind = f"announce{(s // 120) % 4}", "speech"
        elif s % 120 < 8:
            continue  # the announcement is still being said
        elif s % 7 == 0:
            text, kind = "tick", "tick"
        elif s % 4 == 0:
            text, kind = f"rep{(s // 4) % 20}", "speech"
        else:
            text, kind = f"word{s % 12}", "speech"
        if s % 4 == 1:
            events.append(Phase(t, 4000, "eccentric", "Ex", 0, 1, 1, None, None))
        events.append(Cue(t, text, "numbers", "Ex", 0, 1, None, kind))
    return Timeline("synthetic", minutes * 60_000, tuple(events)), clips


def real(program_path: str, rate: int) -> tuple[Timeline, dict[str, np.ndarray]] | None:
    """The program compiled and voiced by coach itself, or None if those parts are missing."""
    try:
        from coach.audio.voice import prepare_timeline
        from coach.core.program import load_program
        from coach.core.timeline import compile_program
    except ImportError as e:
        print(f"(real program unavailable: {e}; using the synthetic timeline)")
        return None
    timeline = compile_program(load_program(program_path))
    clips = prepare_timeline(timeline, rate=rate)
    return timeline, clips


def speed(mixer: Mixer, block: int) -> float:
    """Frames rendered per second of CPU wall time, divided by the rate: x real time."""
    t0 = time.perf_counter()
    for f in range(0, mixer.total_frames, block):
        mixer.render(f, block)
    return mixer.total_frames / mixer.rate / (time.perf_counter() - t0)


def child(minutes: int, rate: int, program: str | None) -> None:
    """Runs in its own process: build, render to a WAV, print peak RSS (KiB) before and after."""
    got = real(program, rate) if program else None
    timeline, clips = got if got else synthetic(minutes, rate)
    mixer = Mixer(timeline, clips, rate=rate)
    built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        render_to_wav(mixer, Path(d) / "out.wav")
        wall = time.perf_counter() - t0
        size = (Path(d) / "out.wav").stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{timeline.duration_ms / 60000:.1f} {built} {peak} {wall:.3f} {size}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("program", nargs="?", help="a program YAML (default: synthetic timeline)")
    ap.add_argument("--rate", type=int, default=48000)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.rate, args.program)
        return

    got = real(args.program, args.rate) if args.program else None
    if got:
        timeline, clips = got
        label = f"{args.program}"
    else:
        timeline, clips = synthetic(60, args.rate)
        label = "synthetic 60-minute timeline"
    cues = timeline.cues
    lens = [len(clips[clip_key(c)]) / args.rate for c in cues]
    print(f"{label}: {timeline.duration_ms / 60000:.1f} min, {len(cues)} cues, "
          f"{len(clips)} distinct clips, clip length median {np.median(lens):.2f} s "
          f"max {max(lens):.2f} s, rate {args.rate} Hz")
    t0 = time.perf_counter()
    mixer = Mixer(timeline, clips, rate=args.rate)
    print(f"  Mixer construction: {(time.perf_counter() - t0) * 1000:.1f} ms")
    for block in (256, 1024, 48000):
        print(f"  render() in blocks of {block:>5} frames: {speed(mixer, block):8.0f} x real time")

    print("peak RSS of rendering to WAV (each in a fresh process; ru_maxrss):")
    runs = [(m, None) for m in (5, 60, 120)] + ([(0, args.program)] if got else [])
    for minutes, program in runs:
        cmd = [sys.executable, __file__, "--child", str(minutes), "--rate", str(args.rate)]
        if program:
            cmd.append(program)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
        dur, built, peak, wall, size = float(out[0]), int(out[1]), int(out[2]), float(out[3]), int(out[4])
        name = program or "synthetic"
        print(f"  {name} {dur:6.1f} min: RSS after build {built / 1024:6.1f} MiB, peak while "
              f"rendering {peak / 1024:6.1f} MiB; WAV {size / 2**20:7.1f} MiB written in "
              f"{wall:5.2f} s ({dur * 60 / wall:5.0f} x real time)")


if __name__ == "__main__":
    main()
