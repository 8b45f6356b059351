"""Real-time timing of coach.audio.player.Player: plays clicks through a private PulseAudio null sink,
captures them with parec and prints onset error, drift, underflows and the player's CPU cost.

    .venv/bin/python bench/bench_onsets.py [--seconds 60] [--blocksize 1024] [--latency high]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.audio import (  # noqa: E402
    RATE,
    PulseServer,
    detect_onsets,
    have_alsa_pulse_plugin,
    have_portaudio,
    onset_errors,
    plan_onsets,
    run_driver,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the click source")
    ap.add_argument("--blocksize", type=int, default=1024)
    ap.add_argument("--latency", default="high", help='"high", "low" or seconds')
    ap.add_argument("--ahead-ms", type=int, default=300)
    args = ap.parse_args()
    missing = [t for t in ("pulseaudio", "pactl", "parec") if shutil.which(t) is None]
    if missing or not have_portaudio() or not have_alsa_pulse_plugin():
        print(f"missing real parts: {missing or ''} portaudio={have_portaudio()} "
              f"alsa-pulse={have_alsa_pulse_plugin()}", file=sys.stderr)
        return 2
    latency = args.latency if args.latency in ("high", "low") else float(args.latency)
    plan = plan_onsets(args.seconds)
    spec = {"source": {"seconds": args.seconds, "onsets": plan, "bed": 0.0},
            "player": {"blocksize": args.blocksize, "latency": latency, "ahead_ms": args.ahead_ms},
            "steps": [["play"], ["wait", args.seconds * 3 + 30]]}
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp, PulseServer(Path(tmp)) as pulse:
        cap = pulse.capture()
        time.sleep(0.2)
        r = run_driver(pulse.env, spec, timeout=args.seconds * 4 + 60)
        rec = cap.stop()
    found = detect_onsets(rec)
    e = onset_errors(found, plan)
    play, done = r["log"][0], r["log"][-1]
    minutes = args.seconds / 60
    print(f"source {args.seconds:g} s, {len(plan)} onsets every 1.0-1.7 s; blocksize "
          f"{args.blocksize}, latency {args.latency} ({r['latency_frames'] / RATE * 1000:.1f} ms), "
          f"ahead {args.ahead_ms} ms; captured {len(rec) / RATE:.1f} s")
    if e["errors_ms"] is None:
        print(f"onsets: found {e['count']}, planned {e['planned']}: MISMATCH")
    else:
        print(f"onset error vs plan (relative to the first): median {e['median_ms']:.3f} ms, "
              f"p99 {e['p99_ms']:.3f} ms, max {e['abs_max_ms']:.3f} ms")
        print(f"drift (last vs first): {e['drift_ms']:+.3f} ms")
    print(f"underflows: {r['underflows']}")
    print(f"player CPU: {(done['cpu_s'] - play['cpu_s']) / minutes:.3f} s per minute of playback "
          f"(whole process incl. stream open: {r['cpu_s']:.2f} s)")
    ok = e["errors_ms"] is not None and done.get("ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
