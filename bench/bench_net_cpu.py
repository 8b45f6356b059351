"""The daemon's CPU in a session with Home Assistant (MQTT) and the phone page both on, against
the same session with both off, thread by thread.

    .venv/bin/python bench/bench_net_cpu.py [--seconds 60] [--runs 2] [--program FILE]
                                            [--profile DIR] [-v]

A real `coach daemon` (no -v, as the unit runs it; warm clip cache: a first daemon made every
clip) plays programs/full-session.yaml (or --program FILE; bench/bench_mqtt.py's denser program
is `--program mqtt`) into a private PulseAudio null sink. "on": `mqtt:` at a
real mosquitto on loopback (a paho subscriber on the state topic, as Home Assistant) and `web:`
on a loopback port with the page's event stream open (a plain HTTP client reading
/api/events: what an open page costs the daemon, without a browser on the same cores). "off":
neither in the config. Runs alternate off/on so that the machine's load falls on both alike.

CPU: utime+stime of the daemon (/proc/PID/stat) over --seconds of the session, in CPU-seconds
and % of one core (with the load average, and the CPU time the hypervisor stole from the whole
machine meanwhile, /proc/stat), and per thread (/proc/PID/task/*/stat): a sitecustomize put on the daemon's
PYTHONPATH here names every Python thread for the kernel (prctl PR_SET_NAME; Python 3.11 does
not), so `comm` says which part it is. --profile DIR also runs every thread under cProfile and
writes DIR/<thread>.pstats at exit (the figures are then inflated; read the shares). -v runs
the daemons with `coach -v` (debug log), as bench_mqtt.py's do.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_daemon import FULL, Daemon, cpu_s, steal_s, unscheduled  # noqa: E402
from bench.bench_vs_naive import machine  # noqa: E402
from tests.support.audio import PulseServer, have_alsa_pulse_plugin  # noqa: E402
from tests.support.broker import MOSQUITTO, Mosquitto, Watcher  # noqa: E402

SITECUSTOMIZE = '''
import atexit, ctypes, os, threading

_libc = ctypes.CDLL(None)
_out = os.environ.get("BENCH_PROFILE")
_profiles = []


def _name(name):
    _libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME: /proc/PID/task/TID/comm


_inner = threading.Thread._bootstrap_inner


def _named(self):
    _name(self.name)
    if _out:
        import cProfile
        p = cProfile.Profile()
        _profiles.append((self.name, p))
        p.enable()
    _inner(self)


threading.Thread._bootstrap_inner = _named
_name("main")
if _out:
    import cProfile
    _main = cProfile.Profile()
    _profiles.append(("main", _main))
    _main.enable()

    def _dump():
        for i, (name, p) in enumerate(_profiles):
            try:
                p.create_stats()
                p.dump_stats(os.path.join(_out, f"{name}-{i}.pstats"))
            except Exception as e:
                print("bench profile:", name, e)

    atexit.register(_dump)
'''


def threads(pid: int) -> dict[str, float]:
    """CPU-seconds so far per thread name (several threads of one name summed)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


class EventStream:
    """The page's live part as a phone keeps it open: GET /api/events with the token's cookie,
    read until closed."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        c.request("GET", f"/api/events?token={self.token}")
        r = c.getresponse()
        cookie = r.getheader("Set-Cookie", "").split(";")[0]
        r.read()
        c.request("GET", "/api/events", headers={"Cookie": cookie})
        r = c.getresponse()
        assert r.status == 200, r.status
        while not self._stop.is_set():
            line = r.fp.readline()
            if not line:
                return
            if line.startswith(b"data:"):
                self.events += 1

    def close(self) -> None:
        self._stop.set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one(tmp: Path, pulse: PulseServer, cache: Path, programs: Path, broker: Mosquitto | None,
        seconds: float, site: Path, profile: Path | None, verbose: bool = False) -> dict:
    d = Daemon(tmp, pulse, cache, programs, verbose=verbose)
    d.env["PYTHONPATH"] = str(site)
    d.env["XDG_STATE_HOME"] = str(tmp / "state")
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        d.env["BENCH_PROFILE"] = str(profile)
    port = free_port()
    config = "mpris: false\n"
    if broker is not None:
        config += (f"mqtt: {{host: 127.0.0.1, port: {broker.port}}}\n"
                   f"web: {{listen: 127.0.0.1:{port}}}\n")
    (tmp / "config" / "coach").mkdir(parents=True)
    (tmp / "config" / "coach" / "config.yaml").write_text(config)
    watcher = stream = None
    try:
        d.start()
        assert d.proc is not None
        pid = d.proc.pid
        time.sleep(10)  # its own warm pass over the program: cache hits
        if broker is not None:
            from coach.daemon.mqtt.discovery import Topics, node_id
            watcher = Watcher(broker.port, (Topics(node_id(socket.gethostname()),
                                                   "homeassistant").state,))
            token = (tmp / "state" / "coach" / "web-token").read_text().strip()
            stream = EventStream(port, token)
        reply = d.request({"cmd": "start", "program": "bench"})
        assert reply.get("ok"), reply
        d.wait_status(lambda s: s["state"] == "playing" and s["position"] > 3, 60, "playing")
        load0 = os.getloadavg()[0]
        c0, th0, w0, s0 = cpu_s(pid), threads(pid), time.monotonic(), steal_s()
        time.sleep(seconds)
        c1, th1, w1, s1 = cpu_s(pid), threads(pid), time.monotonic(), steal_s()
        load1 = os.getloadavg()[0]
        st = d.request({"cmd": "status"})
        assert st["state"] == "playing", st
        per = {k: th1[k] - th0.get(k, 0.0) for k in th1}
        out = {"cpu_s": c1 - c0, "pct": 100 * (c1 - c0) / (w1 - w0), "wall": w1 - w0,
               "threads": per, "load": (load0, load1), "steal": (s1 - s0) / (w1 - w0),
               "mqtt_msgs": len(watcher.messages) if watcher else 0,
               "events": stream.events if stream else 0}
        d.request({"cmd": "stop"})
        return out
    finally:
        if stream is not None:
            stream.close()
        if watcher is not None:
            watcher.close()
        d.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--program", default=str(FULL), help="the program played ('mqtt': "
                    "bench_mqtt.py's)")
    ap.add_argument("--profile", type=Path, help="cProfile every thread into DIR")
    ap.add_argument("-v", "--verbose", action="store_true", help="the daemons with coach -v")
    args = ap.parse_args()
    if not Path(MOSQUITTO).exists() or not have_alsa_pulse_plugin():
        print("real parts missing: mosquitto, PulseAudio", file=sys.stderr)
        return 2
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        (tmp / "pulse").mkdir()
        site = tmp / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        programs = tmp / "programs"
        programs.mkdir()
        if args.program == "mqtt":
            from bench.bench_mqtt import PROGRAM
            text = PROGRAM
        else:
            text = Path(args.program).read_text()
        (programs / "bench.yaml").write_text(unscheduled(text))
        cache = tmp / "cache"
        with PulseServer(tmp / "pulse") as pulse, Mosquitto(tmp) as broker:
            warm = Daemon(tmp / "warm", pulse, cache, programs, verbose=True)
            try:
                warm.start()
                warm.wait_log("bench: voice clips ready", timeout=300)
            finally:
                warm.stop()
            for run in range(args.runs):
                for name, b in (("off", None), ("on", broker)):
                    prof = args.profile / f"{name}{run}" if args.profile else None
                    r = one(tmp / f"{name}{run}", pulse, cache, programs, b, args.seconds,
                            site, prof, args.verbose)
                    top = sorted(r["threads"].items(), key=lambda kv: -kv[1])
                    print(f"run {run + 1} {name}: {r['cpu_s']:.2f} CPU-s in {r['wall']:.0f} s "
                          f"= {r['pct']:.2f} % of one core (load {r['load'][0]:.1f} -> "
                          f"{r['load'][1]:.1f}, {r['steal'] * 100:.0f} % of a core stolen; "
                          f"{r['mqtt_msgs']} state messages, "
                          f"{r['events']} page events)", flush=True)
                    print("    " + ", ".join(f"{k} {v:.2f}" for k, v in top if v > 0), flush=True)
    subprocess.run(["uptime"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
