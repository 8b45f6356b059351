"""The audio thread's side of the Player: what travels to the PortAudio callback (commands as
frozen dataclasses, rendered chunks), the callback itself, and what it publishes back."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

# -- what travels to the callback, and what it publishes back: all immutable ------------------

class Chunk(NamedTuple):
    """Rendered stream frames for source frames [src_start, src_start + src_len) of generation
    ``gen``; ``data is None`` marks the end of the source."""

    data: np.ndarray | None
    src_start: int
    src_len: int
    gen: int


@dataclass(frozen=True, slots=True, eq=False)
class Play:
    """Start generation ``gen`` at ``frame``: preroll silence, then ``insert`` and ``tail``
    frames of silence after it, then ``chunk``."""

    gen: int
    frame: int
    chunk: Chunk | None
    preroll: int
    insert: np.ndarray | None
    tail: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Seek:
    """Jump to generation ``gen`` at ``frame``; the first chunk travels with the command so the
    callback never sees the new position without frames for it."""

    gen: int
    frame: int
    chunk: Chunk | None


@dataclass(frozen=True, slots=True)
class Pause:
    pass


@dataclass(frozen=True, slots=True, eq=False)
class Resume:
    """Go on from the paused frame after ``insert`` and ``tail`` frames of silence after it
    (an extended rest's 30 s: counted, never materialised)."""

    insert: np.ndarray | None
    tail: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Say:
    """While paused: play ``insert`` and ``tail`` frames of silence now, and stay paused (the
    source holds its frame): "stop the session?" asked in a paused session."""

    insert: np.ndarray | None
    tail: int = 0


class Heard(NamedTuple):
    """The callback's progress, published as one object per block so that a reader never mixes
    the fields of two blocks."""

    gen: int
    src_pos: int  # next source frame the callback will hand out
    floor: int  # position never reported below this (segment start / resume point)
    paused: bool
    end_at: int  # frames_out when the end marker was reached, -1 before
    frames_out: int
    underflows: int
    # time.monotonic() at which frame ``src_pos`` (the end of this block) reaches the listener:
    # the callback's clock reading plus the host's own latency figure for this block
    # (outputBufferDacTime - currentTime, which on ALSA's pulse plugin includes the sound
    # server's buffer and sink), or the opened stream's latency where the host gives none.
    heard_at: float = 0.0
    ins_start: int = -1  # frames_out at the latest insert's first frame (-1: none yet)


Command = Play | Seek | Pause | Resume | Say

_EMPTY = np.zeros((0, 1), np.float32)  # an insert that is all tail (its words' clip missing)


class Callback:
    """The PortAudio callback: copies rendered frames and zero-fills, nothing else.

    It takes no lock: it pops commands and chunks from deques (atomic), keeps its own fields,
    and publishes one immutable ``Heard`` per block (``heard``)."""

    def __init__(self, rate: int) -> None:
        # Lock-free queues: control/feeder append (under the Player's lock), the callback pops.
        self.chunks: deque[Chunk] = deque()
        self.cmds: deque[Command] = deque()  # applied at the next block start
        # Callback state: written only by the callback (and by reset before a stream starts).
        self._gen = 0
        self._chunk: Chunk | None = None
        self._off = 0
        self._silence = 0
        self._insert: np.ndarray | None = None
        self._ins_off = 0
        self._ins_len = 0  # the insert's frames and its silent tail
        self._ins_start = -1
        self._paused = False
        self._src_pos = 0
        self._floor = 0
        self._end_at = -1
        self._frames_out = 0
        self._underflows = 0
        self._latency_s = 0.0  # the opened stream's latency: when the host gives no DAC time
        self._stream_rate = rate
        self.heard = Heard(0, 0, 0, False, -1, 0, 0)  # the callback's only published state

    def reset(self, gen: int, frame: int, latency_s: float, stream_rate: int) -> None:
        """Before a stream starts (the callback is not running yet): its state restarts at
        ``frame`` of generation ``gen``, and what an earlier stream left unapplied must not
        reach this one."""
        self._latency_s, self._stream_rate = latency_s, stream_rate
        self.cmds.clear()
        self.chunks.clear()
        self._gen, self._chunk, self._paused, self._insert = gen, None, False, None
        self._src_pos = self._floor = frame
        self._silence, self._end_at = 0, -1

    def _apply(self, cmd: Command) -> None:
        if isinstance(cmd, Pause):
            # What was being inserted stops with the pause (a resume gives its own insert):
            # only words said into the pause (Say) play while paused.
            self._paused, self._insert = True, None
        elif isinstance(cmd, Resume):
            self._paused = False
            self._start_insert(cmd.insert, cmd.tail)
            self._floor = self._src_pos
        elif isinstance(cmd, Say):
            self._start_insert(cmd.insert, cmd.tail)
        else:
            if isinstance(cmd, Play):
                self._silence, self._paused = cmd.preroll, False
                self._start_insert(cmd.insert, cmd.tail)
            else:
                # A jump drops what was being inserted ("30 more seconds" then skip: skip wins).
                self._start_insert(None, 0)
            self._gen, self._src_pos, self._floor = cmd.gen, cmd.frame, cmd.frame
            self._chunk, self._off, self._end_at = cmd.chunk, 0, -1

    def _start_insert(self, insert: np.ndarray | None, tail: int) -> None:
        n = (len(insert) if insert is not None else 0) + max(0, tail)
        self._insert = insert if insert is not None or n == 0 else _EMPTY
        self._ins_off, self._ins_len = 0, n

    def __call__(self, out: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow:
            self._underflows += 1
        cmds = self.cmds
        while cmds:
            self._apply(cmds.popleft())
        i = 0
        if self._silence:
            i = min(frames, self._silence)
            out[:i] = 0
            self._silence -= i
        if not self._paused:
            i = self._fill(out, frames, i)
        elif self._insert is not None:
            i = self._fill_insert(out, frames, i)  # words said into a pause
        if i < frames:
            out[i:] = 0
        self._frames_out += frames
        lag = time_info.outputBufferDacTime - time_info.currentTime
        if not (time_info.currentTime > 0 and 0.0 <= lag < 5.0):
            lag = self._latency_s  # the host gives no usable DAC time
        heard_at = time.monotonic() + lag + frames / self._stream_rate
        self.heard = Heard(self._gen, self._src_pos, self._floor, self._paused,
                           self._end_at, self._frames_out, self._underflows, heard_at,
                           self._ins_start)

    def _fill(self, out: np.ndarray, frames: int, i: int) -> int:
        """Copy the insert (zeros for its tail), then source chunks, into out[i:]; the index
        reached."""
        return self._fill_source(out, frames, self._fill_insert(out, frames, i))

    def _fill_insert(self, out: np.ndarray, frames: int, i: int) -> int:
        """Copy what is left of the insert (zeros for its tail) into out[i:]; the index
        reached."""
        ins = self._insert
        if ins is not None and i < frames:
            off = self._ins_off
            if off == 0:
                self._ins_start = self._frames_out + i
            n = min(frames - i, self._ins_len - off)
            k = max(0, min(n, len(ins) - off))  # from the insert's samples; the rest is its tail
            out[i:i + k] = ins[off:off + k]
            out[i + k:i + n] = 0
            i += n
            self._ins_off = off + n
            if self._ins_off >= self._ins_len:
                self._insert = None
        return i

    def _fill_source(self, out: np.ndarray, frames: int, i: int) -> int:
        """Copy source chunks into out[i:] until it is full or the feeder is behind; the index
        reached."""
        gen = self._gen
        chunks = self.chunks
        while i < frames:
            ch = self._chunk
            if ch is None:
                try:
                    ch = chunks.popleft()
                except IndexError:
                    break  # feeder behind: zero-fill, keep the position
                if ch.gen < gen:
                    continue  # flushed by a seek
                if ch.gen > gen:
                    # Queued after a play/seek whose command arrived after this block began (the
                    # end marker of a seek near the end): put it back for the next block.
                    chunks.appendleft(ch)
                    break
                self._chunk, self._off = ch, 0
            data = ch.data
            if data is None:
                if self._end_at < 0:
                    self._end_at = self._frames_out + i
                break
            off = self._off
            n = min(frames - i, len(data) - off)
            out[i:i + n] = data[off:off + n]
            i += n
            off += n
            self._src_pos = ch.src_start + off * ch.src_len // len(data)
            if off >= len(data):
                self._chunk = None
            else:
                self._off = off
        return i
