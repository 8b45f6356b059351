"""The speech engines' cost on one core, per clip and per character: the figures behind
coach/audio/voice/cost.py (the model `coach check` uses to prove that a remedy's new clips are
made before they are heard). Each engine runs in a fresh process pinned to core 0
(`taskset -c 0`, the budget of the daemon's one clip worker) with an empty cache, on every
distinct text of the shipped programs and of their remedied plans (every exercise given
`remedy: true`, feel 2 after set 1 and after set 2: the words said in the rest, the flex cue,
the announcements with the new tempo). Both elapsed time and CPU seconds (this process's
threads and, for Piper, its model's child process) are counted.

A clip's cost on one core is the larger of its elapsed time and its CPU seconds: espeak-ng
through pyttsx3 spends most of a clip waiting in pyttsx3's loop (elapsed > CPU), and Piper's
onnxruntime pins a thread of its pool to each core, escaping `taskset` (CPU > elapsed: on one
core that CPU is time). Of the repeats, the least (what another process took from the core
left out as far as it can be). Prints, per engine: the engine's load; the least squares line
of the clips' cost against their characters and how far the farthest clip lies above it; the
same for elapsed time and CPU alone; the slowest synthesis of all against the line. Asserts
nothing.

    taskset -c 0 .venv/bin/python bench/bench_synth_cost.py [--engines espeak piper] [--repeats 2]
"""

from __future__ import annotations

import argparse
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


def texts() -> list[str]:
    """Every distinct spoken text of the shipped programs, own and remedied."""
    from coach.core.program import Remedy, load_program
    from coach.core.remedy import plan_changes
    from coach.core.timeline import compile_program

    out: list[str] = []
    for path in sorted((ROOT / "programs").glob("*.yaml")):
        program = load_program(path)
        program = dataclasses.replace(program, exercises=tuple(
            dataclasses.replace(ex, remedy=Remedy()) for ex in program.exercises))
        for after in (None, 1, 2):
            changes = () if after is None else plan_changes(program, 2, after)
            tl = compile_program(program, changes)
            out += [c.text for c in tl.cues if c.kind != "tick" and c.text.strip()]
    return list(dict.fromkeys(out))


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


def cpu_s() -> float:
    return time.process_time() + child_cpu_s()


def worker(engine: str, repeats: int) -> dict:
    """One engine in this (fresh, pinned) process: its load and each clip's cost."""
    from coach.audio.voice import Voice
    from coach.audio.voice.piper import release_piper
    from coach.core.program import VoiceSettings

    all_texts = texts()
    settings = VoiceSettings(engine=engine)
    loads: list[float] = []
    clips: dict[str, dict] = {}
    for _ in range(repeats):
        release_piper()
        with tempfile.TemporaryDirectory() as d:
            c0, w0 = cpu_s(), time.perf_counter()
            v = Voice(settings, "en", 48000, cache_dir=Path(d), require_real=True)
            v.prepare(["ready"])  # the engine's first synthesis (espeak-ng warms up in it)
            loads.append(max(cpu_s() - c0, time.perf_counter() - w0))
            for text in all_texts:
                c0, w0 = cpu_s(), time.perf_counter()
                clip = v.prepare([text])[text]
                c, w = cpu_s() - c0, time.perf_counter() - w0
                old = clips.setdefault(text, {"chars": len(text), "cpu_s": c, "wall_s": w,
                                              "core_s": max(c, w), "worst_s": 0.0,
                                              "audio_s": clip.samples.size / 48000})
                old["cpu_s"] = min(old["cpu_s"], c)
                old["wall_s"] = min(old["wall_s"], w)
                old["core_s"] = min(old["core_s"], max(c, w))
                old["worst_s"] = max(old["worst_s"], max(c, w))
            assert v.stats["synthesized"] == len(all_texts) + 1, v.stats
    release_piper()
    return {"engine": v.engine, "model": v.model, "cpus": len(os.sched_getaffinity(0)),
            "load_s": min(loads), "load_worst_s": max(loads), "clips": clips}


def fit(points: list[tuple[int, float]]) -> tuple[float, float, float]:
    """Least squares cost = a + b * chars; and the envelope's intercept (b kept, every point
    at or under the line)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    a = my - b * mx
    return a, b, max(y - b * x for x, y in points)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", nargs="+", default=["espeak", "piper"])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    taskset = shutil.which("taskset")
    if taskset is None:
        print("taskset not found: the figures must be for one core")
        sys.exit(2)
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               "?")
    print(f"{os.cpu_count()} cores here ({cpu}); load average {os.getloadavg()[0]:.2f}")
    for engine in args.engines:
        cmd = [taskset, "-c", "0", sys.executable, __file__, "--worker", engine,
               str(args.repeats)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{engine}: failed: {p.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        clips = list(r["clips"].values())
        audio = sum(c["audio_s"] for c in clips)
        chars = sorted(c["chars"] for c in clips)
        print(f"\n{r['engine']} ({r['model']}), {r['cpus']} cpu, {len(clips)} texts of "
              f"{chars[0]}-{chars[-1]} chars, {args.repeats} syntheses each")
        print(f"  load (its first synthesis included): {r['load_s']:.3f} s "
              f"(slowest {r['load_worst_s']:.3f} s)")
        for what, key in (("one core", "core_s"), ("elapsed", "wall_s"), ("CPU", "cpu_s")):
            total = sum(c[key] for c in clips)
            a, b, env = fit([(c["chars"], c[key]) for c in clips])
            over = max(c[key] / (a + b * c["chars"]) for c in clips)
            print(f"  {what:<8}: {total:6.2f} s for {audio:.1f} s of audio "
                  f"({total / audio:.4f} s per s of audio, {1000 * total / len(clips):5.1f} ms a "
                  f"clip); least squares {1000 * a:5.1f} ms + {1000 * b:.3f} ms/char (the "
                  f"farthest clip above it at {over:.2f}x)")
        line = fit([(c["chars"], c["core_s"]) for c in clips])
        worst = max(c["worst_s"] / (line[0] + line[1] * c["chars"]) for c in clips)
        print(f"  the slowest of all syntheses against the one-core line: {worst:.2f}x")
        for lo, hi in ((0, 10), (10, 30), (30, 60), (60, 1000)):
            sel = [c for c in clips if lo <= c["chars"] < hi]
            if sel:
                print(f"  {lo:>3}-{hi:<4} chars: {len(sel):>3} clips, one core "
                      f"{1000 * min(c['core_s'] for c in sel):.1f}-"
                      f"{1000 * max(c['core_s'] for c in sel):.1f} ms (slowest synthesis "
                      f"{1000 * max(c['worst_s'] for c in sel):.1f}), CPU "
                      f"{1000 * min(c['cpu_s'] for c in sel):.1f}-"
                      f"{1000 * max(c['cpu_s'] for c in sel):.1f} ms")

if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
