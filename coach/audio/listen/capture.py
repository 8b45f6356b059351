"""The mic: PulseAudio/PipeWire capture from one configured source, at the source's own rate
and channel count, mixed to mono and resampled to the recogniser's 16 kHz (soxr), only while a
window is open.

It runs ``parec`` (pulseaudio-utils; PipeWire's pulse server answers it the same way) rather
than a PortAudio input stream: PortAudio reaches PulseAudio only through ALSA's ``pulse``
device, which picks a source by the process-wide PULSE_SOURCE and would share the player's
PortAudio in the daemon's process; parec names the source (``--device``), runs in its own
process that is started for a window and ended after it (no capture, no CPU and no Bluetooth
call profile while closed), and a missing source is its exit with a message, never a hang.

A source that goes away while a window is open (a Bluetooth headset switched off) does not end
parec: PulseAudio moves its stream to the default source, another mic or a sink's monitor,
which hears the coach's own voice. So a ``pactl subscribe`` runs beside it for the window, and
the source's removal ends the capture with ``NoSource``."""

from __future__ import annotations

import logging
import os
import selectors
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
    index: int  # the server's number for it (what its events name)


def _pactl(*args: str, env: dict[str, str] | None = None) -> str:
    try:
        r = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=5, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NoSource(f"pactl {' '.join(args)}: {e}") from e
    if r.returncode != 0:
        # its first line says it ("Connection failure: Connection refused"); libpulse's own
        # second line ("pa_context_connect() failed: ...") says it again and breaks the one line
        said = (r.stderr or r.stdout).strip().splitlines()
        raise NoSource(f"pactl {' '.join(args)}: {said[0] if said else f'exit {r.returncode}'}")
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
                index = int(cols[0])
            except (StopIteration, ValueError):
                raise NoSource(f"source {name!r}: cannot read its format {cols[3]!r}") from None
            return SourceFormat(name, rate, channels, index)
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
        # parec first: the window's first words count more than a source removed in the
        # milliseconds before the watcher starts
        self._events = subprocess.Popen(["pactl", "subscribe"], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, start_new_session=True,
                                        env=env)
        self.frame_bytes = 4 * f.channels
        log.debug("listen: capturing %s at %d Hz, %d ch", f.name, f.rate, f.channels)

    def chunks(self) -> Iterator[np.ndarray]:
        assert self._proc.stdout is not None and self._events.stdout is not None
        audio, events = self._proc.stdout.fileno(), self._events.stdout.fileno()
        want = int(self.format.rate * CHUNK_S) * self.frame_bytes
        gone = f"Event 'remove' on source #{self.format.index}\n".encode()
        buf, said = bytearray(), bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(audio, selectors.EVENT_READ)
            sel.register(events, selectors.EVENT_READ)
            while True:
                for key, _ in sel.select():
                    data = os.read(key.fd, 1 << 16)
                    if key.fd == events:
                        said += data
                        if gone in said:
                            raise NoSource(f"source {self.format.name!r} went away")
                        del said[:said.rfind(b"\n") + 1]  # whole lines only are looked at
                        if not data:
                            sel.unregister(events)  # pactl ended: parec still says the rest
                        continue
                    if not data:
                        err = self._proc.stderr.read().decode(errors="replace").strip() \
                            if self._proc.stderr is not None else ""
                        if self._proc.wait() not in (0, -signal.SIGTERM):
                            raise NoSource(f"capture from {self.format.name!r} ended: "
                                           f"{err or 'no data'}")
                        return
                    buf += data
                while len(buf) >= want:
                    x = np.frombuffer(bytes(buf[:want]), "<f4")
                    del buf[:want]
                    x = x.reshape(-1, self.format.channels).mean(axis=1)
                    yield self._resampler.resample_chunk(x.astype(np.float32))

    def close(self) -> None:
        for proc in (self._proc, self._events):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
