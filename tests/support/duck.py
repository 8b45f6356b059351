"""A music stream for ducking tests: pacat with media.role=music playing a low tone into the test
server's null sink, and the tone's level measured in its own band of a capture."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from typing import Any

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


def _voice_taps(cut_hz: float = 5000.0, width_hz: float = 2000.0, atten_db: float = 80.0) -> np.ndarray:
    """A linear-phase low-pass (Kaiser-windowed sinc, Kaiser's formulas): flat to
    cut - width/2, ``atten_db`` down from cut + width/2; an odd number of taps, unit DC gain."""
    beta = 0.1102 * (atten_db - 8.7)
    n = int(np.ceil((atten_db - 8) / (2.285 * 2 * np.pi * width_hz / RATE))) | 1
    k = np.arange(n) - n // 2
    h = 2 * cut_hz / RATE * np.sinc(2 * cut_hz / RATE * k) * np.kaiser(n, beta)
    return h / h.sum()


# The voice band is everything below 4 kHz (flat; -6 dB at 5 kHz, -80 dB from 6 kHz: the tone, at
# 15 kHz, is 100 dB down), read through a short FIR: 121 taps, so nothing shows in
# it more than VOICE_PRE_ECHO frames (60, 1.25 ms) before it sounds. It was a brick-wall FFT
# band-pass (300-4000 Hz) over the whole capture, whose 300 Hz edge (kept from an 80 Hz tone)
# rang at -40 dBFS up to 200 ms ahead of a loud voice: 'squeeze' was found 15-73 ms before its
# first sample (in issue 20's capture it was there to the sample, bit for bit), "3" 64 ms.
VOICE_TAPS = _voice_taps()
VOICE_PRE_ECHO = len(VOICE_TAPS) // 2


def voice_only(x: np.ndarray) -> np.ndarray:
    """The capture's voice band only: not the tone (nor the far sidebands of its volume steps).
    Its first and last VOICE_PRE_ECHO frames are silence: the filter has no whole window there,
    and a tone cut off by the capture's ends would click."""
    if len(x) < len(VOICE_TAPS):
        return np.zeros(len(x), np.float32)
    v = np.convolve(x.astype(np.float64), VOICE_TAPS, "valid").astype(np.float32)
    return np.pad(v, VOICE_PRE_ECHO)


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


def wait_volume(server: Any, stream: int, level: float, what: str, hold_s: float = 0.0) -> None:
    """``stream``'s volume on ``server`` (a DummyServer) reaches ``level`` within 5 s and, with
    ``hold_s``, stays there that long (a ducker that is down looks at the position at least
    every 0.25 s: a level still there from before proves nothing without it)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        v = server.volume(stream)
        if v is not None and abs(v[0] - level) < 0.002:
            break
        time.sleep(0.01)
    held_until = time.monotonic() + hold_s
    while (v := server.volume(stream)) is not None and abs(v[0] - level) < 0.002:
        if time.monotonic() >= held_until:
            return
        time.sleep(0.01)
    raise AssertionError(f"{what}: music at {server.volume(stream)}, not {level:.3f}")


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
