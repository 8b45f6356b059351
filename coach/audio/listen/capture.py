"""The mic: PulseAudio/PipeWire capture from one configured source, at the source's own rate
and channel count, mixed to mono and resampled to the recogniser's 16 kHz (soxr), only while a
window is open.

It runs ``parec`` (pulseaudio-utils; PipeWire's pulse server answers it the same way) rather
than a PortAudio input stream: PortAudio reaches PulseAudio only through ALSA's ``pulse``
device, which picks a source by the process-wide PULSE_SOURCE and would share the player's
PortAudio in the daemon's process; parec names the source (``--device``), runs in its own
process that is started for a window and ended after it (no capture, no CPU and no Bluetooth
call profile while closed), and a missing source is its exit with a message, never a hang."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from coach.audio.listen.recognizer import RATE

log = logging.getLogger(__name__)

CHUNK_S = 0.1  # what one read gives: the endpointer looks at the audio this often


class NoSource(Exception):
    """The configured source is not there (or no sound server answers): one line for the log."""


@dataclass(frozen=True)
class SourceFormat:
    name: str
    rate: int
    channels: int


def _pactl(*args: str, env: dict[str, str] | None = None) -> str:
    try:
        r = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=5, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NoSource(f"pactl {' '.join(args)}: {e}") from e
    if r.returncode != 0:
        raise NoSource(f"pactl {' '.join(args)}: {(r.stderr or r.stdout).strip()}")
    return r.stdout


def source_format(source: str, env: dict[str, str] | None = None) -> SourceFormat:
    """The source's name, rate and channels (``default``: the server's default source)."""
    name = _pactl("get-default-source", env=env).strip() if source == "default" else source
    for line in _pactl("list", "short", "sources", env=env).splitlines():
        # "1	mic.monitor	module-null-sink.c	s16le 1ch 48000Hz	IDLE"
        cols = line.split("\t")
        if len(cols) >= 4 and cols[1] == name:
            spec = cols[3].split()
            try:
                channels = int(next(s for s in spec if s.endswith("ch"))[:-2])
                rate = int(next(s for s in spec if s.endswith("Hz"))[:-2])
            except (StopIteration, ValueError):
                raise NoSource(f"source {name!r}: cannot read its format {cols[3]!r}") from None
            return SourceFormat(name, rate, channels)
    raise NoSource(f"no PulseAudio/PipeWire source {name!r} (`pactl list short sources` "
                   "lists them)")


class Capture:
    """One window's capture: ``chunks()`` yields 16 kHz mono float32 until ``close()``."""

    def __init__(self, source: str, env: dict[str, str] | None = None) -> None:
        """``env``: the sound server's environment (default: this process's)."""
        self.env = env
        self.format = source_format(source, env)
        import soxr  # a dependency of coach; the resampler keeps its state across chunks
        f = self.format
        self._resampler = soxr.ResampleStream(f.rate, RATE, 1, dtype="float32")
        self._proc = subprocess.Popen(
            ["parec", f"--device={f.name}", "--format=float32le", f"--rate={f.rate}",
             f"--channels={f.channels}", "--latency-msec=50", "--raw"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
        self.frame_bytes = 4 * f.channels
        log.debug("listen: capturing %s at %d Hz, %d ch", f.name, f.rate, f.channels)

    def chunks(self) -> Iterator[np.ndarray]:
        assert self._proc.stdout is not None
        want = int(self.format.rate * CHUNK_S) * self.frame_bytes
        while True:
            data = self._proc.stdout.read(want)
            if not data:
                err = self._proc.stderr.read().decode(errors="replace").strip() \
                    if self._proc.stderr is not None else ""
                if self._proc.poll() not in (None, 0, -signal.SIGTERM):
                    raise NoSource(f"capture from {self.format.name!r} ended: {err or 'no data'}")
                return
            n = len(data) // self.frame_bytes * self.frame_bytes
            x = np.frombuffer(data[:n], "<f4").reshape(-1, self.format.channels).mean(axis=1)
            yield self._resampler.resample_chunk(x.astype(np.float32))

    def close(self) -> None:
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()
