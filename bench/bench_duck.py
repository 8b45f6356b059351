"""Ducking measured in the audio: how deep the music goes under each cue (idle and beside busy
loops), when its fade starts and ends against the cue's first sample, how soon it is back after
the clip, and what ducking costs the daemon.

    .venv/bin/python bench/bench_duck.py [--runs 3] [--seconds 60] [--load 5]
                                         [--only timing depth daemon-cpu cpu]

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

Depth, --runs times per row: `coach daemon` (warm clip cache, `duck: {level: -12dB}`) plays
DENSE below (a tempo word every second, about 2 minutes) into the null sink beside the same
music stream, idle and beside --load busy loops (`python3 -c 'while 1: pass'`, each in a
session of its own, as a shell in another terminal starts them; killed after). Per cue
(cues in the first 2 s not counted): its depth, the median of the tone's level from the cue's
first sample to its clip's end, and its shallowest moment, the highest level in that span
(2.5 ms envelope): the music must be at the configured depth within 1 dB all through every
cue. "as a user" runs the daemon without CAP_SYS_NICE (`setpriv --bounding-set -sys_nice`,
RLIMIT_RTPRIO and RLIMIT_NICE 0: what a normal user has), so the ducker gets no real-time
scheduling and acts early by its own measured lateness instead.

Daemon CPU, --seconds: utime+stime of `coach daemon` (no -v) playing DENSE (warm cache) with
`duck: false`, with ducking on and no other stream, and on with the music stream; the same
for SPACED (a tempo word every 2 s: the music comes back between words, each word its own
duck); the ducker thread's own share from /proc/PID/task/TID (the thread named coach-duck).

CPU, --seconds: a Ducker in this process against the same kind of server and music stream,
following a clock-driven position through the duck plan of programs/full-session.yaml (its
real clip lengths, espeak-ng), then through a 0.6 s duck every second (twelve volume changes a
second, each duck with its own fades), for --seconds from its start: the ducker thread's
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

from bench.bench_daemon import Daemon, cpu_s  # noqa: E402
from coach.core.duckplan import DuckPlan  # noqa: E402
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

# A tempo word every second (0.3-0.7 s clips): the music would be back for under half a second
# between words, so each set is one duck (coach.core.duckplan.MIN_GAP_MS).
DENSE = """\
program: Duck dense
defaults: {lead_in: 3s, rest: 6s}
exercises:
  - name: Row
    sets: 3
    reps: 16
    tempo: "1010"
"""
# A tempo word every 2 s: the music comes back between words, each its own duck.
SPACED = DENSE.replace('tempo: "1010"', 'tempo: "2020"').replace("reps: 16", "reps: 8")
AS_USER = ["setpriv", "--bounding-set", "-sys_nice", "prlimit", "--rtprio=0", "--nice=0"]


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


def busy_loops(n: int) -> list[subprocess.Popen]:
    """``n`` of `python3 -c 'while 1: pass'`, each in a session of its own (the kernel's
    autogroups then weigh each as a terminal's whole session, as when started elsewhere)."""
    return [subprocess.Popen(["python3", "-c", "while 1: pass"], start_new_session=True)
            for _ in range(n)]


def daemon_session(tmp: Path, pulse: PulseServer, cache: Path, duck: str, music: bool,
                   prefix: list[str] | None = None, load: int = 0, cpu_window: float = 0,
                   capture: bool = False, verbose: bool = False, program: str = DENSE) -> dict:
    """`coach daemon` playing DENSE with config `duck: DUCK`, beside the music stream or not and
    ``load`` busy loops; the capture of the null sink, the plan, and the CPU of a window."""
    programs = tmp / "programs"
    programs.mkdir(parents=True, exist_ok=True)
    (programs / "dense.yaml").write_text(program)
    d = Daemon(tmp / "d", pulse, cache, programs, prefix=prefix, verbose=verbose)
    (tmp / "d" / "config" / "coach").mkdir(parents=True, exist_ok=True)
    (tmp / "d" / "config" / "coach" / "config.yaml").write_text(f"duck: {duck}\n")
    d.env["XDG_STATE_HOME"] = str(tmp / "state")
    out: dict = {}
    tone = Music(pulse.env, hz=TONE_HZ, amp=TONE_AMP) if music else None
    cap = pulse.capture() if capture else None
    hogs: list[subprocess.Popen] = []
    try:
        out["plan"] = json.loads(subprocess.run(
            [sys.executable, "-c", PLAN_SCRIPT, str(programs / "dense.yaml")], cwd=ROOT,
            env=d.env, check=True, capture_output=True, text=True).stdout)
        d.start()
        assert d.proc is not None
        time.sleep(2)  # its warm pass over the program: cache hits
        hogs = busy_loops(load)
        time.sleep(1)
        out["after"] = cap.frames() if cap is not None else 0
        reply = d.request({"cmd": "start", "program": "dense"})
        assert reply.get("ok"), reply
        if cpu_window:
            d.wait_status(lambda s: s["state"] == "playing" and s["position"] > 3, 60, "playing")
            duck_tid = next((t.name for t in Path(f"/proc/{d.proc.pid}/task").iterdir()
                             if (t / "comm").read_text().strip() == "coach-duck"), None)
            c0, t0 = cpu_s(d.proc.pid), time.monotonic()
            k0 = _task_cpu(d.proc.pid, duck_tid)
            time.sleep(cpu_window)
            out["cpu_pct"] = (cpu_s(d.proc.pid) - c0) / (time.monotonic() - t0) * 100
            out["duck_pct"] = (_task_cpu(d.proc.pid, duck_tid) - k0) / (time.monotonic() - t0) * 100
            out["status"] = d.request({"cmd": "status"})
            d.request({"cmd": "stop"})
        else:
            d.wait_status(lambda s: s["state"] == "idle", 600, "the session's end")
            time.sleep(1.5)  # coach gone: the tone at its own level
    finally:
        for h in hogs:
            h.kill()
            h.wait()
        x = cap.stop() if cap is not None else None
        d.stop()
        if tone is not None:
            tone.stop()
    out["x"] = x
    out["log"] = d.text()
    return out


def _task_cpu(pid: int, tid: str | None) -> float:
    if tid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cue_depths(x: np.ndarray, plan: dict, after: int) -> tuple[list[float], list[float], int]:
    """Per cue: the tone's median level from its first sample to its clip's end, and its
    highest there (dB against the tone's own level once coach has gone); cues found."""
    cues = plan["cues"]
    at, found = cue_positions(voice_onsets(x, after), [c for c, _ in cues])
    lvl = tone_db(x)
    ref = float(np.median(lvl[len(lvl) - RATE:len(lvl) - RATE // 10]))
    depth, shallowest = [], []
    for (c, n), onset in zip(cues, at):
        if c < 2 * RATE or onset + n > len(lvl) - RATE:
            continue
        depth.append(float(np.median(lvl[onset:onset + n])) - ref)
        shallowest.append(float(np.max(lvl[onset:onset + n])) - ref)
    return depth, shallowest, found


def stat(v: list[float]) -> str:
    if not v:
        return "-"
    return f"{statistics.median(v):+.0f} [{min(v):+.0f}, {max(v):+.0f}]"


def every_second(seconds: int = 3600) -> DuckPlan:
    """A duck of 0.6 s every second, each with its own fades (as the plan made tempo words
    before close intervals were merged): twelve volume changes a second, the most per second
    a plan can ask with cues a second apart."""
    starts = tuple(int((k + 0.2) * RATE) for k in range(seconds))
    return DuckPlan(RATE, starts, tuple(s + int(0.6 * RATE) for s in starts),
                    RATE * 15 // 100, RATE * 2 // 10)


def full_session_plan(tmp: Path) -> DuckPlan:
    from coach.audio.pipeline import build_mixer, duck_plan, load, prepare_clips
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    _, tl = load(str(ROOT / "programs" / "full-session.yaml"))
    return duck_plan(build_mixer(tl, prepare_clips(tl)))


def cpu_run(tmp: Path, seconds: float, plan: DuckPlan) -> dict[str, float]:
    from coach.audio.duck import Ducker
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


def depth_rows(load: int, runs: int) -> None:
    rows = [("idle", 0, None), (f"{load} busy loops", load, None),
            (f"{load} busy loops, as a user", load, AS_USER)]
    print("| daemon, DENSE | runs | cues | depth dB: median [min, max] | shallowest moment dB: "
          "median [worst] | cues more than 1 dB short | ducker thread |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="coach-bench-duck-") as d:
        tmp = Path(d)
        cache = tmp / "cache"
        with PulseServer(tmp / "pulse") as pulse:
            for name, n, prefix in rows:
                depth: list[float] = []
                worst: list[float] = []
                prio = set()
                for run in range(runs):
                    got = daemon_session(tmp / f"{name}-{run}".replace(" ", "_"), pulse, cache,
                                         f"{{level: {LEVEL_DB:g}dB}}", music=True,
                                         prefix=prefix, load=n, capture=True, verbose=True)
                    dd, ww, _ = cue_depths(got["x"], got["plan"], got["after"])
                    depth += dd
                    worst += ww
                    prio |= {ln.split("ducker thread: ", 1)[1].strip()
                             for ln in got["log"].splitlines() if "ducker thread: " in ln}
                    if "ducking is off" in got["log"] or "ducker failed" in got["log"]:
                        print(f"({name}, run {run + 1}: the ducker said it was off or failed)")
                short = sum(1 for w in worst if w > LEVEL_DB + 1)
                print(f"| {name} | {runs} | {len(depth)} | {statistics.median(depth):+.1f} "
                      f"[{min(depth):+.1f}, {max(depth):+.1f}] | {statistics.median(worst):+.1f} "
                      f"[{max(worst):+.1f}] | {short} | {', '.join(sorted(prio)) or '-'} |",
                      flush=True)


def daemon_cpu(seconds: float) -> None:
    on = f"{{level: {LEVEL_DB:g}dB}}"
    rows = [("DENSE, duck: false", "false", False, DENSE),
            ("DENSE, ducking on, no music", on, False, DENSE),
            ("DENSE, ducking on, music playing", on, True, DENSE),
            ("SPACED, duck: false", "false", False, SPACED),
            ("SPACED, ducking on, music playing", on, True, SPACED)]
    print(f"| daemon, {seconds:g} s | daemon CPU, % of a core | ducker thread, % of a core |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="coach-bench-duck-") as d:
        tmp = Path(d)
        cache = tmp / "cache"
        with PulseServer(tmp / "pulse") as pulse:
            # Warm the cache first: a session of its own, not measured.
            daemon_session(tmp / "warm", pulse, cache, "false", music=False, cpu_window=1)
            daemon_session(tmp / "warm2", pulse, cache, "false", music=False, cpu_window=1,
                           program=SPACED)
            for name, duck, music, program in rows:
                got = daemon_session(tmp / name.replace(" ", "_").replace(":", "").replace(",", ""),
                                     pulse, cache, duck, music=music, cpu_window=seconds,
                                     program=program)
                thread = f"{got['duck_pct']:.3f}" if duck != "false" else "-"
                print(f"| {name} | {got['cpu_pct']:.3f} | {thread} |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--load", type=int, default=5, help="busy loops beside the depth runs")
    ap.add_argument("--only", nargs="+", choices=("timing", "depth", "daemon-cpu", "cpu"),
                    default=["timing", "depth", "daemon-cpu", "cpu"])
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
    if "depth" in args.only:
        depth_rows(args.load, args.runs)
    if "daemon-cpu" in args.only:
        daemon_cpu(args.seconds)
    if "cpu" in args.only:
        print(f"| in-process Ducker, music playing, {args.seconds:g} s | ducker thread CPU | "
              "volume changes | ducked |")
        print("|---|---|---|---|")
        with tempfile.TemporaryDirectory(prefix="coach-bench-duck-") as d:
            for name, plan in (("programs/full-session.yaml", full_session_plan(Path(d))),
                               ("a 0.6 s duck every second", every_second())):
                c = cpu_run(Path(d), args.seconds, plan)
                print(f"| {name} | {c['cpu_s']:.2f} s ({100 * c['cpu_s'] / c['wall_s']:.2f} % "
                      f"of a core) | {c['steps']} | {c['ducked_s']:.1f} s |", flush=True)
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
