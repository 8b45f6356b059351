"""The daemon's own cost and a cold start: CPU of `coach daemon` idle, in a session, and in a
session after a program was copied into the programs dir mid-session; then cold starts of a
Piper program with the daemon pinned to one core: how fast `coach start` answers, when the
first cue is heard, the longest gap between watchdog pings, and every cue of the first minutes
on its sample.

    .venv/bin/python bench/bench_daemon.py [--seconds 60] [--runs 3] [--window 120]
                                           [--only cpu cold]

CPU: utime+stime from /proc/PID/stat over --seconds, the daemon (no -v, as the unit runs it)
with a warm clip cache (a first daemon made every clip, then stopped), playing
programs/full-session.yaml (espeak-ng) into a private PulseAudio null sink; "program added" =
programs/demo.yaml copied into the programs dir while the session plays, measured once the
daemon logged it loaded (the old daemon's warm loop spun a core from here on).

Cold start, --runs times: programs/full-session.yaml with `voice: {engine: piper}`, kept outside
the programs dir (nothing warms it) and an empty XDG_CACHE_HOME; the daemon runs under
`taskset -c 0` with NOTIFY_SOCKET at a datagram socket read here and WATCHDOG_USEC=2000000
(pings due every 1 s). Per run, two fresh daemons: one is started through
coach.daemon.control.request (the socket round trip is timed; parec records the null sink from
before the request; the first cue is the first sample >= -45 dBFS after it, 0.5 s preroll
included; cue onsets of the first --window seconds are found as bench_vs_naive.py finds them
and compared with the plan relative to the first cue, in samples at 48 kHz; the output
underflows the daemon logged; the CPU time the hypervisor stole meanwhile, /proc/stat), the
other by the whole `coach start` CLI process (timed from its spawn to its exit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
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

from bench.bench_vs_naive import (  # noqa: E402
    COACH,
    RATE,
    THRESHOLD_DBFS,
    coach_sounds,
    find_onsets,
    machine,
    real_parts_missing,
    start_capture,
    underflows,
)
from tests.support.audio import PulseServer  # noqa: E402

WATCHDOG_USEC = 2_000_000
FULL = ROOT / "programs" / "full-session.yaml"
ADDED = ROOT / "programs" / "demo.yaml"


def steal_s() -> float:
    """CPU time the hypervisor took from this (virtual) machine so far, all CPUs."""
    return int(Path("/proc/stat").read_text().split()[8]) / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def unscheduled(text: str) -> str:
    """The program without its schedule lines (a slot must not start a session mid-bench)."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("schedule:"))


class Daemon:
    """`coach daemon` with its own XDG dirs and runtime dir, NOTIFY_SOCKET at a datagram socket
    read by a thread here for as long as it runs (READY=1 and every WATCHDOG=1, timed)."""

    def __init__(self, tmp: Path, pulse: PulseServer, cache: Path, programs: Path,
                 prefix: list[str] | None = None, verbose: bool = False,
                 watchdog_usec: int | None = None):
        tmp.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp
        self.runtime = Path(tempfile.mkdtemp(prefix="rt-", dir=tmp))
        self.runtime.chmod(0o700)
        self.notify_path = tmp / "notify.sock"
        self.env = dict(pulse.env)
        self.env.update(XDG_RUNTIME_DIR=str(self.runtime),
                        PULSE_SERVER=f"unix:{pulse.runtime}/pulse/native",
                        XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
                        XDG_CACHE_HOME=str(cache), NOTIFY_SOCKET=str(self.notify_path),
                        PYTHONUNBUFFERED="1")
        self.env.pop("COACH_PROGRAMS", None)
        self.env.pop("WATCHDOG_PID", None)
        if watchdog_usec:
            self.env["WATCHDOG_USEC"] = str(watchdog_usec)
        self.cache, self.programs = cache, programs
        self.prefix, self.verbose = prefix or [], verbose
        self.log = tmp / "daemon.log"
        self.sock_path = self.runtime / "coach" / "control.sock"
        self.proc: subprocess.Popen | None = None
        self.pings: list[float] = []  # monotonic time of each WATCHDOG=1
        self._ready = threading.Event()
        self._done = threading.Event()
        self._rx: socket.socket | None = None
        self._reader: threading.Thread | None = None

    def _read(self) -> None:
        assert self._rx is not None
        while not self._done.is_set():
            try:
                msg = self._rx.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            t = time.monotonic()
            for line in msg.decode(errors="replace").splitlines():
                if line == "WATCHDOG=1":
                    self.pings.append(t)
                elif line == "READY=1":
                    self._ready.set()

    def start(self, timeout: float = 60) -> float:
        """Start it; seconds from process start to READY=1."""
        self.notify_path.unlink(missing_ok=True)
        self._rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._rx.bind(str(self.notify_path))
        self._rx.settimeout(0.2)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        cmd = [*self.prefix, *COACH, *(["-v"] if self.verbose else []), "daemon", "--programs",
               str(self.programs)]
        with open(self.log, "ab") as logf:
            t0 = time.monotonic()
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=logf,
                                         stderr=subprocess.STDOUT)
        while not self._ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() - t0 > timeout:
                raise RuntimeError(f"no READY=1 within {timeout} s:\n{self.text()[-2000:]}")
        return time.monotonic() - t0

    def request(self, cmd: dict, timeout: float = 30) -> dict:
        from coach.daemon.control import request
        return request(cmd, path=self.sock_path, timeout=timeout)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                raise RuntimeError(f"no {needle!r} in the daemon log within {timeout} s:\n"
                                   f"{self.text()[-2000:]}")
            time.sleep(0.1)

    def wait_status(self, pred, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        st: dict = {}
        while time.monotonic() < deadline:
            st = self.request({"cmd": "status"})
            if pred(st):
                return st
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}: {st}\n{self.text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._done.set()
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self._rx is not None:
            self._rx.close()


# -- 1. CPU ---------------------------------------------------------------------------------

def measure_cpu(tmp: Path, pulse: PulseServer, seconds: float) -> dict[str, float]:
    programs = tmp / "cpu-programs"
    programs.mkdir()
    (programs / "full-session.yaml").write_text(unscheduled(FULL.read_text()))
    cache = tmp / "cpu-cache"
    # Warm the cache: a daemon (debug log) makes every clip of the loaded program, then goes.
    warm = Daemon(tmp / "cpu-warm", pulse, cache, programs, verbose=True)
    try:
        warm.start()
        warm.wait_log("full-session: voice clips ready", timeout=300)
    finally:
        warm.stop()
    d = Daemon(tmp / "cpu", pulse, cache, programs)
    out: dict[str, float] = {}
    try:
        d.start()
        assert d.proc is not None
        pid = d.proc.pid
        time.sleep(10)  # its own warm pass over the program: cache hits

        def window(name: str) -> None:
            c0, t0 = cpu_s(pid), time.monotonic()
            time.sleep(seconds)
            out[name] = (cpu_s(pid) - c0) / (time.monotonic() - t0) * 100
            print(f"  {name}: {out[name]:.3f} % of one core over {seconds:g} s", flush=True)

        window("idle")
        reply = d.request({"cmd": "start", "program": "full-session"})
        assert reply.get("ok"), reply
        d.wait_status(lambda s: s["state"] == "playing" and s["position"] > 3, 60, "playing")
        window("session")
        (programs / "added.yaml").write_text(unscheduled(ADDED.read_text()))
        d.wait_log("added.yaml: loaded", timeout=15)
        window("session, program added")
        st = d.request({"cmd": "status"})
        assert st["state"] == "playing", st
        d.request({"cmd": "stop"})
    finally:
        d.stop()
    return out


# -- 2. cold start, Piper, one core -----------------------------------------------------------

def piper_program(tmp: Path) -> Path:
    path = tmp / "piper-session.yaml"  # outside every programs dir: nothing warms it
    text = unscheduled(FULL.read_text())
    text = text.replace("voice: {engine: espeak, rate: 170, volume: 0.9}", "voice: {engine: piper}")
    assert "engine: piper" in text
    path.write_text(text)
    return path


def cold_run(tmp: Path, pulse: PulseServer, program: Path, window_s: float) -> dict:
    programs = tmp / "programs"
    programs.mkdir(parents=True)
    cache = tmp / "cache"  # empty
    d = Daemon(tmp, pulse, cache, programs, prefix=["taskset", "-c", "0"],
               watchdog_usec=WATCHDOG_USEC)
    r: dict = {}
    steal0 = steal_s()
    try:
        d.start()
        cap = start_capture(pulse)
        try:
            at = cap.frames()
            t0 = time.monotonic()
            reply = d.request({"cmd": "start", "program": str(program)})
            r["answer_s"] = time.monotonic() - t0
            assert reply.get("ok"), reply
            r["answer_state"] = reply.get("state")
            # Status through the socket while the clips are made: it answers at once too.
            slow = 0.0
            while True:
                t1 = time.monotonic()
                st = d.request({"cmd": "status"})
                slow = max(slow, time.monotonic() - t1)
                if st["state"] == "playing":
                    break
                if st["state"] == "idle" or time.monotonic() - t0 > 120:
                    raise RuntimeError(f"never played: {st}\n{d.text()[-2000:]}")
                time.sleep(0.2)
            r["status_max_s"] = slow
            r["playing_after_s"] = time.monotonic() - t0
            d.wait_status(lambda s: s["position"] >= window_s + 3, window_s + 60, "the window")
            t_end = time.monotonic()
            d.request({"cmd": "stop"})
        finally:
            rec = cap.stop()[at:]
        pings = [t for t in d.pings if t0 - 2 <= t <= t_end]
        gaps = [b - a for a, b in zip(pings, pings[1:], strict=False)]
        r["pings"] = len(pings)
        r["gap_max_s"] = max(gaps) if gaps else None
        r["late_clips"] = d.text().count("not ready for its cue")
    finally:
        d.stop()
    r["underflows"] = underflows(d.text())
    r["steal_s"] = steal_s() - steal0
    hot = np.flatnonzero(np.abs(rec) >= 10 ** (THRESHOLD_DBFS / 20))
    r["first_cue_s"] = float(hot[0]) / RATE if hot.size else None
    # Every cue of the window on its sample, relative to the first cue.
    plan = json.loads(subprocess.run([*COACH, "plan", "--json", str(program)], cwd=ROOT,
                                     env=d.env, capture_output=True, text=True, check=True,
                                     timeout=120).stdout)
    planned = [e for e in plan["events"] if e["type"] == "cue" and e["t"] <= window_s]
    cues = [c for c in coach_sounds(str(program), cache / "coach" / "clips")
            if c.t_ms <= window_s * 1000]
    assert [round(c.t_ms / 1000, 3) for c in cues] == [e["t"] for e in planned]
    o = find_onsets(rec, cues, sequential=False)
    # |onset - plan| in samples, the plan placed relative to the first cue heard.
    err = [abs(round(e * RATE / 1000)) for e in o.errors_ms if e is not None]
    r["cues"], r["found"], r["masked"] = len(cues), len(err), sum(o.masked)
    if err:
        r["err_median"], r["err_max"] = float(np.median(err)), int(max(err))
    return r


def cli_run(tmp: Path, pulse: PulseServer, program: Path) -> float:
    programs = tmp / "programs"
    programs.mkdir(parents=True)
    d = Daemon(tmp, pulse, tmp / "cache", programs, prefix=["taskset", "-c", "0"],
               watchdog_usec=WATCHDOG_USEC)
    try:
        d.start()
        t0 = time.monotonic()
        p = subprocess.run([*COACH, "start", str(program)], cwd=ROOT, env=d.env,
                           capture_output=True, text=True, timeout=120)
        took = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError(f"coach start: {p.stdout}{p.stderr}")
        if not p.stdout.startswith("preparing:"):
            print(f"  (coach start answered {p.stdout.strip()!r})")
        d.request({"cmd": "stop"})
    finally:
        d.stop()
    return took


def spread(xs: list) -> str:
    v = [x for x in xs if x is not None]
    if not v:
        return "-"
    return f"{min(v):.3f} / {statistics.median(v):.3f} / {max(v):.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60, help="each CPU window")
    ap.add_argument("--runs", type=int, default=3, help="cold starts (each: socket and CLI)")
    ap.add_argument("--window", type=float, default=120, help="seconds of cues compared")
    ap.add_argument("--only", nargs="+", choices=("cpu", "cold"), default=["cpu", "cold"])
    args = ap.parse_args()
    why = real_parts_missing() or (None if shutil.which("taskset") else "no taskset")
    if why is None and "cold" in args.only:
        from coach.audio.voice import piper_problem
        why = piper_problem() and f"Piper: {piper_problem()}"
    if why:
        print(why, file=sys.stderr)
        return 2
    print(machine(), flush=True)
    cpu: dict[str, float] = {}
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="coach-bench-daemon-") as tmp_s:
        tmp = Path(tmp_s)
        with PulseServer(tmp / "pulse") as pulse:
            if "cpu" in args.only:
                print("daemon CPU (utime+stime):", flush=True)
                cpu = measure_cpu(tmp, pulse, args.seconds)
            if "cold" in args.only:
                program = piper_program(tmp)
                for i in range(args.runs):
                    r = cold_run(tmp / f"cold-{i}", pulse, program, args.window)
                    r["cli_s"] = cli_run(tmp / f"cli-{i}", pulse, program)
                    runs.append(r)
                    print(f"  run {i + 1}: {json.dumps(r)}", flush=True)
    if cpu:
        print(f"\ndaemon CPU, % of one core over {args.seconds:g} s (warm cache, no -v):")
        for name, target in (("idle", 0.2), ("session", 1.0), ("session, program added", 1.0)):
            print(f"  {name:<24} {cpu[name]:7.3f} %   (target <= {target:g} %)")
    if runs:
        n = len(runs)
        print(f"\ncold start of full-session.yaml with Piper, empty cache, daemon under "
              f"`taskset -c 0`, {n} runs, min / median / max:")
        col = lambda k: [r.get(k) for r in runs]  # noqa: E731
        print(f"  start answered (socket round trip)   {spread(col('answer_s'))} s   (target <= 0.3)")
        print(f"  `coach start` CLI process            {spread(col('cli_s'))} s   (target <= 0.3)")
        print(f"  status while preparing, slowest      {spread(col('status_max_s'))} s")
        print(f"  state playing after                  {spread(col('playing_after_s'))} s")
        print(f"  first cue heard (0.5 s preroll in it) {spread(col('first_cue_s'))} s   "
              f"(target <= 3)")
        print(f"  longest watchdog gap (due every {WATCHDOG_USEC / 2e6:g} s) "
              f"{spread(col('gap_max_s'))} s   (target <= {WATCHDOG_USEC / 2e6:g})")
        found = ", ".join(f"{r['found']}/{r['cues']}" for r in runs)
        print(f"  cues of the first {args.window:g} s found      {found}")
        print(f"  onset error, median (samples)        {spread(col('err_median'))}")
        print(f"  onset error, max (samples)           {spread(col('err_max'))}")
        print(f"  'clip not ready' warnings            {', '.join(str(r['late_clips']) for r in runs)}")
        print(f"  output underflows                    {', '.join(str(r['underflows']) for r in runs)}")
        print(f"  CPU stolen by the hypervisor         {spread(col('steal_s'))} s a run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
