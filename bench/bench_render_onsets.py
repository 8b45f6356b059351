"""Cue onsets in a rendered WAV against the plan: `coach render` a program, then find each cue's
first sample at or above -45 dBFS from 20 ms before its planned frame (a detector of its own, not
the voice's trimming threshold) and print the error.

Usage: .venv/bin/python bench/bench_render_onsets.py [PROGRAM.yaml]   (default: full-session)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    prog = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "programs" / "full-session.yaml")
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as d:
        out = Path(d) / "out.wav"
        subprocess.run([sys.executable, "-m", "coach.cli", "render", prog, "-o", str(out)],
                       cwd=ROOT, check=True, capture_output=True)
        with wave.open(str(out)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    plan = json.loads(subprocess.run([sys.executable, "-m", "coach.cli", "plan", "--json", prog],
                                     cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    planned = np.array([round(e["t"] * rate) for e in plan["events"] if e["type"] == "cue"])
    loud = np.flatnonzero(np.abs(x) > 10 ** (-45 / 20))
    k = np.searchsorted(loud, planned - rate // 50)
    found = loud[np.minimum(k, loud.size - 1)]
    err = np.abs(found - planned) * 1000 / rate
    print(f"program: {prog} ({plan['duration'] / 60:.1f} min, {planned.size} cues, {rate} Hz)")
    print(f"onset error vs plan: median {np.median(err):.3f} ms  p99 {np.percentile(err, 99):.3f} ms"
          f"  max {err.max():.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
