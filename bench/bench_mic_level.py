"""How quiet a voice coach still hears: each answer said by several espeak-ng voices into a quiet
room's mic (a -70 dBFS hiss), turned down 4 dB at a time, through `coach mic`'s own path
(coach/audio/listen/check.py: the gate, the endpointer, the engine). Per voice and answer, the
quietest level heard right (the stretch's mean, dBFS, as `coach mic` prints it) and the first
step lost; then the overall floor. What `coach mic`'s "your voice is quiet" line is set from.

    nice -n 10 taskset -c 0 .venv/bin/python bench/bench_mic_level.py [--engine moonshine]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.audio.listen import vad  # noqa: E402
from coach.audio.listen.check import check  # noqa: E402
from coach.audio.listen.engines import ENGINES, recognizer  # noqa: E402
from coach.audio.listen.recognizer import RATE, meaning  # noqa: E402

VOICES = ("en", "en-us", "en-gb-scotland", "en+f3", "en+m7")
ANSWERS = ("one", "two", "three", "four", "five", "it was a three")
STEPS_DB = range(0, -44, -4)  # from espeak-ng's own level (peak about -4 dBFS) down
ROOM_DBFS = -70.0


def espeak(text: str, voice: str) -> np.ndarray:
    import io
    import subprocess
    import wave

    import soxr
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "--stdout", text],
                         capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    x = soxr.resample(x, rate, RATE).astype(np.float32)
    return x * (0.6 / float(np.max(np.abs(x))))  # peak -4.4 dBFS: a headset mic near the mouth


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=ENGINES, default="pocketsphinx")
    ap.add_argument("--quiet-dbfs", type=float, metavar="DB",
                    help="the gate's floor (vad.QUIET_DBFS, -50 as built): a candidate measured")
    args = ap.parse_args()
    if args.quiet_dbfs is not None:
        vad.QUIET_DBFS = args.quiet_dbfs
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; engine "
          f"{args.engine}; gate floor {vad.QUIET_DBFS:g} dBFS; room {ROOM_DBFS:g} dBFS; steps "
          "of 4 dB from a peak of -4.4 dBFS")
    rec = recognizer(args.engine)
    rng = np.random.default_rng(70)
    print("| voice | answer | quietest heard right, stretch dBFS | first lost: stretch dBFS "
          "(what came of it) |")
    print("|---|---|---|---|")
    heard_floor: list[float] = []
    lost_at: list[float] = []
    for voice in VOICES:
        for text in ANSWERS:
            clip = espeak(text, voice)
            want = meaning(text, "rating")[0]
            last_ok: float | None = None
            lost = "never"
            for step in STEPS_DB:
                x = rng.normal(0, 10 ** (ROOM_DBFS / 20), RATE * 4).astype(np.float32)
                x[RATE:RATE + clip.size] += clip * 10 ** (step / 20)
                chunks = [x[i:i + RATE // 10] for i in range(0, x.size, RATE // 10)]
                r = check(chunks, rec, "rating", 4.0)
                level = (max(s.dbfs for s in r.stretches) if r.stretches else
                         # no stretch: the clip's own level there, as it would have measured
                         10 * float(np.log10(np.mean((clip[np.abs(clip) > 0.006] * 10 ** (
                             step / 20)).astype(np.float64) ** 2))))
                if [d.heard.rating for d in r.decided] == [want]:
                    last_ok = level
                    continue
                what = ("no stretch of speech" if not r.stretches else
                        f"heard {[d.heard.text for d in r.decided]}" if r.decided else
                        "speech, no answer")
                lost = f"{level:.0f} ({what})"
                lost_at.append(level)
                break
            if last_ok is not None:
                heard_floor.append(last_ok)
            print(f"| {voice} | {text} | {'-' if last_ok is None else f'{last_ok:.0f}'} | "
                  f"{lost} |")
    print(f"\nquietest heard right: median {np.median(heard_floor):.0f} dBFS, loudest of them "
          f"{max(heard_floor):.0f}; first lost: median {np.median(lost_at):.0f}, loudest "
          f"{max(lost_at):.0f} dBFS ({len(lost_at)} of {len(VOICES) * len(ANSWERS)} lost "
          f"within {min(STEPS_DB)} dB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
