"""Does listening move a cue? `coach daemon` in a private PulseAudio plays a program without rating
questions (no read-back inserts) for --seconds, its output captured with parec, once with
listening off and once with `listen: {source: mic.monitor}` and command windows opened back to
back the whole time (`coach listen`), each decoding speech that is no command ("hello there",
"banana") played into the null-sink mic. Every cue's onset in the capture is compared with the
same cue's in `coach render` of the program (relative to the first cue): the error in samples,
the daemon's output underflows, and its CPU over the run. With --starts N: how long `coach
daemon` takes to answer its socket with listening off and on (the recogniser is loaded first).
With --music: the corpus's music (chords and a beat, -20 dBFS) plays into the mic the whole
time instead of the words, so that every frame of every window goes through the gate (Silero):
the daemon's CPU with its mic open in a loud room, unpinned, as the daemon runs (--engine:
`listen: {engine: ...}`).

    .venv/bin/python bench/bench_listen_onsets.py [--seconds 60] [--starts 3] [--music]
        [--engine pocketsphinx|moonshine]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.audio import RATE, PulseServer  # noqa: E402
from tests.support.coachd import Coachd  # noqa: E402
from tests.support.speech import (  # noqa: E402
    add_mic,
    loud_onsets,
    music,
    play_into_mic,
    read_wav,
    say_into_mic,
    write_wav,
)

PROGRAM = """\
program: Listening bench
defaults: {rest: 15s, lead_in: 3s, announce: 3s}
exercises:
  - name: Row
    sets: 3
    reps: 6
    tempo: "2010"
  - name: Push-ups
    reps: 20
    cadence: 1.5s
"""
WORDS = ("hello there", "banana")  # heard as no command by PocketSphinx in every voice tried
WINDOW = RATE // 50


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(tmp: Path, listen: bool, seconds: float, loud: bool = False,
        engine: str = "pocketsphinx") -> dict:
    with PulseServer(tmp / "pulse") as pulse:
        mic = add_mic(pulse, RATE)
        env = pulse.client_env(XDG_CACHE_HOME=str(tmp / "cache"))
        d = Coachd(tmp, env)
        config = tmp / "config" / "coach" / "config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text((f"listen: {{source: {mic}, engine: {engine}}}\n" if listen else "")
                          + "duck: false\nmpris: false\n")
        song = None
        if loud:  # the music plays whether or not coach listens: the same room both runs
            x = 0.1 * music(int(RATE * (seconds + 60)), seed=3)
            song = play_into_mic(pulse, write_wav(tmp / "music.wav", x, RATE))
        program = d.programs / "bench.yaml"
        program.write_text(PROGRAM)
        d.ok("check", str(program))
        rendered = tmp / "bench.wav"
        d.ok("render", str(program), "-o", str(rendered))
        plan = json.loads(d.ok("plan", "--json", str(program)))
        d.start()
        windows = 0
        try:
            assert d.proc is not None
            cap = pulse.capture()
            d.ok("start", "bench")
            d.wait_for(lambda s: s["state"] == "playing", what="playing")
            cpu0, t0 = cpu_s(d.proc.pid), time.monotonic()
            while d.status()["position"] < seconds:
                if listen and not d.status()["listening"]:
                    d.ok("listen")
                    windows += 1
                    time.sleep(0.5)
                    if song is None:
                        say_into_mic(pulse, tmp, WORDS[windows % 2], RATE)
                time.sleep(0.1)
            cpu = cpu_s(d.proc.pid) - cpu0
            wall = time.monotonic() - t0
            x = cap.stop()
            st = d.status()
            d.ok("stop")
        finally:
            d.stop()
            if song is not None:
                song.kill()
                song.wait()
    log = d.text()
    r, _ = read_wav(rendered)
    cues = [round(e["t"] * RATE) for e in plan["events"]
            if e["type"] == "cue" and e["t"] < seconds - 1]
    r0 = loud_onsets(r, [0], WINDOW)[0]
    x0 = int(np.flatnonzero(np.abs(x) > 10 ** (-45 / 20))[0])
    want = [o - r0 for o in loud_onsets(r, cues, WINDOW)]
    heard = [o - x0 for o in loud_onsets(x, [x0 - r0 + c for c in cues], WINDOW)]
    err = np.abs(np.array(heard) - np.array(want))
    under = [ln for ln in log.splitlines() if "underflow" in ln]
    return {"cues": len(cues), "exact": int((err == 0).sum()), "err_max": int(err.max()),
            "windows": windows, "commands": log.count("coach.daemon.listening: listen: heard"),
            "underflow_lines": len(under), "cpu_pct": 100 * cpu / wall, "state": st["state"]}


def start_s(tmp: Path, listen: bool) -> float:
    """Process start to the socket's first answer (`coach status`)."""
    with PulseServer(tmp / "pulse") as pulse:
        mic = add_mic(pulse, RATE)
        d = Coachd(tmp, pulse.client_env())
        config = tmp / "config" / "coach" / "config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text((f"listen: {{source: {mic}}}\n" if listen else "") + "mpris: false\n")
        t0 = time.monotonic()
        d.start()
        took = time.monotonic() - t0
        d.stop()
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--starts", type=int, default=0)
    ap.add_argument("--music", action="store_true", help="music into the mic, not words")
    ap.add_argument("--engine", choices=("pocketsphinx", "moonshine"), default="pocketsphinx")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for _ in range(args.starts):
        for listen in (False, True):
            with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
                took = start_s(Path(tmp), listen)
            print(f"start to the socket's answer, listening {'on ' if listen else 'off'}: "
                  f"{took:.2f} s (load average {os.getloadavg()[0]:.2f})")
    if args.starts:
        return 0
    for listen in (False, True):
        with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
            r = run(Path(tmp), listen, args.seconds, args.music, args.engine)
        print(f"listening {'on ' if listen else 'off'}: {r['exact']} of {r['cues']} cues on their "
              f"sample, max error {r['err_max']} samples; {r['windows']} command windows "
              f"({r['commands']} commands heard); underflow warnings {r['underflow_lines']}; "
              f"daemon CPU {r['cpu_pct']:.1f} % of one core; load average "
              f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
