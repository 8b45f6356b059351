"""Real-time output: a Player streams any Source (the mixer) through PortAudio via sounddevice.

A feeder thread renders a few blocks ahead; the PortAudio callback only copies those frames.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from typing import Any, Callable, Protocol

import numpy as np

logger = logging.getLogger(__name__)

RENDER_HINT = "write the session to a WAV file instead with `coach render`"


class Source(Protocol):
    """What the Player plays: frames [first_frame, first_frame + n_frames) on demand, mono float32."""

    rate: int
    total_frames: int

    def render(self, first_frame: int, n_frames: int) -> np.ndarray: ...


class NoOutputDevice(Exception):
    """PortAudio has no usable output device (or none matching the configured one)."""


def _sounddevice() -> Any:
    # Imported lazily: `coach render`/`plan` must work where libportaudio is absent, and tests
    # pick the ALSA configuration (HOME/.asoundrc) before PortAudio initialises.
    try:
        import sounddevice
    except OSError as e:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise NoOutputDevice(f"PortAudio is not available ({e}); {RENDER_HINT}") from None
    return sounddevice


def list_devices() -> list[dict]:
    """Output devices as PortAudio sees them: index, name, channels, default samplerate, is_default."""
    sd = _sounddevice()
    default_out = _default_output(sd)
    devices = []
    for index, dev in enumerate(sd.query_devices()):
        if dev["max_output_channels"] > 0:
            devices.append({"index": index, "name": dev["name"],
                            "channels": int(dev["max_output_channels"]),
                            "default_samplerate": float(dev["default_samplerate"]),
                            "is_default": index == default_out})
    return devices


def _default_output(sd: Any) -> int:
    try:
        return int(sd.default.device[1])
    except Exception:  # no default device at all
        return -1


class _Chunk:
    """Rendered frames for the callback; ``data is None`` marks the end of the source."""

    __slots__ = ("data", "src_start", "src_len", "gen")

    def __init__(self, data: np.ndarray | None, src_start: int, src_len: int, gen: int):
        self.data = data
        self.src_start = src_start
        self.src_len = src_len
        self.gen = gen


class Player:
    """Plays a Source on an output device; play/pause/resume/seek/stop from any non-audio thread.

    ``position`` is in source frames; ``on_end`` is called from the feeder thread once the
    source has played out (its last frame reached the device).
    """

    def __init__(self, device: str | int | None = None, rate: int = 48000, blocksize: int = 1024,
                 preroll_ms: int = 500, latency: str | float = 0.2, ahead_ms: int = 1000):
        self.device = device
        self.rate = rate
        self.blocksize = blocksize
        self.preroll_ms = preroll_ms
        # 200 ms of device buffer (PortAudio's "high" is ~43 ms on ALSA): a process preempted
        # for 74 ms on a shared machine underran the stream and shifted every later cue by as
        # much. Position accounts for it; pause and seek act within it, which a lifter does
        # not notice (a Bluetooth headset adds as much again).
        self.latency = latency
        # How far the feeder renders ahead of the callback: a second rides out a busy Pi (pause
        # and seek do not wait for it: pause acts in the callback, seek flushes the queue).
        self.ahead_ms = ahead_ms
        self.on_end: Callable[[], None] | None = None
        self.error: Exception | None = None  # set when the source failed to render mid-play
        # Set when the stream died under us (audio server gone, device unplugged): position
        # freezes at the last frame handed out; the owner decides how to recover.
        self.lost = threading.Event()
        self.stream_rate = rate
        self.channels = 1
        self._stream: Any = None
        self._latency_frames = 0
        self._state = "idle"
        self._cond = threading.Condition()
        self._chunks: deque[_Chunk] = deque()  # feeder appends, callback pops (deque ops are atomic)
        self._cmds: deque[tuple] = deque()  # control -> callback, applied at the next block start
        self._done = threading.Event()
        self._done.set()
        self._feeder: threading.Thread | None = None
        self._closing = False
        # Feeder state, guarded by _cond.
        self._gen = 0
        self._source: Source | None = None
        self._seg_start = 0  # source frame the current generation started from
        self._feed_next = 0  # next source frame to render
        self._feed_end = True  # end marker queued for the current generation
        self._resampler: Any = None
        self._logged_underflows = 0
        # Callback state: written only by the callback (single writer), read elsewhere.
        self._cb_gen = 0
        self._cb_chunk: _Chunk | None = None
        self._cb_off = 0
        self._cb_silence = 0
        self._cb_insert: np.ndarray | None = None
        self._cb_ins_off = 0
        self._cb_paused = False
        self._cb_src_pos = 0  # next source frame the callback will hand out
        self._cb_floor = 0  # position never reported below this (segment start / resume point)
        self._cb_end_at = -1  # frames_out when the end marker was reached
        self._cb_frames_out = 0
        self._cb_underflows = 0

    # -- public API -------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def underflows(self) -> int:
        return self._cb_underflows

    @property
    def position(self) -> int:
        """Source frame being heard: frames handed to PortAudio minus its output latency."""
        with self._cond:
            gen, seg_start = self._gen, self._seg_start
        if self._cb_gen != gen:  # a play/seek the callback has not picked up yet
            return seg_start
        if self._state == "idle":  # played out (or stopped): everything handed out was heard
            return self._cb_src_pos
        if self._cb_paused or self._state == "paused":
            return self._cb_src_pos
        return max(self._cb_src_pos - self._latency_frames, self._cb_floor)

    def play(self, source: Source, start_frame: int = 0, insert: np.ndarray | None = None) -> None:
        """Open the stream if needed, play preroll silence, then ``insert`` (if any, at the
        source's rate: "resuming... 3, 2, 1"), then ``source`` from ``start_frame``."""
        self._open()
        preroll = self.preroll_ms * self.stream_rate // 1000
        data = None
        if insert is not None and len(insert):
            data = self._to_stream(np.asarray(insert, dtype=np.float32).reshape(-1), source.rate)
        with self._cond:
            self._source = source
            self.error = None
        self._restart(start_frame, ("play", preroll, data))
        self._state = "playing"

    def pause(self) -> None:
        """Silence from the next audio block on; the stream stays open feeding silence."""
        if self._state != "playing":
            return
        self._cmds.append(("pause",))
        self._state = "paused"

    def resume(self, insert: np.ndarray | None = None) -> None:
        """Play ``insert`` (if any, at the source's rate), then continue from the paused frame."""
        if self._state != "paused":
            return
        data = None
        if insert is not None and len(insert):
            rate = self._source.rate if self._source is not None else self.stream_rate
            data = self._to_stream(np.asarray(insert, dtype=np.float32).reshape(-1), rate)
        self._cmds.append(("resume", data))
        self._state = "playing"

    def seek(self, frame: int) -> None:
        """Jump to source ``frame``, flushing what was queued; a paused player stays paused."""
        if self._source is None or self._stream is None:
            return
        paused = self._state == "paused"
        self._restart(frame, ("seek",))
        self._state = "paused" if paused else "playing"

    def stop(self) -> None:
        """End playback and close the stream (safe from the main thread on Ctrl-C)."""
        with self._cond:
            self._closing = True
            self._source = None
            self._gen += 1
            self._chunks.clear()
            self._cond.notify_all()
        feeder, self._feeder = self._feeder, None
        if feeder is not None and feeder is not threading.current_thread():
            feeder.join()
        stream, self._stream = self._stream, None
        if stream is not None:
            # A stream whose server died raises on abort/close: stopping must still succeed.
            with contextlib.suppress(Exception):
                stream.abort()  # drop what is queued: stop means silence now
            with contextlib.suppress(Exception):
                stream.close()
        self._log_underflows()
        self._state = "idle"
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the source has played out (or stop()); False on timeout."""
        return self._done.wait(timeout)

    def __enter__(self) -> "Player":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- stream and feeder ------------------------------------------------------------------

    def _open(self) -> None:
        if self._stream is not None:
            return
        sd = _sounddevice()
        try:
            outputs = [d for d in sd.query_devices() if d["max_output_channels"] > 0]
        except sd.PortAudioError as e:
            raise NoOutputDevice(f"PortAudio cannot list devices ({e}); {RENDER_HINT}") from None
        if not outputs:
            raise NoOutputDevice(f"no audio output device found (PortAudio sees none); {RENDER_HINT}")
        device = self.device
        if device is None and _default_output(sd) < 0:
            raise NoOutputDevice(f"no default audio output device; set one (see `coach devices`) or {RENDER_HINT}")
        try:
            info = sd.query_devices(device, "output")
        except (ValueError, sd.PortAudioError) as e:
            raise NoOutputDevice(f"output device {device!r} not found ({e}); `coach devices` lists them, or {RENDER_HINT}") from None
        channels, rate = self._settings(sd, device, info)
        try:
            stream = sd.OutputStream(device=device, samplerate=rate, channels=channels,
                                     dtype="float32", blocksize=self.blocksize,
                                     latency=self.latency, callback=self._callback,
                                     finished_callback=self._on_finished)
        except sd.PortAudioError as e:
            raise NoOutputDevice(f"cannot open output device {info['name']!r} ({e}); {RENDER_HINT}") from None
        self.channels, self.stream_rate = channels, rate
        self._latency_frames = int(round(float(stream.latency) * rate))
        logger.info("output %r: %d Hz, %d channel(s), latency %.0f ms, blocksize %d", info["name"],
                    rate, channels, float(stream.latency) * 1000, self.blocksize)
        with self._cond:
            self._closing = False
        self._cb_gen, self._cb_chunk, self._cb_paused = self._gen, None, False
        self.lost.clear()
        self._stream = stream
        stream.start()
        self._feeder = threading.Thread(target=self._feed_loop, name="coach-feeder", daemon=True)
        self._feeder.start()

    def _on_finished(self) -> None:
        # PortAudio calls this when the stream stops: after our own stop()/abort(), or when the
        # host API gave up (PulseAudio went away, the headset disconnected).
        with self._cond:
            closing = self._closing
        if not closing:
            logger.warning("audio output lost at source frame %d", self._cb_src_pos)
            self.lost.set()

    def _settings(self, sd: Any, device: Any, info: dict) -> tuple[int, int]:
        """Mono at the asked rate if the device takes it; else stereo and/or its own rate."""
        rates = [self.rate, int(info["default_samplerate"])]
        for channels in (1, 2):
            for rate in rates:
                try:
                    sd.check_output_settings(device=device, channels=channels, dtype="float32",
                                             samplerate=rate)
                    return channels, rate
                except (ValueError, sd.PortAudioError):
                    continue
        raise NoOutputDevice(f"output device {info['name']!r} accepts neither mono nor stereo float "
                             f"at {rates[0]} or {rates[1]} Hz; {RENDER_HINT}")

    def _to_stream(self, mono: np.ndarray, rate: int) -> np.ndarray:
        """Source-rate mono -> stream-rate (frames, channels) float32."""
        if rate != self.stream_rate:
            import soxr
            mono = soxr.resample(mono, rate, self.stream_rate).astype(np.float32, copy=False)
        if self.channels == 1:
            return np.ascontiguousarray(mono.reshape(-1, 1))
        return np.ascontiguousarray(np.repeat(mono.reshape(-1, 1), self.channels, axis=1))

    def _render(self, source: Source, first: int, n: int, resampler: Any) -> _Chunk | None:
        n = max(0, min(n, source.total_frames - first))
        if n == 0:
            return None
        mono = np.asarray(source.render(first, n), dtype=np.float32).reshape(-1)
        if len(mono) != n:  # a misbehaving source must not shift everything after it
            logger.warning("source rendered %d frames, asked %d", len(mono), n)
            mono = np.pad(mono[:n], (0, max(0, n - len(mono))))
        if resampler is not None:
            last = first + n >= source.total_frames
            mono = resampler.resample_chunk(mono, last=last).astype(np.float32, copy=False)
        elif self.channels == 1:
            return _Chunk(mono.reshape(-1, 1), first, n, -1)
        return _Chunk(self._to_stream(mono, self.stream_rate), first, n, -1)

    def _ahead_frames(self, source: Source) -> int:
        return max(self.blocksize, self.ahead_ms * source.rate // 1000)

    def _restart(self, frame: int, cmd: tuple) -> None:
        """Flush and start a new generation at ``frame``; the first chunk travels with the command
        so the callback never sees the new position without frames for it."""
        with self._cond:
            source = self._source
        assert source is not None
        frame = max(0, min(int(frame), source.total_frames))
        resampler = None
        if source.rate != self.stream_rate:
            import soxr
            resampler = soxr.ResampleStream(source.rate, self.stream_rate, 1, dtype="float32")
        first = self._render(source, frame, self._ahead_frames(source), resampler)
        with self._cond:
            self._gen += 1
            gen = self._gen
            self._chunks.clear()
            self._resampler = resampler
            self._seg_start = frame
            self._feed_next = frame + (first.src_len if first else 0)
            self._feed_end = False
            if first is not None:
                first.gen = gen
            self._done.clear()
            self._cmds.append(cmd + (gen, frame, first))
            if self._feed_next >= source.total_frames:
                self._chunks.append(_Chunk(None, self._feed_next, 0, gen))
                self._feed_end = True
            self._cond.notify_all()

    def _queued_locked(self) -> int:
        played = self._cb_src_pos if self._cb_gen == self._gen else self._seg_start
        return self._feed_next - played

    def _feed_loop(self) -> None:
        # Sleeps until the queue is half drained, then tops it up to ahead_ms; notices the end.
        poll = min(0.05, max(0.002, self.ahead_ms / 6000))
        while True:
            job = None
            with self._cond:
                while not self._closing:
                    source = self._source
                    if source is not None and not self._feed_end:
                        ahead, queued = self._ahead_frames(source), self._queued_locked()
                        if queued <= ahead // 2:
                            job = (source, self._gen, self._feed_next, ahead - queued, self._resampler)
                            break
                    if self._check_end_locked():
                        self._state = "idle"
                        break
                    self._cond.wait(poll)
                else:
                    return
            self._log_underflows()
            if job is None:
                self._finish()
                continue
            source, gen, first, n, resampler = job
            try:
                chunk = self._render(source, first, n, resampler)
            except Exception as e:  # a broken source must end playback, not hang wait()
                logger.exception("rendering frames %d..%d failed", first, first + n)
                with self._cond:
                    if gen == self._gen:
                        self.error, self._source, self._state = e, None, "idle"
                        self._chunks.clear()
                        self._done.set()
                continue
            with self._cond:
                if gen != self._gen:
                    continue  # flushed while rendering
                if chunk is not None:
                    chunk.gen = gen
                    self._chunks.append(chunk)
                    self._feed_next = first + chunk.src_len
                if self._feed_next >= source.total_frames:
                    self._chunks.append(_Chunk(None, self._feed_next, 0, gen))
                    self._feed_end = True

    def _check_end_locked(self) -> bool:
        """The end marker reached the callback and the device has played the frames before it."""
        return (self._state == "playing" and self._feed_end and self._cb_gen == self._gen
                and self._cb_end_at >= 0
                and self._cb_frames_out - self._cb_end_at >= self._latency_frames)

    def _finish(self) -> None:
        self._done.set()
        callback = self.on_end
        if callback is not None:
            try:
                callback()
            except Exception:
                logger.exception("on_end callback failed")

    def _log_underflows(self) -> None:
        n = self._cb_underflows
        if n > self._logged_underflows:
            logger.warning("%d output underflow(s) so far; raise latency or blocksize if the sound "
                           "stutters", n)
            self._logged_underflows = n

    # -- the PortAudio callback: copies rendered frames and zero-fills, nothing else ----------

    def _apply(self, cmd: tuple) -> None:
        op = cmd[0]
        if op == "pause":
            self._cb_paused = True
        elif op == "resume":
            self._cb_paused = False
            self._cb_insert, self._cb_ins_off = cmd[1], 0
            self._cb_floor = self._cb_src_pos
        else:  # ("play", preroll, insert, gen, frame, chunk) or ("seek", gen, frame, chunk)
            insert = None
            if op == "play":
                self._cb_silence, insert = cmd[1], cmd[2]
                self._cb_paused = False
                cmd = cmd[2:]
            # A jump drops what was being inserted ("30 more seconds" then skip: skip wins).
            self._cb_insert, self._cb_ins_off = insert, 0
            self._cb_gen, self._cb_src_pos, self._cb_floor = cmd[1], cmd[2], cmd[2]
            self._cb_chunk, self._cb_off, self._cb_end_at = cmd[3], 0, -1

    def _callback(self, out: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow:
            self._cb_underflows += 1
        cmds = self._cmds
        while cmds:
            self._apply(cmds.popleft())
        i = 0
        if self._cb_silence:
            i = min(frames, self._cb_silence)
            out[:i] = 0
            self._cb_silence -= i
        if self._cb_paused:
            out[i:] = 0
            self._cb_frames_out += frames
            return
        ins = self._cb_insert
        if ins is not None and i < frames:
            n = min(frames - i, len(ins) - self._cb_ins_off)
            out[i:i + n] = ins[self._cb_ins_off:self._cb_ins_off + n]
            i += n
            self._cb_ins_off += n
            if self._cb_ins_off >= len(ins):
                self._cb_insert = None
        gen = self._cb_gen
        chunks = self._chunks
        while i < frames:
            ch = self._cb_chunk
            if ch is None:
                try:
                    ch = chunks.popleft()
                except IndexError:
                    break  # feeder behind: zero-fill, keep the position
                self._cb_chunk, self._cb_off = ch, 0
            if ch.gen < gen:
                self._cb_chunk = None  # flushed by a seek
                continue
            if ch.gen > gen:
                break  # belongs to a seek whose command arrives with the next block
            data = ch.data
            if data is None:
                if self._cb_end_at < 0:
                    self._cb_end_at = self._cb_frames_out + i
                break
            off = self._cb_off
            n = min(frames - i, len(data) - off)
            out[i:i + n] = data[off:off + n]
            i += n
            off += n
            self._cb_src_pos = ch.src_start + off * ch.src_len // len(data)
            if off >= len(data):
                self._cb_chunk = None
            else:
                self._cb_off = off
        if i < frames:
            out[i:] = 0
        self._cb_frames_out += frames
