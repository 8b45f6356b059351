"""`coach run` in real time through a private PulseAudio null sink: onset error of every cue in
the parec capture (relative to the first cue), drift, underflows, and CPU seconds per minute of
playback of the coach process (sampled from /proc after start-up, so synthesis is excluded).

Usage: .venv/bin/python bench/bench_playback.py [PROGRAM.yaml] [--taskset CPUS]
Default program: programs/demo.yaml (2 min); the real-time run takes as long as the program.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.audio import PulseServer  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("program", nargs="?", default=str(ROOT / "programs" / "demo.yaml"))
    ap.add_argument("--taskset", metavar="CPUS", help="pin coach to these CPUs (e.g. 0)")
    args = ap.parse_args()
    plan = json.loads(subprocess.run([sys.executable, "-m", "coach.cli", "plan", "--json",
                                      args.program], check=True, capture_output=True,
                                     text=True, cwd=ROOT).stdout)
    times = np.array([e["t"] for e in plan["events"] if e["type"] == "cue"])
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as d, \
            PulseServer(Path(d) / "pulse") as server:
        env = dict(server.env, XDG_CACHE_HOME=str(Path(d) / "cache"))
        subprocess.run([sys.executable, "-m", "coach.cli", "check", args.program], env=env,
                       check=True, capture_output=True, cwd=ROOT)  # warm the voice cache
        cap = server.capture()
        cmd = [sys.executable, "-m", "coach.cli", "run", args.program]
        if args.taskset:
            cmd = ["taskset", "-c", args.taskset, *cmd]
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        t_start = time.monotonic()
        mark = None
        last = None
        while proc.poll() is None:
            c = cpu_s(proc.pid)
            now = time.monotonic()
            if c is not None:
                if mark is None and now - t_start > 5:
                    mark = (now, c)
                last = (now, c)
            time.sleep(0.25)
        stderr = proc.stderr.read()
        x = cap.stop()
    rate = server.rate
    loud = np.flatnonzero(np.abs(x) > 10 ** (-45 / 20))
    first = int(loud[0])
    expected = first + np.round((times - times[0]) * rate).astype(np.int64)
    k = np.searchsorted(loud, expected - rate // 50)
    found = np.where(k < loud.size, loud[np.minimum(k, loud.size - 1)], -1)
    err = (found - expected) * 1000 / rate
    underflows = sum(int(w.split()[0]) for w in
                     (line.split("WARNING coach.audio.player: ", 1)[-1] for line in stderr.splitlines()
                      if "output underflow" in line) if w.split()[0].isdigit())
    cpu_per_min = ((last[1] - mark[1]) / ((last[0] - mark[0]) / 60)) if mark and last else float("nan")
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.machine())
    print(f"machine: {os.cpu_count()} cores, {cpu}; taskset: {args.taskset or 'none'}")
    print(f"program: {args.program} ({plan['duration'] / 60:.1f} min, {len(times)} cues)")
    print(f"onset error vs plan (ms, relative to first cue): median {np.median(np.abs(err)):.3f}  "
          f"p99 {np.percentile(np.abs(err), 99):.3f}  max {np.abs(err).max():.3f}  "
          f"drift {err[-1] - err[0]:+.3f}")
    print(f"underflows: {underflows}")
    print(f"CPU: {cpu_per_min:.2f} s per minute of playback "
          f"({cpu_per_min / 60 * 100:.2f}% of one core)")
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
