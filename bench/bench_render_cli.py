"""End-to-end `coach render` of real programs: speed (x real time) with a cold and a warm voice
cache, and peak RSS for 5-, 60- and 120-minute programs (memory must stay flat in length).

Usage: .venv/bin/python bench/bench_render_cli.py [--minutes 5 60 120]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.core.program import parse_program  # noqa: E402
from coach.core.timeline import compile_program  # noqa: E402

EXERCISES = [
    """  - name: Lat pulldown
    focus: Drive the elbows down; feel the lats stretch, then squeeze.
    sets: 3
    reps: 8
    tempo: "4040"
""",
    """  - name: Wall sit
    hold: 45s
""",
    """  - name: Push-up burnout
    reps: 50
    cadence: 1.5s
""",
    """  - name: Split squat
    sides: both
    reps: 8
    tempo: 31X0
""",
    """  - name: Posing
    poses: [front double biceps, side chest, back lat spread]
    hold: 10s
    eyes_closed: true
""",
]


def program_of(minutes: int) -> tuple[str, float]:
    """A program of at least `minutes`, cycling through the same exercises (so the number of
    distinct phrases, and so the clips held in memory, is the same at every length)."""
    head = f"program: Bench {minutes} min\ndefaults: {{rest: 90s, lead_in: 5s}}\nexercises:\n"
    body = ""
    i = 0
    while True:
        body += EXERCISES[i % len(EXERCISES)]
        i += 1
        text = head + body
        dur = compile_program(parse_program(text)).duration_ms / 1000
        if dur >= minutes * 60:
            return text, dur


def measure(minutes: int, tmp: Path) -> dict:
    text, dur = program_of(minutes)
    prog = tmp / f"bench{minutes}.yaml"
    prog.write_text(text)
    cache = tmp / f"cache{minutes}"
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    out = tmp / f"bench{minutes}.wav"
    cmd = [sys.executable, "-m", "coach.cli", "render", str(prog), "-o", str(out)]
    # A wrapper per run so ru_maxrss is this run's own peak.
    wrap = [sys.executable, "-c",
            "import resource,subprocess,sys; subprocess.run(sys.argv[1:], check=True, "
            "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"]
    rows = {}
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        r = subprocess.run(wrap + cmd, env=env, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        rows[label] = (wall, int(r.stdout.strip()) / 1024)
    out.unlink(missing_ok=True)
    return {"minutes": minutes, "duration_s": dur, **rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=int, nargs="+", default=[5, 60, 120])
    args = ap.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.machine())
    print(f"machine: {os.cpu_count()} cores, {cpu}; python {platform.python_version()}")
    print(f"{'program':>10} {'length':>8} {'cold s':>8} {'cold xRT':>9} {'warm s':>8} "
          f"{'warm xRT':>9} {'peak RSS MiB (cold/warm)':>26}")
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as d:
        for m in args.minutes:
            r = measure(m, Path(d))
            dur = r["duration_s"]
            (cw, cr), (ww, wr) = r["cold"], r["warm"]
            print(f"{m:>7}min {dur / 60:>7.1f}m {cw:>8.2f} {dur / cw:>9.0f} {ww:>8.2f} "
                  f"{dur / ww:>9.0f} {cr:>12.1f} / {wr:<10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
