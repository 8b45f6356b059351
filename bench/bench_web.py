"""The phone page's latency: from a phase change in the daemon to the page's DOM showing it.

    .venv/bin/python bench/bench_web.py [--speed 1] [--program FILE] [--screenshot docs/web-live.png]

The real server (coach/daemon/web) in front of an in-process daemon (the real session thread,
library, clip worker and history; the DummyPlayer as its output), and Debian's Chromium,
headless at a phone's size (390x844), with the page open. A thread here plays the output in real
time (--speed times it), 20 ms of audio per step, and notes the wall-clock time at which each
phase of the timeline began (the step whose position crossed its start). The page notes, in
window.coachLog, Date.now() as it draws each status it was sent (its DOM updated). Latency of a
phase = the first draw of that phase (same kind, rep, set, side) less the time it began: the
session thread's tick (0.1 s), the server's poll (0.25 s), the event stream and the page's
script. Both clocks are this machine's wall clock. Phases shorter than 0.3 s are left out
(none in the default program). Prints the median, 90th percentile and max over the session.

--cpu S: the cost of the page. A real `coach daemon` (warm clip cache, programs/
full-session.yaml playing into a private PulseAudio null sink, as bench_daemon.py measures it):
its utime+stime over S seconds of the session without `web:` in its config; then another with
`web: {listen: 127.0.0.1:PORT}`, S seconds with no page open and S seconds with the page open
in headless Chromium (the events stream, the status asked 4 times a second).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import PHONE, chromium, have_chromium  # noqa: E402
from tests.support.webrig import WEB_DAY, base_url, web_rig  # noqa: E402

STEP_MS = 20


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speed", type=float, default=1.0, help="audio played per wall second")
    ap.add_argument("--program", help="a program file (default: the tests' 108-s Web day)")
    ap.add_argument("--screenshot", metavar="PNG", help="the live page at phone size, 12.5 s in")
    ap.add_argument("--cpu", type=float, metavar="S", help="also the daemon's CPU, S s a window")
    ap.add_argument("--no-latency", action="store_true", help="only the CPU (with --cpu)")
    args = ap.parse_args()
    if not have_chromium():
        print("bench_web: needs /usr/bin/chromium and /usr/bin/chromedriver", file=sys.stderr)
        return 2
    if not args.no_latency:
        latency(args)
    if args.cpu:
        cpu(args.cpu)
    return 0


def cpu(seconds: float) -> None:
    import socket

    from bench.bench_daemon import FULL, Daemon, cpu_s, unscheduled
    from tests.support.audio import PulseServer
    with tempfile.TemporaryDirectory() as t, PulseServer(Path(t) / "pulse") as pulse:
        tmp = Path(t)
        programs = tmp / "programs"
        programs.mkdir()
        (programs / "full-session.yaml").write_text(unscheduled(FULL.read_text()))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cache = tmp / "cache"
        web = f"web: {{listen: 127.0.0.1:{port}}}\n"
        runs = {"warm": (Daemon(tmp / "warm", pulse, cache, programs, verbose=True), web),
                "off": (Daemon(tmp / "off", pulse, cache, programs), ""),
                "on": (Daemon(tmp / "on", pulse, cache, programs), web)}
        for d, extra in runs.values():
            (d.tmp / "config" / "coach").mkdir(parents=True)
            (d.tmp / "config" / "coach" / "config.yaml").write_text("mpris: false\n" + extra)
            d.env["XDG_STATE_HOME"] = str(tmp / "state")
        warm = runs["warm"][0]
        try:
            warm.start()
            warm.wait_log("full-session: voice clips ready", timeout=300)
        finally:
            warm.stop()
        for name in ("off", "on"):
            d = runs[name][0]
            try:
                d.start()
                assert d.proc is not None
                pid = d.proc.pid
                time.sleep(10)
                assert d.request({"cmd": "start", "program": "full-session"}).get("ok")
                d.wait_status(lambda st: st["state"] == "playing" and st["position"] > 3, 60,
                              "playing")

                def window(what: str, pid: int = pid) -> None:
                    c0, t0 = cpu_s(pid), time.monotonic()
                    time.sleep(seconds)
                    pct = (cpu_s(pid) - c0) / (time.monotonic() - t0) * 100
                    print(f"daemon CPU, {what}: {pct:.2f} % of one core over {seconds:g} s",
                          flush=True)

                if name == "off":
                    window("session, no web: in the config")
                else:
                    window("session, web on, no page open")
                    token = (tmp / "state" / "coach" / "web-token").read_text().strip()
                    with chromium() as driver:
                        driver.get(f"http://127.0.0.1:{port}/?token={token}")
                        time.sleep(2)
                        assert driver.execute_script("return window.coachLog.length") > 0
                        window("session, web on, the page open")
                d.request({"cmd": "stop"})
            finally:
                d.stop()


def latency(args: argparse.Namespace) -> None:
    text = Path(args.program).read_text() if args.program else WEB_DAY
    with tempfile.TemporaryDirectory() as tmp, web_rig(Path(tmp)) as (rig, server), \
            chromium() as driver:
        (rig.programs / "day.yaml").write_text(text)
        rig.call("reload")
        u = base_url(server)
        driver.get(f"{u}/?token={server.token}")
        assert rig.call("start", program="day")["ok"]
        rig.wait_for(lambda st: st["state"] == "playing", "playing", timeout=120)
        entry = rig.d.library.entries["day"]
        assert entry.timeline is not None
        phases = [p for p in entry.timeline.phases if p.duration_ms >= 300 and p.t_ms > 0]
        rate = rig.player.rate
        began: dict[int, float] = {}  # phase start (ms) -> wall time it was crossed
        shot = threading.Event()
        starts = sorted({p.t_ms for p in phases})

        def play() -> None:
            i = 0
            t0 = time.monotonic()
            played = 0.0
            end = entry.timeline.duration_ms
            while played < end:
                played += STEP_MS
                rig.player.advance_ms(STEP_MS)
                pos = rig.player.position * 1000 / rate
                now = time.time()
                while i < len(starts) and pos >= starts[i]:
                    began[starts[i]] = now
                    i += 1
                if args.screenshot and pos >= 12_500 and not shot.is_set():
                    shot.set()
                time.sleep(max(0.0, t0 + played / 1000 / args.speed - time.monotonic()))

        player = threading.Thread(target=play, daemon=True)
        player.start()
        if args.screenshot:
            shot.wait()
            time.sleep(0.4)
            driver.save_screenshot(args.screenshot)
        player.join()
        time.sleep(1.0)
        log = driver.execute_script("return window.coachLog")
    drawn: list[tuple[float, dict]] = [(t / 1000, st) for t, st in log]
    lat = []
    missed = 0
    for p in phases:
        if p.t_ms not in began:
            continue
        key = (p.phase, p.rep, p.exercise_index, p.set, p.side)
        t = next((t for t, st in drawn if t >= began[p.t_ms] - 0.005 and
                  (st.get("phase"), st.get("rep"), st.get("exercise_index"), st.get("set"),
                   st.get("side")) == key), None)
        if t is None:
            missed += 1
        else:
            lat.append(t - began[p.t_ms])
    lat.sort()
    print(f"machine: {machine()}; page at {PHONE[0]}x{PHONE[1]} in headless Chromium; "
          f"speed x{args.speed:g}")
    print(f"phases: {len(lat)} seen, {missed} never drawn")
    if lat:
        p90 = lat[min(len(lat) - 1, int(0.9 * len(lat)))]
        print(f"phase change -> DOM: median {statistics.median(lat) * 1000:.0f} ms, "
              f"p90 {p90 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms, "
              f"min {lat[0] * 1000:.0f} ms (target <= 500 ms)")
    if args.screenshot:
        print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    sys.exit(main())
