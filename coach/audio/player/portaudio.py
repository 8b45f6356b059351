"""Real-time output: a Player streams any Source (the mixer) through PortAudio via sounddevice.

Player is the real ``Output`` (coach.audio.player.output); its control methods and feeder thread
live here, the audio callback in coach.audio.player.callback.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from coach.audio.player.callback import Callback, Chunk, Heard, Pause, Play, Resume, Say, Seek
from coach.audio.player.devices import (
    RENDER_HINT,
    default_output,
    load_sounddevice,
    output_settings,
    sound_server_problem,
)
from coach.audio.player.frames import Job, insert_frames, render
from coach.audio.player.output import NoOutputDevice, PlayerState, Source

# The package's lines read "coach.audio.player: ..." whichever module logs, as they always have
# (bench/bench_playback.py counts the underflow warnings by that name).
logger = logging.getLogger("coach.audio.player")


# The callback not called for this long after its last block is heard: the output is stalled.
# Its blocks come every 21 ms, in bursts of three every ~64 ms through ALSA's pulse plugin.
STALL_S = 1.0


class Player:
    """Plays a Source on an output device; play/pause/resume/seek/stop from any non-audio thread.

    ``position`` is in source frames; ``on_end`` is called from the feeder thread once the
    source has played out (its last frame reached the device).

    One discipline: everything the control methods and the feeder share (state, source,
    generation, feed pointers, resampler, stream) is read and written under ``_cond`` only,
    and PortAudio is never called while holding it (its finished callback takes it). The audio
    callback (``_cb``, coach.audio.player.callback) takes no lock: it pops commands and chunks
    from deques (atomic), keeps its own fields, and publishes one immutable ``Heard`` per block.
    """

    def __init__(self, device: str | int | None = None, rate: int = 48000, blocksize: int = 1024,
                 preroll_ms: int = 500, latency: str | float = 0.2, ahead_ms: int = 1000) -> None:
        # Configuration: set here, never changed by the player.
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
        # Set when the stream died under us (audio server gone, device unplugged): position
        # freezes where the stream stopped; the owner decides how to recover.
        self.lost = threading.Event()
        self._cond = threading.Condition()
        self._done = threading.Event()  # set and cleared under _cond, with _state
        self._done.set()
        # Shared state: under _cond only.
        self._state: PlayerState = "idle"
        self._error: Exception | None = None
        self._source: Source | None = None
        self._gen = 0
        self._seg_start = 0  # source frame the current generation started from (after stop: where it stopped)
        self._feed_next = 0  # next source frame to render
        self._feed_end = True  # end marker queued for the current generation
        self._resampler: Any = None
        self._stream: Any = None
        self._stream_token: object | None = None  # identifies the live stream to _on_finished
        self._feeder: threading.Thread | None = None
        self._stream_rate = rate
        self._channels = 1
        self._latency_frames = 0
        self._started_at = 0.0  # time.monotonic() when the stream started
        self._pos_hi = (-1, 0)  # (generation, highest position reported): never steps back
        self._logged_underflows = 0
        # The audio thread's side: the command and chunk queues, its own state, what it heard.
        self._cb = Callback(rate)

    # -- public API -------------------------------------------------------------------------

    @property
    def state(self) -> PlayerState:
        with self._cond:
            return self._state

    @property
    def error(self) -> Exception | None:
        """The exception that ended playback when the source failed to render mid-play."""
        with self._cond:
            return self._error

    @property
    def underflows(self) -> int:
        return self._cb.heard.underflows

    @property
    def stream_rate(self) -> int:
        with self._cond:
            return self._stream_rate

    @property
    def channels(self) -> int:
        with self._cond:
            return self._channels

    @property
    def latency_frames(self) -> int:
        """The output latency PortAudio reported, in stream frames."""
        with self._cond:
            return self._latency_frames

    @property
    def position(self) -> int:
        """Source frame being heard: frames handed to PortAudio minus its output latency."""
        with self._cond:
            return self._position_locked()

    @property
    def stalled_s(self) -> float:
        """How long the open stream has taken no audio past what it was given (its callback
        not called: a stopped sound server, a hung device); 0.0 while it flows or is closed."""
        with self._cond:
            if self._stream is None:
                return 0.0
            started = self._started_at
        heard = self._cb.heard  # its heard_at may be an earlier stream's: started bounds it
        late = time.monotonic() - max(heard.heard_at, started)
        return late if late >= STALL_S else 0.0

    @property
    def insert_position(self) -> int | None:
        heard = self._cb.heard
        if heard.ins_start < 0:
            return None
        with self._cond:
            stream_rate = self._stream_rate
            rate = self._source.rate if self._source is not None else self.rate
        # The output frame being heard now, counted back from the last block's end.
        now_out = heard.frames_out - (heard.heard_at - time.monotonic()) * stream_rate
        return round((now_out - heard.ins_start) * rate / stream_rate)

    def _position_locked(self) -> int:
        # State and snapshot are read together under the lock: a Resume is queued in the same
        # critical section that sets "playing", so "paused" here means no resume has reached
        # the callback, and the reported position never steps back across a resume.
        heard = self._cb.heard
        if heard.gen != self._gen:  # a play/seek the callback has not picked up yet, or stopped
            return self._seg_start
        if self._state == "idle" or heard.paused:
            # Idle: played out (everything handed out was heard) or failed. Paused (the
            # callback has applied it): what was handed out before the pause is still heard;
            # silence follows it. A pause the callback has not applied yet is still playing:
            # reported as the end of the last block meanwhile, a resume within the same block
            # stepped the position back by up to a block's latency (CI once: 1197888 ->
            # 1196868, contract_position_never_goes_backwards_within_a_generation).
            return heard.src_pos
        # Counted back from the end of the last block by the time until it is heard, so the
        # position moves with the clock between the callback's bursts (through ALSA's pulse
        # plugin, three blocks every ~64 ms). The host's per-block figure, not the stream's
        # static latency: on the test server the static 192 ms put the position 60-100 ms
        # ahead of the voice in the capture (bench/bench_duck.py; docs/DESIGN.md "Ducking").
        rate = self._source.rate if self._source is not None else self.rate
        ahead = max(0.0, heard.heard_at - time.monotonic())
        pos = max(min(heard.src_pos - round(ahead * rate), heard.src_pos), heard.floor)
        gen, hi = self._pos_hi
        if gen == heard.gen and pos < hi and heard.floor <= hi <= heard.src_pos:
            return hi  # a later block's latency figure a little shorter: never step back
        self._pos_hi = (heard.gen, pos)
        return pos

    def open(self) -> None:
        """Open and start the stream now (idle, feeding silence) unless it is open; raises
        NoOutputDevice when there is no usable output."""
        self._open()

    def play(self, source: Source, start_frame: int = 0, insert: np.ndarray | None = None,
             silence: int = 0) -> None:
        """Open the stream if needed, play preroll silence, then ``insert`` (if any, at the
        source's rate: "resuming... 3, 2, 1") and ``silence`` source frames of silence, then
        ``source`` from ``start_frame``."""
        channels, stream_rate = self._open()
        preroll = self.preroll_ms * stream_rate // 1000
        data = insert_frames(insert, source.rate, channels, stream_rate)
        tail = silence * stream_rate // source.rate
        self._restart(source, start_frame, None,
                      lambda gen, frame, chunk: Play(gen, frame, chunk, preroll, data, tail))

    def pause(self) -> None:
        """Silence from the next audio block on; the stream stays open feeding silence."""
        with self._cond:
            if self._state != "playing":
                return
            self._cb.cmds.append(Pause())
            self._state = "paused"

    def resume(self, insert: np.ndarray | None = None, silence: int = 0) -> None:
        """Play ``insert`` (if any, at the source's rate) and ``silence`` source frames of
        silence (counted by the callback, never materialised), then continue from the paused
        frame."""
        self._while_paused(insert, silence, Resume, "playing")

    def say(self, insert: np.ndarray, silence: int = 0) -> None:
        """Paused: play ``insert`` (at the source's rate) and ``silence`` source frames of
        silence now, and stay paused at the same frame. Otherwise nothing (see resume)."""
        self._while_paused(insert, silence, Say, "paused")

    def _while_paused(self, insert: np.ndarray | None, silence: int,
                      command: type[Resume] | type[Say], then: PlayerState) -> None:
        with self._cond:
            source = self._source
            if self._state != "paused" or source is None:
                return
            channels, stream_rate = self._channels, self._stream_rate
        data = insert_frames(insert, source.rate, channels, stream_rate)  # soxr: outside the lock
        tail = silence * stream_rate // source.rate
        with self._cond:
            if self._state != "paused" or self._source is not source:
                return  # resumed, stopped or replaced meanwhile
            self._cb.cmds.append(command(data, tail))
            self._state = then

    def seek(self, frame: int) -> None:
        """Jump to source ``frame``, flushing what was queued; a paused player stays paused.
        After the source played out, plays again from ``frame``; after stop() does nothing."""
        with self._cond:
            source = self._source
        if source is not None:
            self._restart(source, frame, source, lambda gen, frame, chunk: Seek(gen, frame, chunk))

    def stop(self) -> None:
        """End playback and close the stream (safe from the main thread on Ctrl-C)."""
        with self._cond:
            self._seg_start = self._position_locked()  # position stays where it stopped
            self._gen += 1
            self._source = None
            self._state = "idle"
            self._cb.chunks.clear()
            stream, self._stream, self._stream_token = self._stream, None, None
            feeder, self._feeder = self._feeder, None
            self._cond.notify_all()
        if feeder is not None and feeder is not threading.current_thread():
            feeder.join()
        if stream is not None:
            # A stream whose server died raises on abort/close: stopping must still succeed.
            with contextlib.suppress(Exception):
                stream.abort()  # drop what is queued: stop means silence now
            with contextlib.suppress(Exception):
                stream.close()
        self._log_underflows()
        with self._cond:
            if self._state == "idle":  # not played again meanwhile
                self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the source has played out (or stop()); False on timeout."""
        return self._done.wait(timeout)

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- stream and feeder ------------------------------------------------------------------

    def _open(self) -> tuple[int, int]:
        """Open and start the stream unless open; its (channels, stream rate)."""
        with self._cond:
            if self._stream is not None:
                return self._channels, self._stream_rate
            # Whole under the lock so two play()s cannot open two streams; opening and starting
            # never call our finished callback, abort/close (outside the lock) do.
            sd = load_sounddevice()
            try:
                outputs = [d for d in sd.query_devices() if d["max_output_channels"] > 0]
            except sd.PortAudioError as e:
                raise NoOutputDevice(f"PortAudio cannot list devices ({e}); {RENDER_HINT}") from None
            if not outputs:
                raise NoOutputDevice("no audio output device found (PortAudio sees none); "
                                     f"{RENDER_HINT}")
            device = self.device
            if device is None and default_output(sd) < 0:
                raise NoOutputDevice("no default audio output device; set one (see `coach "
                                     f"devices`) or {RENDER_HINT}")
            try:
                info = sd.query_devices(device, "output")
            except (ValueError, sd.PortAudioError) as e:
                raise NoOutputDevice(f"output device {device!r} not found ({e}); `coach devices` "
                                     f"lists them, or {RENDER_HINT}") from None
            channels, rate = output_settings(sd, device, info, self.rate)
            # The sound server sees coach's stream as media.role=event, application.name=coach
            # (a ducker never lowers it; other tools can route or leave it alone).
            from coach.audio.duck import label_stream
            label_stream()
            token = object()
            try:
                stream = sd.OutputStream(device=device, samplerate=rate, channels=channels,
                                         dtype="float32", blocksize=self.blocksize,
                                         latency=self.latency, callback=self._cb,
                                         finished_callback=functools.partial(self._on_finished,
                                                                             token))
            except sd.PortAudioError as e:
                why = sound_server_problem() or str(e)
                raise NoOutputDevice(f"cannot open output device {info['name']!r} ({why}); "
                                     f"{RENDER_HINT}") from None
            self._channels, self._stream_rate = channels, rate
            self._latency_frames = round(float(stream.latency) * rate)
            logger.info("output %r: %d Hz, %d channel(s), latency %.0f ms, blocksize %d", info["name"],
                        rate, channels, float(stream.latency) * 1000, self.blocksize)
            # The callback is not running yet: its state may be reset from here, and what an
            # earlier stream left unapplied must not reach this one.
            self._cb.reset(self._gen, self._seg_start, float(stream.latency), rate)
            self.lost.clear()
            self._started_at = time.monotonic()
            try:
                stream.start()
            except sd.PortAudioError as e:
                failed: Exception | None = e
            else:
                failed = None
                self._stream, self._stream_token = stream, token
                self._feeder = threading.Thread(target=self._feed_loop, name="coach-feeder", daemon=True)
                self._feeder.start()
        if failed is not None:
            with contextlib.suppress(Exception):
                stream.close()
            raise NoOutputDevice(f"cannot start output device {info['name']!r} ({failed}); {RENDER_HINT}")
        return channels, rate

    def _on_finished(self, token: object) -> None:
        # PortAudio calls this when the stream stops: after our own stop() (which forgot the
        # token first), or when the host API gave up (PulseAudio went away, headset unplugged).
        with self._cond:
            ours = token is self._stream_token
        if ours:
            logger.warning("audio output lost at source frame %d", self._cb.heard.src_pos)
            self.lost.set()

    def _ahead_frames(self, source: Source) -> int:
        return max(self.blocksize, self.ahead_ms * source.rate // 1000)

    def _restart(self, source: Source, frame: int, expect: Source | None,
                 make_cmd: Callable[[int, int, Chunk | None], Play | Seek]) -> None:
        """Flush and start a new generation at ``frame``. The first chunk is rendered outside
        the lock with a fresh resampler; the commit re-checks that nothing replaced the source
        meanwhile (``expect``: the source a seek was for; None for play, which sets it)."""
        with self._cond:
            channels, stream_rate = self._channels, self._stream_rate
        frame = max(0, min(int(frame), source.total_frames))
        resampler = None
        if source.rate != stream_rate:
            import soxr
            resampler = soxr.ResampleStream(source.rate, stream_rate, 1, dtype="float32")
        first = render(Job(source, -1, frame, self._ahead_frames(source), resampler,
                           channels, stream_rate))
        with self._cond:
            if self._stream is None or (expect is not None and self._source is not expect):
                return  # stopped, failed or replaced while rendering
            if expect is None:
                self._source, self._error = source, None
                self._state = "playing"
            elif self._state == "idle":
                self._state = "playing"  # the source had played out: play again from frame
            self._gen += 1
            gen = self._gen
            if first is not None:
                first = first._replace(gen=gen)
            # Command first, then flush: the callback drops older chunks by generation anyway.
            self._cb.cmds.append(make_cmd(gen, frame, first))
            self._cb.chunks.clear()
            self._resampler = resampler
            self._seg_start = frame
            self._feed_next = frame + (first.src_len if first else 0)
            self._feed_end = False
            if self._feed_next >= source.total_frames:
                self._cb.chunks.append(Chunk(None, self._feed_next, 0, gen))
                self._feed_end = True
            self._done.clear()
            self._cond.notify_all()

    def _feed_loop(self) -> None:
        # Sleeps until the queue is half drained, then tops it up to ahead_ms; notices the end.
        # The callback takes no lock, so it cannot wake us: poll.
        me = threading.current_thread()
        poll = min(0.05, max(0.002, self.ahead_ms / 6000))
        while True:
            job = None
            ended = False
            with self._cond:
                while True:
                    if self._feeder is not me:
                        return
                    heard = self._cb.heard
                    source = self._source
                    if source is not None and not self._feed_end:
                        ahead = self._ahead_frames(source)
                        played = heard.src_pos if heard.gen == self._gen else self._seg_start
                        queued = self._feed_next - played
                        if queued <= ahead // 2:
                            job = Job(source, self._gen, self._feed_next, ahead - queued,
                                      self._resampler, self._channels, self._stream_rate)
                            break
                    if self._ended_locked(heard):
                        self._state = "idle"
                        self._done.set()
                        ended = True
                        break
                    self._cond.wait(poll)
            self._log_underflows()
            if ended:
                self._call_on_end()
            if job is not None:
                self._feed(job)

    def _feed(self, job: Job) -> None:
        try:
            chunk = render(job)
        except Exception as e:  # a broken source must end playback, not hang wait()
            logger.exception("rendering frames %d..%d failed", job.first, job.first + job.n)
            with self._cond:
                if job.gen == self._gen:
                    self._error, self._source, self._state = e, None, "idle"
                    self._cb.chunks.clear()
                    self._done.set()
            return
        with self._cond:
            if job.gen != self._gen:
                return  # flushed while rendering
            if chunk is not None:
                self._cb.chunks.append(chunk)
                self._feed_next = job.first + chunk.src_len
            if self._feed_next >= job.source.total_frames:
                self._cb.chunks.append(Chunk(None, self._feed_next, 0, job.gen))
                self._feed_end = True

    def _ended_locked(self, heard: Heard) -> bool:
        """The end marker reached the callback and the device has played the frames before it."""
        return (self._state == "playing" and self._feed_end and heard.gen == self._gen
                and heard.end_at >= 0
                and heard.frames_out - heard.end_at >= self._latency_frames)

    def _call_on_end(self) -> None:
        callback = self.on_end
        if callback is not None:
            try:
                callback()
            except Exception:
                logger.exception("on_end callback failed")

    def _log_underflows(self) -> None:
        n = self._cb.heard.underflows
        with self._cond:
            new = n > self._logged_underflows
            if new:
                self._logged_underflows = n
        if new:
            logger.warning("%d output underflow(s) so far; raise latency or blocksize if the sound "
                           "stutters", n)
