"""Startup and memory: `coach daemon` process start -> READY=1, `coach run` and `coach start`
process start -> first cue heard (in a parec capture of a private PulseAudio null sink), each with a
cold (empty) and a warm XDG_CACHE_HOME; then the daemon's RSS over 100 start/stop cycles.

    .venv/bin/python bench/bench_startup.py [--repeat 3] [--cycles 100]

READY=1 arrives on a datagram socket this script owns (NOTIFY_SOCKET). First-cue times are
sample positions: the capture frame when the process was started to the first sample at or above
-45 dBFS; they include the player's 0.5 s preroll of silence (kept for Bluetooth headsets) and
PulseAudio's latency. "Cold" empties only coach's cache (every clip synthesized by espeak-ng);
the OS page cache stays warm. RSS is VmRSS from /proc/PID/status, read while idle after the
given number of `coach start` / `coach stop` cycles (each through the CLI).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_vs_naive import (  # noqa: E402
    COACH,
    RATE,
    THRESHOLD_DBFS,
    capture_run,
    machine,
    real_parts_missing,
    start_capture,
)
from tests.support.audio import PulseServer  # noqa: E402

# ~9 s, first cue at 0: the session start is all that is measured.
SHORT_PROGRAM = """\
program: Bench short
voice: {engine: espeak, rate: 170, volume: 0.9}
defaults: {lead_in: 0s, announce: 2s, rest: 0s}
exercises:
  - name: Plank
    hold: 3s
"""


def first_onset_s(rec: np.ndarray) -> float | None:
    hot = np.flatnonzero(np.abs(rec) >= 10 ** (THRESHOLD_DBFS / 20))
    return float(hot[0]) / RATE if hot.size else None


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Daemon:
    """`coach daemon` with its own config, data, runtime (socket) and cache dirs, NOTIFY_SOCKET
    pointed at a datagram socket owned here."""

    def __init__(self, tmp: Path, pulse: PulseServer, cache_home: Path, programs: Path):
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.runtime = Path(tempfile.mkdtemp(prefix="coach-run-", dir=tmp))
        self.runtime.chmod(0o700)
        self.notify_path = tmp / "notify.sock"
        self.env = dict(pulse.env)
        # Its own XDG_RUNTIME_DIR (the control socket); PulseAudio is reached by its address.
        self.env.update(XDG_RUNTIME_DIR=str(self.runtime),
                        PULSE_SERVER=f"unix:{pulse.runtime}/pulse/native",
                        XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
                        XDG_CACHE_HOME=str(cache_home), NOTIFY_SOCKET=str(self.notify_path),
                        PYTHONUNBUFFERED="1")
        self.env.pop("COACH_PROGRAMS", None)
        self.programs = programs
        self.proc: subprocess.Popen | None = None
        self.log = tmp / "daemon.log"

    def start(self, timeout: float = 60) -> float:
        """Start it; seconds from process start to READY=1."""
        self.notify_path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(self.notify_path))
        try:
            with open(self.log, "ab") as logf:
                t0 = time.monotonic()
                self.proc = subprocess.Popen([*COACH, "-v", "daemon", "--programs",
                                              str(self.programs)], cwd=ROOT, env=self.env,
                                             stdout=logf, stderr=subprocess.STDOUT)
            deadline = t0 + timeout
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    msg = sock.recv(4096)
                except TimeoutError:
                    raise RuntimeError(f"no READY=1 within {timeout} s:\n"
                                       f"{self.log.read_text()[-2000:]}") from None
                if b"READY=1" in msg.split(b"\n"):
                    return time.monotonic() - t0
        finally:
            sock.close()

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        r = subprocess.run([*COACH, *args], cwd=ROOT, env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"coach {' '.join(args)}: {r.stdout}{r.stderr}")
        return r

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def median_range(xs: list[float | None]) -> str:
    v = [x for x in xs if x is not None]
    if not v:
        return "-"
    return f"{statistics.median(v):7.3f} s  ({min(v):.3f}-{max(v):.3f}, n={len(v)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each cold/warm timing")
    ap.add_argument("--cycles", type=int, default=100, help="start/stop cycles for the RSS figure")
    args = ap.parse_args()
    why = real_parts_missing()
    if why:
        print(why, file=sys.stderr)
        return 2
    ready: dict[str, list[float | None]] = {"cold": [], "warm": []}
    run_first: dict[str, list[float | None]] = {"cold": [], "warm": []}
    start_first: dict[str, list[float | None]] = {"cold": [], "warm": []}
    rss: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory(prefix="coach-startup-") as tmp_s:
        tmp = Path(tmp_s)
        programs = tmp / "programs"
        programs.mkdir()
        prog = programs / "short.yaml"
        prog.write_text(SHORT_PROGRAM)
        warm_cache = tmp / "cache-warm"
        with PulseServer(tmp / "pulse") as pulse:
            # `coach run`: cold = a fresh cache each time; warm = the same, already filled one.
            for i in range(args.repeat * 2 + 1):
                kind = "cold" if i < args.repeat else "warm"
                cache = tmp / f"cache-cold-{i}" if kind == "cold" else warm_cache
                env = dict(pulse.env, XDG_CACHE_HOME=str(cache), PYTHONUNBUFFERED="1")
                rec, log, rc, _ = capture_run(pulse, [*COACH, "run", str(prog)], env,
                                              timeout=120, tail_s=0.2)
                if rc != 0:
                    raise RuntimeError(f"coach run exited {rc}: {log[-1500:]}")
                if i != args.repeat:  # the first warm-cache run only fills the cache
                    run_first[kind].append(first_onset_s(rec))
            # The daemon: READY=1, then `coach start` -> first cue, cold and warm.
            for i in range(args.repeat * 2):
                kind = "cold" if i < args.repeat else "warm"
                cache = tmp / f"dcache-cold-{i}" if kind == "cold" else warm_cache
                d = Daemon(tmp / f"daemon-{i}", pulse, cache, programs)
                try:
                    ready[kind].append(d.start())
                    cap = start_capture(pulse)
                    at = cap.frames()
                    d.cli("start", "short")
                    time.sleep(3.0)
                    d.cli("stop")
                    start_first[kind].append(first_onset_s(cap.stop()[at:]))
                finally:
                    d.stop()
            # RSS over start/stop cycles (warm cache).
            d = Daemon(tmp / "daemon-rss", pulse, warm_cache, programs)
            try:
                d.start()
                assert d.proc is not None
                rss.append((0, rss_kib(d.proc.pid)))
                marks = {1, 10, 100, args.cycles}
                for n in range(1, args.cycles + 1):
                    d.cli("start", "short")
                    d.cli("stop")
                    if n in marks:
                        rss.append((n, rss_kib(d.proc.pid)))
            finally:
                d.stop()
    print(machine())
    print("startup (median, min-max over runs):")
    print(f"  coach daemon -> READY=1          cold {median_range(ready['cold'])}")
    print(f"                                   warm {median_range(ready['warm'])}")
    print(f"  coach run -> first cue heard     cold {median_range(run_first['cold'])}")
    print(f"                                   warm {median_range(run_first['warm'])}")
    print(f"  coach start (CLI, daemon up)     cold {median_range(start_first['cold'])}")
    print(f"    -> first cue heard             warm {median_range(start_first['warm'])}")
    print("  (first-cue times include coach's 0.5 s preroll and PulseAudio latency; cold = empty "
          "XDG_CACHE_HOME: every clip synthesized first)")
    print("daemon RSS (VmRSS, idle after N `coach start short` / `coach stop` cycles):")
    print(f"  {'cycles':>7} {'RSS MiB':>9} {'vs after READY':>15}")
    for n, kib in rss:
        print(f"  {n:>7} {kib / 1024:9.1f} {(kib - rss[0][1]) / 1024:+14.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
