"""Ducking measured in the audio: how deep the music goes under each cue, when its fade starts
and ends against the cue's first sample, how soon it is back after the clip, and what the
ducker's thread costs.

    .venv/bin/python bench/bench_duck.py [--runs 3] [--seconds 60] [--only timing cpu]

Timing, --runs times: `coach run` of PROGRAM below (espeak-ng, warm clip cache, `duck: {level:
-12dB}`) into a private PulseAudio null sink while a music stream (pacat, media.role=music) plays
a 15 kHz tone at -10.5 dBFS; parec records the sink's monitor. The voice's clips are made at
22.05 kHz and resampled, so nothing of them lies above 11 kHz: the tone's level is read
sample by sample (its band, 14.8-15.2 kHz, as an analytic signal, ~2.5 ms resolution) without
the voice in it. Per cue that starts a duck
interval: fade start (the tone first 0.5 dB down) and full depth (within 1 dB of the level)
relative to the cue's first sample (where the plan puts it, by the offset that best fits the
voice's onsets, -40 dBFS in 300-4000 Hz, to the cues); depth = median level from
full depth to the clip's end; per interval end: the tone's first rise after the clip's end
(0.5 dB up from depth) and its return (within 1 dB of its own level, staying there 50 ms),
relative to the clip's last sample. Cues in the first 2 s are not measured (the null sink is
settling to real-time pace then). Target: -12 dB ± 1, fade down from ~150 ms before, full at
the onset, back within 300 ms.

CPU, --seconds: a Ducker in this process against the same kind of server and music stream,
following a clock-driven position through the duck plan of programs/full-session.yaml (its
real clip lengths, espeak-ng) for --seconds from its start: the ducker thread's
utime+stime (/proc/self/task/TID/stat) and the volume changes it made.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from tests.support.audio import RATE, PulseServer  # noqa: E402
from tests.support.duck import PLAN_SCRIPT, Clock, Music, cue_positions, voice_onsets  # noqa: E402

TONE_HZ = 15000.0
TONE_AMP = 0.3
LEVEL_DB = -12.0

PROGRAM = """\
program: Duck bench
defaults: {lead_in: 3s, rest: 5s}
exercises:
  - name: Wall sit
    focus: Push through the heels.
    hold: 20s
  - name: Row
    sets: 2
    reps: 3
    tempo: "3030"
  - name: Plank
    hold: 15s
"""

def band(x: np.ndarray, lo: float, hi: float, analytic: bool = False) -> np.ndarray:
    """``x`` with only [lo, hi] Hz kept; ``analytic``: the complex analytic signal (its abs is
    the band's envelope)."""
    spec = np.fft.rfft(x.astype(np.float64))
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    spec[(f < lo) | (f > hi)] = 0
    if not analytic:
        return np.fft.irfft(spec, len(x))
    full = np.zeros(len(x), complex)
    full[:len(spec)] = spec
    full[1:len(spec)] *= 2
    return np.fft.ifft(full)


def tone_db(x: np.ndarray) -> np.ndarray:
    env = np.abs(band(x, TONE_HZ - 200, TONE_HZ + 200, analytic=True))
    k = RATE // 400  # 2.5 ms running mean: the envelope's ripple out
    env = np.convolve(env, np.ones(k) / k, mode="same")
    return 20 * np.log10(np.maximum(env, 1e-9))


def measure(x: np.ndarray, plan: dict, after: int) -> dict[str, list[float]]:
    cues = plan["cues"]
    at, _ = cue_positions(voice_onsets(x, after), [c for c, _ in cues])
    lvl = tone_db(x)
    ms = 1000 / RATE
    ref = float(np.median(lvl[len(lvl) - RATE:len(lvl) - RATE // 10]))  # coach gone: its own level
    out: dict[str, list[float]] = {"fade_start": [], "full": [], "depth": [], "rise": [], "back": []}
    settle = 2 * RATE
    for k, ((c, n), onset) in enumerate(zip(cues, at)):
        if c < settle:
            continue
        i = int(np.searchsorted(plan["starts"], c, side="right")) - 1
        first_of_interval = next(j for j, (cc, _) in enumerate(cues) if cc >= plan["starts"][i]) == k
        if first_of_interval:
            # The music's last moment at its own level before the cue (up to 400 ms before;
            # a cue whose music never came back since the previous interval is not counted),
            # then its first at full depth.
            a = onset - RATE * 4 // 10
            w = lvl[a: onset + n]
            up = np.flatnonzero(w[:RATE // 2] >= ref - 0.5)
            if len(up):
                full = np.flatnonzero(w[up[-1]:] <= ref + LEVEL_DB + 1)
                if len(full):
                    f = a + int(up[-1]) + int(full[0])
                    out["fade_start"].append((a + int(up[-1]) + 1 - onset) * ms)
                    out["full"].append((f - onset) * ms)
                    if onset + n - f > RATE // 20:
                        out["depth"].append(float(np.median(lvl[f:onset + n])) - ref)
        last_of_interval = all(cc >= plan["ends"][i] for cc, _ in cues[k + 1:k + 2])
        if last_of_interval:
            end = onset + n
            nxt = next((o for (cc, _), o in zip(cues[k + 1:], at[k + 1:]) if o is not None), None)
            w = lvl[end: (nxt - RATE // 2) if nxt is not None else end + RATE]
            if len(w) < RATE // 2:
                continue
            depth_here = float(np.median(lvl[max(onset, end - RATE // 10):end]))
            rise = np.flatnonzero(w > depth_here + 0.5)
            ok = np.abs(w - ref) <= 1.0
            run = RATE // 20
            steady = np.convolve(ok.astype(int), np.ones(run, int), mode="valid") == run
            back = np.flatnonzero(steady)
            if len(rise):
                out["rise"].append(int(rise[0]) * ms)
            if len(back):
                out["back"].append(int(back[0]) * ms)
    return out


def timing_run(tmp: Path, prog: Path) -> dict[str, list[float]]:
    with PulseServer(tmp / "pulse") as server:
        env = dict(server.env, XDG_CACHE_HOME=str(tmp / "cache"), XDG_STATE_HOME=str(tmp / "state"),
                   XDG_CONFIG_HOME=str(tmp / "config"))
        (tmp / "config" / "coach").mkdir(parents=True, exist_ok=True)
        (tmp / "config" / "coach" / "config.yaml").write_text(f"duck: {{level: {LEVEL_DB:g}dB}}\n")
        plan = json.loads(subprocess.run([sys.executable, "-c", PLAN_SCRIPT, str(prog)], cwd=ROOT,
                                         env=env, check=True, capture_output=True,
                                         text=True).stdout)
        cap = server.capture()
        music = Music(server.env, hz=TONE_HZ, amp=TONE_AMP)
        try:
            time.sleep(1.5)
            launched = cap.frames()
            r = subprocess.run([sys.executable, "-m", "coach.cli", "run", str(prog)], cwd=ROOT, env=env,
                               capture_output=True, text=True)
            if r.returncode != 0 or "ducking is off" in r.stderr:
                raise SystemExit(f"coach run failed: {r.stderr}")
            time.sleep(1.5)
            x = cap.stop()
        finally:
            music.stop()
    if os.environ.get("BENCH_DUCK_KEEP"):
        np.save(os.environ["BENCH_DUCK_KEEP"] + ".npy", x)
        Path(os.environ["BENCH_DUCK_KEEP"] + ".json").write_text(json.dumps(dict(plan, after=launched)))
    return measure(x, plan, launched)


def stat(v: list[float]) -> str:
    if not v:
        return "-"
    return f"{statistics.median(v):+.0f} [{min(v):+.0f}, {max(v):+.0f}]"


def cpu_run(tmp: Path, seconds: float) -> dict[str, float]:
    from coach.audio.duck import Ducker
    from coach.audio.pipeline import build_mixer, duck_plan, load, prepare_clips
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    _, tl = load(str(ROOT / "programs" / "full-session.yaml"))
    plan = duck_plan(build_mixer(tl, prepare_clips(tl)))
    with PulseServer(tmp / "pulse") as server:
        for k in ("XDG_RUNTIME_DIR", "HOME"):
            os.environ[k] = server.env[k]
        os.environ.pop("PULSE_SERVER", None)
        music = Music(server.env, hz=TONE_HZ, amp=TONE_AMP)
        try:
            time.sleep(0.5)
            ducker = Ducker(plan, LEVEL_DB, state_path=tmp / "ducked.json")
            ducker.start(Clock())
            run = ducker._run
            assert run is not None and run.thread is not None
            time.sleep(0.2)
            tid = run.thread.native_id

            def cpu() -> float:
                fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            c0, t0 = cpu(), time.monotonic()
            time.sleep(seconds)
            c1, t1 = cpu(), time.monotonic()
            steps = ducker.steps
            ducker.stop()
        finally:
            music.stop()
    span = sum(min(e, int(seconds * RATE)) - s for s, e in zip(plan.starts, plan.ends)
               if s < seconds * RATE)
    return {"cpu_s": c1 - c0, "wall_s": t1 - t0, "steps": steps, "ducked_s": span / RATE}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--only", nargs="+", choices=("timing", "cpu"), default=["timing", "cpu"])
    args = ap.parse_args()
    if "timing" in args.only:
        allv: dict[str, list[float]] = {}
        print("| run | depth dB | fade start, ms from onset | full depth, ms | rise after clip end, ms "
              "| back within 1 dB, ms |")
        print("|---|---|---|---|---|---|")
        for run in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory(prefix="coach-bench-duck-") as d:
                prog = Path(d) / "p.yaml"
                prog.write_text(PROGRAM)
                got = timing_run(Path(d), prog)
            for k, v in got.items():
                allv.setdefault(k, []).extend(v)
            print(f"| {run} | {stat(got['depth'])} | {stat(got['fade_start'])} | {stat(got['full'])} | "
                  f"{stat(got['rise'])} | {stat(got['back'])} |", flush=True)
        print(f"| all ({len(allv['fade_start'])} fades down, {len(allv['back'])} up) | "
              f"{stat(allv['depth'])} | {stat(allv['fade_start'])} | {stat(allv['full'])} | "
              f"{stat(allv['rise'])} | {stat(allv['back'])} |")
        print("(median [min, max]; depth in dB below the tone's own level)")
    if "cpu" in args.only:
        with tempfile.TemporaryDirectory(prefix="coach-bench-duck-") as d:
            c = cpu_run(Path(d), args.seconds)
        print(f"ducker thread: {c['cpu_s']:.2f} s CPU in {c['wall_s']:.1f} s "
              f"({100 * c['cpu_s'] / c['wall_s']:.2f} % of a core); {c['steps']} volume changes; "
              f"ducked {c['ducked_s']:.1f} s of it (programs/full-session.yaml's first "
              f"{args.seconds:g} s)")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
