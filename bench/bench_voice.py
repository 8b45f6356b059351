"""Synthesis timing figures for voice.py: cold synthesis per phrase, warm (disk cache) loads,
and a whole program's clips. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_voice.py [PROGRAM.yaml]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coach.audio.voice import Voice, prepare_timeline  # noqa: E402
from coach.core.program import Exercise, Pose, Program, Tempo, VoiceSettings  # noqa: E402
from coach.core.timeline import compile_program  # noqa: E402

PHRASES = ["3", "squeeze", "lower", "two, lower", "Lat pulldown. Set 1 of 3",
           "Lat pulldown. Set 1 of 3. 8 reps, tempo 4 0 4 0. Focus: drive the elbows down"]


def sample_program() -> Program:
    return Program("bench", (
        Exercise(name="Lat pulldown", kind="tempo", sets=3, reps=8,
                 tempo=Tempo("4040", (4000, 0, 4000, 0), (False,) * 4),
                 focus="Drive the elbows down; feel the lats stretch, then squeeze."),
        Exercise(name="Wall sit", kind="hold", sets=2, hold_ms=45_000),
        Exercise(name="Push-up burnout", kind="cadence", reps=50, cadence_ms=1500),
        Exercise(name="Posing", kind="poses", hold_ms=10_000, eyes_closed=True,
                 poses=(Pose("front double biceps", 10_000), Pose("side chest", 10_000))),
    ))


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        Voice(VoiceSettings(), cache_dir=Path(d) / "warmup").prepare(["warm up"])  # engine init
        print("phrase                                   cold ms  warm ms  clip s")
        for text in PHRASES:
            t0 = time.perf_counter()
            clip = Voice(VoiceSettings(), cache_dir=Path(d) / "a").prepare([text])[text]
            t1 = time.perf_counter()
            Voice(VoiceSettings(), cache_dir=Path(d) / "a").prepare([text])
            t2 = time.perf_counter()
            print(f"{text[:40]:40} {1000 * (t1 - t0):7.1f}  {1000 * (t2 - t1):7.1f}  "
                  f"{clip.samples.size / clip.rate:6.2f}")
        if len(sys.argv) > 1:
            from coach.core.program import load_program

            program = load_program(sys.argv[1])
        else:
            program = sample_program()
        tl = compile_program(program)
        n = len({c.text for c in tl.cues})
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            clips = prepare_timeline(tl, cache_dir=Path(d) / "prog", require_real=True)
            dt = time.perf_counter() - t0
            mb = sum(x.nbytes for x in clips.values()) / 1e6
            print(f"program {program.name!r}: {len(tl.cues)} cues, {n} distinct texts, {label}: "
                  f"{dt * 1000:.0f} ms ({dt * 1000 / max(1, n):.1f} ms/text), clips {mb:.1f} MB")


if __name__ == "__main__":
    main()
