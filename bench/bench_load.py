"""coach under CPU load: `coach run` into a private PulseAudio null sink, captured with parec,
on an idle machine, with a busy-loop hog on every core, and pinned to core 0 with a hog there too
(a Pi-like budget); prints cue onset error and coach's logged underflows for each.

    .venv/bin/python bench/bench_load.py [FILE] [--only idle|hog|pinned|busy|busy-user ...]

"busy": five busy loops, each in a session of its own (the kernel's autogroups then weigh each
as a whole terminal session, against coach's one), not pinned; "busy-user" the same with coach
run as a user would be, even as root: without CAP_SYS_NICE or an RLIMIT_RTPRIO/RLIMIT_NICE, so
its playback threads get no real-time priority (coach.audio.priority).

Onsets as in bench_vs_naive.py (first sample >= -45 dBFS from 20 ms before each planned cue,
relative to the first cue). The hogs are plain `python -c "while True: pass"` processes at the
same priority as coach; PulseAudio and parec are not pinned (on a Pi the sound server shares the
cores too, but here it may run on a core without a hog).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_vs_naive import (  # noqa: E402
    COACH,
    capture_run,
    coach_env,
    coach_sounds,
    find_onsets,
    fmt,
    machine,
    real_parts_missing,
    summarize,
    underflows,
)
from tests.support.audio import PulseServer  # noqa: E402

# ~75 s: tempo reps (a cue every second) and a high-rep cadence set (a count or tick every 1 s).
LOAD_PROGRAM = """\
program: Bench load
voice: {engine: espeak, rate: 170, volume: 0.9}
defaults: {rest: 5s, lead_in: 5s}
exercises:
  - name: Lat pulldown
    reps: 4
    tempo: "2-1-2-1"
  - name: Push-up burnout
    reps: 25
    cadence: 1s
"""

HOG = [sys.executable, "-c", "while True: pass"]
CONDITIONS = ("idle", "hog", "pinned", "busy", "busy-user")
BUSY = 5
AS_USER = ["setpriv", "--bounding-set", "-sys_nice", "prlimit", "--rtprio=0", "--nice=0"]


class Hogs:
    """Busy-loop processes, one per listed CPU (each pinned there), stopped on exit."""

    def __init__(self, cpus: list[int], unpinned: int = 0):
        self.cpus = cpus
        self.unpinned = unpinned
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Hogs:
        for cpu in self.cpus:
            self.procs.append(subprocess.Popen(["taskset", "-c", str(cpu), *HOG]))
        for _ in range(self.unpinned):
            self.procs.append(subprocess.Popen(HOG, start_new_session=True))
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", metavar="FILE", help="default: a generated ~75 s program")
    ap.add_argument("--only", nargs="+", choices=CONDITIONS, default=list(CONDITIONS))
    args = ap.parse_args()
    why = real_parts_missing() or (None if shutil.which("taskset") else "missing `taskset`")
    if why:
        print(why, file=sys.stderr)
        return 2
    cpus = sorted(os.sched_getaffinity(0))
    setups = {"idle": ([], [], 0), "hog": (cpus, [], 0),
              "pinned": ([cpus[0]], ["taskset", "-c", str(cpus[0])], 0),
              "busy": ([], [], BUSY), "busy-user": ([], AS_USER, BUSY)}
    labels = {"idle": "idle", "hog": f"hog x{len(cpus)} (every core)",
              "pinned": f"taskset -c {cpus[0]} + hog on {cpus[0]}",
              "busy": f"{BUSY} busy loops", "busy-user": f"{BUSY} busy loops, as a user"}
    rows = []
    with tempfile.TemporaryDirectory(prefix="coach-load-") as tmp_s:
        tmp = Path(tmp_s)
        path = args.file
        if path is None:
            path = str(tmp / "bench-load.yaml")
            Path(path).write_text(LOAD_PROGRAM)
        cache_home = tmp / "cache"
        # Clips prepared once up front (and cached), so every condition starts warm alike.
        cues = coach_sounds(path, cache_home / "coach" / "clips")
        duration = cues[-1].t_ms / 1000 if cues else 0
        with PulseServer(tmp / "pulse") as pulse:
            env = coach_env(pulse, cache_home)
            for name in args.only:
                hog_cpus, prefix, unpinned = setups[name]
                with Hogs(hog_cpus, unpinned):
                    rec, log, rc, _ = capture_run(pulse, [*COACH, "run", path], env,
                                                  timeout=duration * 3 + 120, prefix=prefix)
                if rc != 0:
                    print(f"coach run ({name}) exited {rc}: {log[-1500:]}", file=sys.stderr)
                rows.append((labels[name], summarize(find_onsets(rec, cues, sequential=False)),
                             underflows(log), rc))
    print(machine())
    print(f"program: {args.file or 'generated (LOAD_PROGRAM)'}, {len(cues)} cues over "
          f"{duration:.1f} s; `coach run` into a PulseAudio null sink, parec capture")
    print(f"{'condition':<28} {'found':>6} {'missed':>7} {'masked':>7} {'median':>8} {'p99':>8} "
          f"{'max':>8} {'drift':>8} {'underflows':>10} {'exit':>5}")
    print(f"{'':<28} {'':>6} {'':>7} {'':>7} {'ms':>8} {'ms':>8} {'ms':>8} {'ms':>8}")
    for label, s, uf, rc in rows:
        print(f"{label:<28} {s['found']:>6} {s['missed']:>7} {s['masked']:>7} "
              f"{fmt(s['median_ms']):>8} {fmt(s['p99_ms']):>8} {fmt(s['max_ms']):>8} "
              f"{fmt(s['drift_ms'], '+.1f'):>8} {uf:>10} {rc:>5}")
    print("errors are |onset - plan| relative to the first cue; underflows = the highest count "
          "coach logged (\"N output underflow(s)\")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
