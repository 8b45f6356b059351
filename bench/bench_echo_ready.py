"""When a rating's read-back can first be said: with an empty clip cache, a session's clips made
by the daemon's real clip worker in the order a start gives it (coach/daemon/prepare.py
`clip_order`, as a listening daemon asks for them), and when the last of the read-back's words
("five", "left side", "not saved": `echo_texts`) was made, against set 1's first question (the
first answer phase; every exercise asks `feel` where the file asks nothing, its switch at least
20 s), counted from the first clip as if the session had started then. A read-back word not
made yet is left out of what is said. Unpinned; asserts nothing.

    .venv/bin/python bench/bench_echo_ready.py [--engines espeak piper] [--last] [FILE ...]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_remedy_ahead import time_each_clip  # noqa: E402


def run(path: Path, engine: str, last: bool) -> tuple[int, int, float, float, float]:
    """Clips in the session, read-back words among them, when the last of those was made,
    when the last clip was made, and set 1's first question (s)."""
    from coach.core.navigation import echo_texts
    from coach.core.program import VoiceSettings, load_program
    from coach.core.timeline import compile_program
    from coach.daemon.clips import ClipJob, ClipPreparer, JobDone
    from coach.daemon.prepare import clip_order

    program = load_program(path)
    program = dataclasses.replace(
        program, voice=dataclasses.replace(program.voice, engine=engine) if engine == "piper"
        else VoiceSettings(),
        exercises=tuple(dataclasses.replace(ex, rate=ex.rate or ("feel",),
                                            switch_ms=max(ex.switch_ms, 20_000))
                        for ex in program.exercises))
    tl = compile_program(program)
    _, texts = clip_order(tl, 0, program.words, False, answers=True)
    echo = set(echo_texts(tl, program.words))
    if last:  # before 2026-12-07: after every clip of the timeline (then came resume words)
        from coach.audio.pipeline import first_use_ms
        moved = [t for t in texts if t in echo and t not in first_use_ms(tl, 0)]
        texts = [t for t in texts if t not in moved]
        k = max(i for i, t in enumerate(texts) if t in first_use_ms(tl)) + 1
        texts[k:k] = moved
    question = next(p.t_ms for p in tl.phases if p.phase == "answer") / 1000
    cache = Path(tempfile.mkdtemp(prefix="coach-bench-echo-"))
    done = threading.Event()
    made: dict[str, float] = {}
    since = [0.0]
    try:
        preparer = ClipPreparer(lambda m: done.set() if isinstance(m, JobDone) else None,
                                cache_dir=cache)
        time_each_clip(preparer, made, since)
        preparer.start()
        since[0] = time.perf_counter()
        preparer.set_busy(True)
        preparer.submit(ClipJob(path.stem, tl, texts, "session"))
        done.wait(1800)
        preparer.close()
        return len(texts), len(echo), max(made[t] for t in echo), max(made.values()), question
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--engines", nargs="+", default=["espeak", "piper"])
    ap.add_argument("--last", action="store_true",
                    help="the read-back's words after every clip of the timeline (the order "
                         "before they were moved up; a little earlier than it was)")
    args = ap.parse_args()
    files = args.files or [ROOT / "programs" / "unilateral-rated.yaml",
                           ROOT / "programs" / "full-session.yaml"]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}")
    print("| program | engine | clips | read-back words | last of them made (s) | every clip "
          "made (s) | set 1's question (s) |")
    print("|---|---|---|---|---|---|---|")
    for engine in args.engines:
        for path in files:
            n, k, echo_s, all_s, question = run(path, engine, args.last)
            print(f"| {path.stem} | {engine} | {n} | {k} | {echo_s:.1f} | {all_s:.1f} "
                  f"| {question:.0f} |", flush=True)
    print(f"load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
