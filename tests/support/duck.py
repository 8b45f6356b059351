"""A music stream for ducking tests: pacat with media.role=music playing a low tone into the test
server's null sink, and the tone's level measured in its own band of a capture."""

from __future__ import annotations

import re
import subprocess
import threading
import time

import numpy as np
import pytest

from tests.support.audio import PulseServer

RATE = 48000
# Above everything the voice holds: clips are made at 22.05 kHz (espeak-ng, Piper) and
# resampled, so nothing of them lies above 11 kHz. A low tone (80, then 50 Hz) was within
# reach of espeak's fundamental, and each volume step of it is a broadband click that an onset
# detector took for the voice (the fade then looked ~140 ms late).
TONE_HZ = 15000.0
TONE_AMP = 0.3


# Run with `python -c PLAN_SCRIPT PROGRAM` (in the tests' env, so the clip cache is theirs):
# prints the duck plan and each speech cue's frame and clip length, as `coach run` will play it.
PLAN_SCRIPT = """\
import json, sys
from coach.audio.pipeline import build_mixer, duck_plan, load, prepare_clips
_, tl = load(sys.argv[1])
m = build_mixer(tl, prepare_clips(tl))
p = duck_plan(m)
lengths = m.clip_frames()
print(json.dumps({"starts": p.starts, "ends": p.ends, "down": p.down, "up": p.up,
                  "cues": [[c.t_ms * m.rate // 1000, lengths[c.text]] for c in tl.cues
                           if c.kind == "speech"]}))
"""


class Music:
    """pacat --property=media.role=music playing TONE_HZ at TONE_AMP, fed in real time."""

    def __init__(self, env: dict[str, str], seconds: float = 600, hz: float = TONE_HZ,
                 amp: float = TONE_AMP, name: str = "music"):
        self.proc = subprocess.Popen(
            ["pacat", "--playback", "--property=media.role=music",
             f"--property=media.name={name}", "--device=coach_sink", "--format=s16le",
             f"--rate={RATE}", "--channels=1", "--latency-msec=100"],
            env=env, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        n = np.arange(int(RATE * seconds))
        self._data = (amp * np.sin(2 * np.pi * hz * n / RATE) * 32767).astype("<i2").tobytes()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(self._data)
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def band_level_db(x: np.ndarray, centre: int, hz: float = TONE_HZ, win: int = RATE // 10) -> float:
    """The level (dBFS of the sine's amplitude) at ``hz`` in a Blackman window of ``win`` frames
    centred on ``centre``: the voice's energy (well above 100 Hz) stays out of it."""
    a = max(0, centre - win // 2)
    seg = x[a:a + win].astype(np.float64)
    if len(seg) < win:
        return float("nan")
    w = np.blackman(win)
    n = np.arange(a, a + win)
    z = np.sum(w * seg * np.exp(-2j * np.pi * hz * n / RATE))
    amp = 2 * abs(z) / w.sum()
    return float(20 * np.log10(max(amp, 1e-9)))


def levels(x: np.ndarray, lo: int, hi: int, step: int = RATE // 50, win: int = RATE // 10) -> list[float]:
    """Band levels of every window lying wholly inside [lo, hi)."""
    return [band_level_db(x, c, win=win) for c in range(lo + win // 2, hi - win // 2 + 1, step)]


def voice_only(x: np.ndarray, lo_hz: float = 300.0, hi_hz: float = 4000.0) -> np.ndarray:
    """The capture's voice band only: neither the tone nor the sidebands of its volume steps."""
    spec = np.fft.rfft(x.astype(np.float64))
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    spec[(f < lo_hz) | (f > hi_hz)] = 0
    return np.fft.irfft(spec, len(x)).astype(np.float32)


def voice_onsets(x: np.ndarray, after: int = 0) -> np.ndarray:
    """Where the voice starts in a capture: the first sample of each run above -40 dBFS in the
    voice band (runs closer than 100 ms are one), from capture frame ``after`` on."""
    v = np.abs(voice_only(x))
    loud = np.flatnonzero(v > 10 ** (-40 / 20))
    loud = loud[loud >= after]
    if not len(loud):
        return loud
    return loud[np.concatenate(([True], np.diff(loud) > RATE // 10))]


def align(onsets: np.ndarray, cue_frames: list[int]) -> list[int | None]:
    """Each cue's onset in the capture, or None: the offset that puts the cues (all but the
    first: it plays while the null sink settles to real-time pace) nearest to onsets, each
    counted up to 200 ms, then each cue's nearest onset within 100 ms of where it puts it."""
    fit = cue_frames[1:]

    def miss(off: int) -> int:
        return sum(min(int(np.abs(onsets - (f + off)).min()), RATE // 5) for f in fit)

    # Every pairing of an onset with a cue is a candidate: the first cues can sit early (the
    # sink settling), and with cues a second apart one second off matches nearly as well.
    off = min({int(o) - f for o in onsets[:40] for f in fit}, key=miss)
    out: list[int | None] = []
    for f in cue_frames:
        near = int(onsets[np.argmin(np.abs(onsets - (f + off)))])
        out.append(near if abs(near - (f + off)) <= RATE // 10 else None)
    return out


class Clock:
    """An Output as the ducker reads it: the position is the time since it was made (source
    frames at RATE), always playing, no insert."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    @property
    def position(self) -> int:
        return int((time.monotonic() - self.t0) * RATE)

    @property
    def state(self) -> str:
        return "playing"

    @property
    def insert_position(self) -> int | None:
        return None


def cue_positions(onsets: np.ndarray, cue_frames: list[int]) -> tuple[list[int], int]:
    """Where each cue is in the capture, and how many cues an onset was found for. The mixer
    puts every cue on its sample relative to the others (0 samples of error, measured
    elsewhere), so one offset places them all: the median of (onset - cue) over the cues
    ``align`` found. An onset detector's own error on one cue (a quiet first consonant, a
    fricative outside the voice band) then moves nothing."""
    found = [(f, o) for f, o in zip(cue_frames, align(onsets, cue_frames)) if o is not None]
    if not found:
        return [], 0
    off = int(np.median([o - f for f, o in found[1:] or found]))
    return [f + off for f in cue_frames], len(found)


def sink_inputs(server: PulseServer) -> list[dict[str, str]]:
    """`pactl list sink-inputs` as one dict per stream (properties and the Volume line)."""
    out = []
    for block in server.pactl("list", "sink-inputs").stdout.split("Sink Input #")[1:]:
        d = {"index": block.split("\n", 1)[0].strip()}
        for m in re.finditer(r'^\s*([\w.]+) = "(.*)"$', block, re.M):
            d[m.group(1)] = m.group(2)
        vol = re.search(r"^\s*Volume: (.*)$", block, re.M)
        d["volume"] = vol.group(1) if vol else ""
        out.append(d)
    return out


def percent(volume_line: str) -> int:
    return int(re.search(r"(\d+)%", volume_line).group(1))  # type: ignore[union-attr]


def use_server(monkeypatch: pytest.MonkeyPatch, server: PulseServer) -> None:
    """pulsectl in this process talks to the test's server (libpulse reads these at connect)."""
    for k in ("XDG_RUNTIME_DIR", "HOME"):
        monkeypatch.setenv(k, server.env[k])
    monkeypatch.delenv("PULSE_SERVER", raising=False)
