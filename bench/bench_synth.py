"""Whole-program synthesis figures, espeak-ng vs Piper: engine start (Piper: loading the ONNX
model), cold synthesis into an empty cache, warm load from the cache; on all cores and on one
(`taskset -c 0`, like a busy Pi). Each run is a fresh process. Prints a table; asserts nothing.

    .venv/bin/python bench/bench_synth.py [PROGRAM.yaml]   (default programs/full-session.yaml)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def worker(engine: str, program_path: str) -> dict:
    """One measurement, in this (fresh) process: timings in seconds."""
    from coach.audio.voice import Voice
    from coach.core.program import load_program
    from coach.core.timeline import compile_program

    program = load_program(program_path)
    tl = compile_program(program)
    texts = list(dict.fromkeys(c.text for c in tl.cues if c.kind != "tick"))
    settings = dataclasses.replace(program.voice, engine=engine)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        v = Voice(settings, program.language, 48000, cache_dir=Path(d), require_real=True)
        t1 = time.perf_counter()
        clips = v.prepare(texts)
        t2 = time.perf_counter()
        warm = Voice(settings, program.language, 48000, cache_dir=Path(d), require_real=True)
        warm.prepare(texts)
        t3 = time.perf_counter()
    assert v.stats["synthesized"] == len(texts) and warm.stats["synthesized"] == 0
    audio_s = sum(c.samples.size for c in clips.values()) / 48000
    return {"engine": v.engine, "model": v.model, "texts": len(texts), "audio_s": audio_s,
            "init_s": t1 - t0, "cold_s": t2 - t1, "warm_s": t3 - t2,
            "cpus": len(os.sched_getaffinity(0))}


def main() -> None:
    program = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "programs" / "full-session.yaml")
    taskset = shutil.which("taskset")
    print(f"program {program}; {os.cpu_count()} cores here")
    print(f"{'engine':<7} {'model':<17} {'cpus':>4} {'texts':>5} {'audio s':>7} {'init s':>6} "
          f"{'cold s':>6} {'ms/text':>7} {'x realtime':>10} {'warm ms':>7}")
    for engine in ("espeak", "piper"):
        for pin in (False, True):
            cmd = [sys.executable, __file__, "--worker", engine, program]
            if pin:
                if taskset is None:
                    print(f"{engine:<7} (taskset not found: no single-core run)")
                    continue
                cmd = [taskset, "-c", "0", *cmd]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                print(f"{engine:<7} failed: {p.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            print(f"{r['engine']:<7} {r['model']:<17} {r['cpus']:>4} {r['texts']:>5} "
                  f"{r['audio_s']:>7.1f} {r['init_s']:>6.2f} {r['cold_s']:>6.2f} "
                  f"{1000 * r['cold_s'] / r['texts']:>7.1f} {r['audio_s'] / r['cold_s']:>10.1f} "
                  f"{1000 * r['warm_s']:>7.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3])))
    else:
        main()
