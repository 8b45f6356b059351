"""The daemon's memory (RSS, from /proc/PID/status), a real `coach daemon` process (-v, as
tests/daemon_env.py runs it) playing into a private PulseAudio null sink:

    .venv/bin/python bench/bench_memory.py [--only extend voices inproc] [--extends 400]

extend: a program of 22 sets (2 s holds, 60 s rests). "one rest": --extends `extend` requests in
set 1's rest, sent through the control socket as fast as it answers; "20 rests": 20 extends in
each of the first 20 rests (skip, skip, 20 extends). RSS when idle, in the first rest, after the
extends (+2 s), and after `stop` (+2 s); how many extends were accepted and refused.

voices: programs/full-session.yaml in the programs dir, as it ships (espeak-ng) and with
`voice: {engine: piper}`; a fresh daemon with an empty clip cache (cold: its clip worker makes
every clip ahead), then a second daemon on the warm cache. RSS once the worker has made the
clips and gone idle (the median of 5 samples over 5 s: "idle"), then 10 s into a session of the
program ("playing"), and again 5 s after `stop`. While clips are made, the largest RSS of the
daemon and of its child processes (the Piper engine), sampled every 0.2 s.

inproc: the alternative measured and not taken: Piper loaded in the process itself (a fresh
interpreter importing coach.daemon.app, then piper, loading en_US-joe-medium, synthesizing a
sentence), then every reference dropped, gc.collect() and glibc's malloc_trim(0); espeak-ng the
same way (pyttsx3 engine, 20 syntheses).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from tests.audio_env import PulseServer  # noqa: E402
from tests.daemon_env import Coachd  # noqa: E402

from bench.bench_vs_naive import machine, real_parts_missing  # noqa: E402

FULL = ROOT / "programs" / "full-session.yaml"
RESTS = """\
program: Rests
defaults: {rest: 60s, lead_in: 1s, announce: 2s}
exercises:
  - name: Plank
    hold: 2s
    sets: 20
  - name: Wall sit
    hold: 2s
    sets: 2
"""


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                out += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def daemon(tmp: Path, pulse: PulseServer, cache: Path) -> Coachd:
    tmp.mkdir(parents=True, exist_ok=True)
    env = pulse.client_env(XDG_CACHE_HOME=str(cache))
    return Coachd(tmp, env)


def sock(d: Coachd) -> Path:
    return Path(d.env["XDG_RUNTIME_DIR"]) / "coach" / "control.sock"


# -- extend ---------------------------------------------------------------------------------------

def measure_extends(tmp: Path, pulse: PulseServer, mode: str, n: int) -> dict[str, float | int]:
    from coach.daemon.control import request
    d = daemon(tmp / f"extend-{mode.replace(' ', '-')}", pulse, tmp / "extend-cache")
    (d.programs / "rests.yaml").write_text(RESTS)
    out: dict[str, float | int] = {}
    try:
        d.start()
        assert d.proc is not None
        pid = d.proc.pid
        time.sleep(3)
        out["idle"] = rss_mib(pid)
        d.ok("start", "rests")
        d.wait_for(lambda s: s["state"] == "playing" and s["phase"] == "rest", timeout=120,
                   what="the first rest")
        time.sleep(1)
        out["rest"] = rss_mib(pid)
        ok = refused = 0
        rests = [n] if mode == "one rest" else [n // 20] * 20
        for i, k in enumerate(rests):
            if i:
                for _ in range(2):  # rest -> next set -> its rest
                    request({"cmd": "skip"}, sock(d))
            for _ in range(k):
                r = request({"cmd": "extend"}, sock(d), timeout=30)
                ok += bool(r.get("ok"))
                refused += not r.get("ok")
        time.sleep(2)
        out["after"] = rss_mib(pid)
        out["accepted"], out["refused"] = ok, refused
        d.ok("stop")
        time.sleep(2)
        out["stopped"] = rss_mib(pid)
    finally:
        d.cleanup()
    return out


# -- voices ---------------------------------------------------------------------------------------

def sample(pid: int, seconds: float = 5.0) -> float:
    xs = []
    for _ in range(5):
        xs.append(rss_mib(pid))
        time.sleep(seconds / 5)
    return statistics.median(xs)


def measure_voice(tmp: Path, pulse: PulseServer, engine: str) -> dict[str, dict[str, float]]:
    text = FULL.read_text()
    if engine == "piper":
        text = text.replace("voice: {engine: espeak, rate: 170, volume: 0.9}", "voice: {engine: piper}")
        assert "engine: piper" in text
    text = "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("schedule:"))
    cache = tmp / f"{engine}-cache"
    out: dict[str, dict[str, float]] = {}
    for run in ("cold", "warm"):
        d = daemon(tmp / f"{engine}-{run}", pulse, cache)
        (d.programs / "full-session.yaml").write_text(text)
        row: dict[str, float] = {}
        try:
            d.start()
            assert d.proc is not None
            pid = d.proc.pid
            peak = peak_child = 0.0
            t0 = time.monotonic()
            while "voice clips ready" not in d.text() or children(pid):
                peak = max(peak, rss_mib(pid))
                peak_child = max([peak_child, *(rss_mib(c) for c in children(pid))])
                if time.monotonic() - t0 > 900:
                    raise RuntimeError(f"clips not made in 15 min:\n{d.text()[-2000:]}")
                time.sleep(0.2)
            row["prepare s"] = time.monotonic() - t0
            row["peak while preparing"], row["engine process peak"] = peak, peak_child
            time.sleep(1)
            row["idle"] = sample(pid)
            d.ok("start", "full-session")
            d.wait_for(lambda s: s["state"] == "playing" and s["position"] > 2, timeout=120,
                       what="playing")
            time.sleep(5)
            row["playing"] = sample(pid)
            d.ok("stop")
            time.sleep(5)
            row["idle after stop"] = sample(pid)
            row["loads"] = d.text().count("piper: loaded")
        finally:
            d.cleanup()
        out[run] = row
        print(f"  {engine} {run}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()), flush=True)
    return out


# -- in-process, for comparison -------------------------------------------------------------------

INPROC = r"""
import ctypes, gc, json, sys
def rss():
    for l in open("/proc/self/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1]) / 1024
import coach.daemon.app
out = {"base": rss()}
if sys.argv[1] == "piper":
    import piper
    out["imported"] = rss()
    from coach.audio.voice import resolve_piper_model
    m = resolve_piper_model(None, "en")
    v = piper.PiperVoice.load(m.path, config_path=m.config)
    out["loaded"] = rss()
    x = [c.audio_float_array for c in v.synthesize("Lat pulldown. Set 1 of 3. Drive the elbows down.")]
    out["after a synthesis"] = rss()
    del v, x
else:
    from coach.audio.voice import EspeakSynth
    s = EspeakSynth(None, "en", 170)
    for t in ["Lat pulldown. Set 1 of 3. Drive the elbows down.", "lower", "3", "squeeze"] * 5:
        s.synth(t)
    out["after 20 syntheses"] = rss()
    del s
gc.collect()
out["released"] = rss()
ctypes.CDLL("libc.so.6").malloc_trim(0)
out["released + malloc_trim"] = rss()
print(json.dumps(out))
"""


def measure_inproc(engine: str) -> dict[str, float]:
    r = subprocess.run([sys.executable, "-c", INPROC, engine], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=["extend", "voices", "inproc"],
                    default=["extend", "voices", "inproc"])
    ap.add_argument("--extends", type=int, default=400)
    args = ap.parse_args()
    print(machine(), flush=True)
    if "inproc" in args.only:
        print("\nin-process engines (MiB RSS):")
        for engine in ("espeak", "piper"):
            res = measure_inproc(engine)
            print(f"  {engine}: " + ", ".join(f"{k} {v:.1f}" for k, v in res.items()), flush=True)
    missing = real_parts_missing()
    if missing and ({"extend", "voices"} & set(args.only)):
        print(missing)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as t:
        tmp = Path(t)
        with PulseServer(tmp / "pulse") as pulse:
            if "extend" in args.only:
                print(f"\nextends (MiB RSS; {args.extends} extend requests):")
                print("| where | idle | first rest | after the extends | after stop | accepted | refused |")
                print("|---|---|---|---|---|---|---|")
                for mode in ("one rest", "20 rests"):
                    r = measure_extends(tmp, pulse, mode, args.extends)
                    print(f"| {mode} | {r['idle']:.1f} | {r['rest']:.1f} | {r['after']:.1f} | "
                          f"{r['stopped']:.1f} | {r['accepted']} | {r['refused']} |", flush=True)
            if "voices" in args.only:
                print("\nvoices (MiB RSS of the daemon; full-session.yaml in the programs dir):")
                rows = {e: measure_voice(tmp, pulse, e) for e in ("espeak", "piper")}
                print("| engine | cache | idle | playing | idle after stop | peak while preparing "
                      "| engine process peak | Piper loads |")
                print("|---|---|---|---|---|---|---|---|")
                for engine, runs in rows.items():
                    for run, r in runs.items():
                        print(f"| {engine} | {run} | {r['idle']:.1f} | {r['playing']:.1f} | "
                              f"{r['idle after stop']:.1f} | {r['peak while preparing']:.1f} | "
                              f"{r['engine process peak']:.1f} | {int(r['loads'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
