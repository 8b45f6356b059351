"""Home Assistant over MQTT: how late a phase change reaches a subscriber, and what the bridge
costs the daemon.

    .venv/bin/python bench/bench_mqtt.py [--runs 1]

A real `coach daemon` (tests.support.coachd.Coachd: its own XDG dirs, `-v`) plays a 2-minute
program (tempo sets with pauses, holds, rests: a phase change every 1-8 s) into a private
PulseAudio null sink, with a real mosquitto on a loopback port and a paho subscriber (what Home
Assistant would be) on `coach/<node>/state`.

Latency: the daemon's phase changes are where `coach plan --json` puts them, on the session's
own clock (its position). That clock is tied to this process's monotonic clock by asking
`status` over the control socket every 0.5 s while it plays (t - position, from the answer
nearest the change: the output's clock drifts from the wall clock under load; the round trip
is a few ms). A change of the published `phase` (one phase kind to
another: the sensor's value changes) is dated there; its latency is the arrival of the first
state message with the new phase at the subscriber, minus that. Median and max over the session.

CPU: utime+stime from /proc/PID/stat from `playing` to the session's end, the same program
with `mqtt:` configured and without, warm clip cache (a first daemon made every clip).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_vs_naive import machine  # noqa: E402
from coach.daemon.control import request  # noqa: E402
from coach.daemon.mqtt.discovery import Topics, node_id  # noqa: E402
from tests.support.audio import PulseServer, have_alsa_pulse_plugin  # noqa: E402
from tests.support.broker import MOSQUITTO, Mosquitto, Watcher  # noqa: E402
from tests.support.coachd import Coachd  # noqa: E402

PROGRAM = """\
program: MQTT bench
defaults: {rest: 8s, lead_in: 3s, announce: 3s}
exercises:
  - name: Row
    sets: 3
    reps: 4
    tempo: "2121"
  - name: Plank
    sets: 2
    hold: 15s
"""


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phase_changes(d: Coachd, path: Path) -> list[tuple[float, str]]:
    """(seconds into the session, new phase) wherever the phase kind changes."""
    plan = json.loads(d.ok("plan", "--json", str(path)))
    out: list[tuple[float, str]] = []
    for ev in plan["events"]:
        if ev["type"] == "phase" and (not out or out[-1][1] != ev["phase"]):
            out.append((ev["t"], ev["phase"]))
    return out


def session(tmp: Path, pulse: PulseServer, cache: Path, broker: Mosquitto | None,
            warm_only: bool = False) -> dict:
    tmp.mkdir(parents=True)
    env = pulse.client_env(XDG_CACHE_HOME=str(cache))
    d = Coachd(tmp, env)
    config = Path(d.env["XDG_CONFIG_HOME"]) / "coach" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("mpris: false\n" + (f"mqtt: {{host: 127.0.0.1, port: {broker.port}}}\n"
                                          if broker else ""))
    prog = d.programs / "bench.yaml"
    prog.write_text(PROGRAM)
    sock = d.runtime / "coach" / "control.sock"
    watcher = None
    try:
        if broker is not None:
            watcher = Watcher(broker.port, (Topics(node_id(socket.gethostname()),
                                                   "homeassistant").state,))
        d.start()
        assert d.proc is not None
        time.sleep(3)  # the library's clips warmed
        d.ok("start", "bench")
        d.wait_for(lambda s: s["state"] == "playing", what="playing", timeout=60)
        if warm_only:  # every clip of the program made and cached, then stop
            time.sleep(15)
            return {}
        c0, w0 = cpu_s(d.proc.pid), time.monotonic()
        offsets = []
        while True:
            t1 = time.monotonic()
            st = request({"cmd": "status"}, sock)
            t2 = time.monotonic()
            if st.get("state") != "playing":
                break
            offsets.append((st["position"], (t1 + t2) / 2 - st["position"]))
            time.sleep(0.5)
        c1, w1 = cpu_s(d.proc.pid), time.monotonic()
        out = {"cpu_pct": 100 * (c1 - c0) / (w1 - w0), "seconds": w1 - w0}
        if watcher is not None:
            msgs = [(a, json.loads(text)) for _, text, _, a in watcher.messages]
            lat = []
            for at, phase in phase_changes(d, prog)[1:]:
                # The session's clock tied to ours by the status asked nearest that position
                # (an output under load falls behind the wall clock: no one offset holds).
                when = at + min(offsets, key=lambda o: abs(o[0] - at))[1]
                hit = next((a for a, s in msgs if a >= when - 0.3 and s["phase"] == phase), None)
                if hit is not None:
                    lat.append(hit - when)
            spread = [o for _, o in offsets]
            out.update(latencies=lat, offset_spread=max(spread) - min(spread))
        return out
    finally:
        if watcher is not None:
            watcher.close()
        d.cleanup()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    if not Path(MOSQUITTO).exists() or not have_alsa_pulse_plugin():
        print("real parts missing: mosquitto, PulseAudio", file=sys.stderr)
        return 2
    print(machine())
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        (tmp / "pulse").mkdir()
        with PulseServer(tmp / "pulse") as pulse, Mosquitto(tmp) as broker:
            cache = tmp / "cache"
            session(tmp / "warm", pulse, cache, None, warm_only=True)
            rows = []
            for run in range(args.runs):
                on = session(tmp / f"on{run}", pulse, cache, broker)
                off = session(tmp / f"off{run}", pulse, cache, None)
                lat = on["latencies"]
                rows.append((on, off))
                print(f"run {run + 1}: {len(lat)} phase changes over {on['seconds']:.0f} s; "
                      f"latency median {statistics.median(lat) * 1000:.0f} ms, "
                      f"max {max(lat) * 1000:.0f} ms, min {min(lat) * 1000:.0f} ms "
                      f"(t - position spread {on['offset_spread'] * 1000:.0f} ms); daemon CPU "
                      f"{on['cpu_pct']:.2f} % with mqtt, {off['cpu_pct']:.2f} % without")
    subprocess.run(["uptime"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
