"""A session's remedies made ahead by the daemon's real clip worker (issue 20), against the plan
`coach check` proves with (coach/core/remedytime.py `Worker`, at coach/audio/voice/cost.py's
costs): for each shipped program given `remedy: true` on every exercise, and each engine, the
session's own clips already in an empty cache of its own (as `coach check` leaves them), the
worker idle (Piper released, as between a check and a start), then the session's job and its
`ahead` job submitted as a start submits them. Prints, per program and engine: the number of
clips made ahead, when the last was made (s from the start, elapsed), the model's planned time
for them, the earliest rating moment (set 1's end) and the worker's CPU seconds (this process
and, for Piper, its model's child). Unpinned (the worker's engine uses what the machine
gives it; Piper's onnxruntime escapes taskset anyway). Asserts nothing.

    .venv/bin/python bench/bench_remedy_ahead.py [--engines espeak piper] [FILE ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child_cpu_s() -> float:
    """CPU seconds of the loaded Piper model's child process (0 when there is none)."""
    from coach.audio.voice.piper import _Piper
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for engine in _Piper._voices.values():
        try:
            fields = Path(f"/proc/{engine.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def time_each_clip(preparer: Any, made: dict[str, float], since: list[float],
                   after: Callable[[], None] = lambda: None) -> None:
    """Wrap the clip worker's making of one clip: when each was made, seconds after
    ``since[0]`` (a perf_counter reading the caller sets), into ``made``; ``after`` runs then."""
    real = preparer._make

    def timed(job, text):  # type: ignore[no-untyped-def]
        out = real(job, text)
        made[text] = time.perf_counter() - since[0]
        after()
        return out

    preparer._make = timed


def run(path: Path, engine: str) -> tuple[int, float, float, float, float] | None:
    from coach.audio.voice.cost import ENGINE_COSTS
    from coach.core.program import Remedy, VoiceSettings, load_program
    from coach.core.remedytime import Worker, ahead_texts, remedy_cases, session_texts
    from coach.core.timeline import compile_program
    from coach.daemon.clips import ClipJob, ClipPreparer, JobDone

    program = load_program(path)
    program = dataclasses.replace(
        program, voice=dataclasses.replace(program.voice, engine=engine) if engine == "piper"
        else VoiceSettings(),
        exercises=tuple(dataclasses.replace(ex, remedy=Remedy()) for ex in program.exercises))
    tl = compile_program(program)
    own = session_texts(program, tl)
    ahead = ahead_texts(remedy_cases(program))
    if not ahead:
        return None
    cache = Path(tempfile.mkdtemp(prefix="coach-bench-ahead-"))
    done = threading.Event()
    try:
        preparer = ClipPreparer(lambda m: done.set() if isinstance(m, JobDone) else None,
                                cache_dir=cache)
        preparer.start()
        preparer.submit(ClipJob(path.stem, tl, own, "session"))
        done.wait(600)
        while preparer.pending():
            time.sleep(0.01)
        time.sleep(1.0)  # idle: the worker releases Piper, as between a check and a start
        made: dict[str, float] = {}
        child = [0.0]  # the model's child ends when the worker goes idle: read after each clip
        since = [0.0]

        def read_child() -> None:
            child[0] = max(child[0], child_cpu_s())

        time_each_clip(preparer, made, since, read_child)
        done.clear()
        cpu0, since[0] = time.process_time(), time.perf_counter()
        preparer.set_busy(True)
        preparer.submit(ClipJob(path.stem, tl, own, "session"))
        preparer.submit(ClipJob(path.stem, tl, [], "ahead", plan=lambda: ahead))
        while preparer.pending():
            time.sleep(0.005)
        last = max(made[t] for t in ahead)
        cpu = time.process_time() - cpu0 + child[0]
        preparer.close()
        planned = Worker.start(ENGINE_COSTS[engine], own, ahead, set(own).__contains__).done_s
        return len(ahead), last, planned, tl.sets[0].work_end_ms / 1000, cpu
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--engines", nargs="+", default=["espeak", "piper"])
    args = ap.parse_args()
    files = args.files or sorted((ROOT / "programs").glob("*.yaml"))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}")
    print("| program | engine | clips ahead | last made (s) | planned (s) | set 1 ends (s) "
          "| CPU (s) |")
    print("|---|---|---|---|---|---|---|")
    for engine in args.engines:
        if engine == "piper":
            from coach.audio.voice import piper_problem
            if piper_problem() is not None:
                print(f"piper: {piper_problem()}", file=sys.stderr)
                return 2
        for path in files:
            r = run(path, engine)
            if r is None:
                continue
            n, last, planned, end, cpu = r
            print(f"| {path.stem} | {engine} | {n} | {last:.2f} | {planned:.2f} | {end:.0f} "
                  f"| {cpu:.2f} |", flush=True)
    print(f"load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
