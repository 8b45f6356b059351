"""A music stream for ducking tests: pacat with media.role=music playing a low tone into the test
server's null sink, and the tone's level measured in its own band of a capture."""

from __future__ import annotations

import subprocess
import threading

import numpy as np

RATE = 48000
TONE_HZ = 50.0  # 80 Hz was within reach of espeak's fundamental under a 100 ms window
TONE_AMP = 0.3


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


def voice_only(x: np.ndarray, cutoff_hz: float = 300.0) -> np.ndarray:
    """The capture without anything below ``cutoff_hz`` (the tone): where the voice is."""
    spec = np.fft.rfft(x.astype(np.float64))
    spec[: int(cutoff_hz * len(x) / RATE) + 1] = 0
    return np.fft.irfft(spec, len(x)).astype(np.float32)
