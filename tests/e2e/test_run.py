"""`coach run` in real time: a 2-minute program played through PortAudio into a real PulseAudio
null sink, captured with parec; cue onsets found in the capture, relative to the first cue.

It was a 5-minute program until issue 17: 353 s, a quarter of CI's whole run. The two minutes
keep every kind of exercise (tempo, hold, cadence, sides, poses); longer programs are measured by
`bench/bench_playback.py PROGRAM.yaml` (figures in BENCHMARKS.md, "Timing")."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from tests.support.audio import PulseServer, need_pulse
from tests.support.cli import COACH, coach
from tests.support.real import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.realtime]  # `coach run` through PulseAudio, in real time

TWO_MINUTES = """\
program: Two minutes
defaults: {rest: 5s, lead_in: 3s}
exercises:
  - name: Lat pulldown
    focus: Drive the elbows down.
    sets: 1
    reps: 2
    tempo: "3011"
  - name: Wall sit
    hold: 10s
  - name: Push-ups
    reps: 8
    cadence: 1.5s
  - name: Split squat
    sides: both
    reps: 2
    tempo: 31X0
  - name: Posing
    poses: [front double biceps, side chest]
    hold: 6s
    eyes_closed: true
"""


def onsets_after(x: np.ndarray, expected: list[int], rate: int, window_ms: int = 20) -> np.ndarray:
    """First sample above -45 dBFS from `window_ms` before each expected frame (-1: none)."""
    idx = np.flatnonzero(np.abs(x) > 10 ** (-45 / 20))
    out = []
    for e in expected:
        k = np.searchsorted(idx, e - rate * window_ms // 1000)
        out.append(int(idx[k]) if k < idx.size else -1)
    return np.array(out)


def test_two_minute_program_through_pulseaudio_within_10ms_no_drift(tmp_path):
    need_pulse()
    prog = tmp_path / "two.yaml"
    prog.write_text(TWO_MINUTES)
    plan = json.loads(coach("plan", "--json", str(prog), check=True).stdout)
    assert 110 <= plan["duration"] <= 150, plan["duration"]
    times = [e["t"] for e in plan["events"] if e["type"] == "cue"]
    with PulseServer(tmp_path / "pulse") as server:
        env = dict(server.env, XDG_CACHE_HOME=str(tmp_path / "cache"))
        # Synthesize first so the real-time run starts at once (and the capture stays short).
        coach("check", str(prog), env=env, check=True)
        cap = server.capture()
        run = coach("run", str(prog), env=env, timeout=plan["duration"] + 120)
        x = cap.stop()
    assert run.returncode == 0, run.stderr
    rate = server.rate
    loud = np.flatnonzero(np.abs(x) > 10 ** (-45 / 20))
    assert loud.size, "nothing was captured"
    first = int(loud[0])
    expected = [first + round((t - times[0]) * rate) for t in times]
    found = onsets_after(x, expected, rate)
    assert (found >= 0).all(), f"{(found < 0).sum()} cues never sounded"
    err_ms = (found - np.array(expected)) * 1000 / rate
    worst = np.argsort(-np.abs(err_ms))[:5]
    assert np.abs(err_ms).max() <= 10.0, [(times[i], err_ms[i]) for i in worst]
    # No drift: the last 40 s's cues are as close to the plan as the first 40 s's.
    early = err_ms[np.array(times) < times[0] + 40]
    late = err_ms[np.array(times) > times[-1] - 40]
    assert abs(np.median(late) - np.median(early)) <= 2.0, (np.median(early), np.median(late))
    assert "underflow" not in run.stderr, run.stderr


def test_run_ends_with_one_line_when_the_audio_server_dies(tmp_path):
    import time
    need_pulse()
    demo = ROOT / "programs" / "demo.yaml"
    with PulseServer(tmp_path / "pulse") as server:
        env = dict(server.env, XDG_CACHE_HOME=str(tmp_path / "cache"))
        proc = subprocess.Popen([*COACH, "run", str(demo)], cwd=ROOT,
                                env=env, stderr=subprocess.PIPE, text=True)
        time.sleep(6)
        server.close()
        try:
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 1, err
    assert "audio output lost at" in err and "Traceback" not in err
