"""`coach status` against a crowded control socket: a real `coach daemon` process (idle, no
session, as tests/daemon_env.py runs it), first with no other connection, then with --idle
connections open that never send anything (opened before the timing starts, in order).

    .venv/bin/python bench/bench_socket.py [--idle 200] [--repeat 50] [--cli 5]

Per condition: the round trip of coach.daemon.control.request({"cmd": "status"}) timed in
this process (--repeat times: median, max), what it answered, and the whole `coach status`
CLI process from spawn to exit (--cli times: median).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from tests.daemon_env import Coachd  # noqa: E402

from bench.bench_vs_naive import machine  # noqa: E402


def connect(path: Path) -> socket.socket:
    deadline = time.monotonic() + 10
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(path))
            return s
        except BlockingIOError:  # the listen backlog full for a moment
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class Result(NamedTuple):
    median: float  # s, the in-process round trip
    max: float
    cli: float  # s, the median `coach status` process
    answers: list[str]


def measure(d: Coachd, path: Path, repeat: int, cli: int) -> Result:
    from coach.daemon.control import request
    times, answers = [], set()
    for _ in range(repeat):
        t0 = time.perf_counter()
        reply = request({"cmd": "status"}, path, timeout=30)
        times.append(time.perf_counter() - t0)
        answers.add(f"state {reply['state']}" if reply.get("ok") else f"error: {reply.get('error')}")
    procs = []
    for _ in range(cli):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "coach.cli", "status"], cwd=ROOT, env=d.env,
                           capture_output=True, text=True, timeout=60)
        procs.append(time.perf_counter() - t0)
        answers.add(f"CLI exit {r.returncode}: {(r.stdout + r.stderr).strip()[:60]}")
    return Result(statistics.median(times), max(times), statistics.median(procs), sorted(answers))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--idle", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--cli", type=int, default=5)
    args = ap.parse_args()
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-socket-") as t:
        d = Coachd(Path(t), dict(os.environ))
        try:
            d.start()
            path = Path(d.env["XDG_RUNTIME_DIR"]) / "coach" / "control.sock"
            rows = [("no other connection", measure(d, path, args.repeat, args.cli))]
            held = [connect(path) for _ in range(args.idle)]
            time.sleep(0.5)
            rows.append((f"{args.idle} idle connections", measure(d, path, args.repeat, args.cli)))
            for s in held:
                s.close()
        finally:
            d.cleanup()
    print(f"\n`status` over the control socket ({args.repeat} round trips, {args.cli} CLI runs):")
    print("| condition | round trip median | max | `coach status` process | answers |")
    print("|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r.median * 1000:.2f} ms | {r.max * 1000:.2f} ms | "
              f"{r.cli * 1000:.0f} ms | {'; '.join(r.answers)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
