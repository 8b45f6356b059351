"""DummyPlayer: an in-process Output with no sound device, for tests (as Mopidy's dummy audio is
for Mopidy). It really renders its source and records what a listener would have heard, on a
clock the test drives (``advance``), or in real time on its own thread (``auto=True``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from coach.audio.player import NoOutputDevice, PlayerState, Source


class DummyPlayer:
    """The Output contract with zero output latency, driven by an explicit clock.

    ``advance(frames)`` plays that many output frames synchronously, block by block like an
    audio callback: preroll silence, then the insert, then ``source.render`` for the source's
    frames (or silence while paused, and once the source played out, until ``stop``). Output is
    at the source's rate, mono; ``heard`` is everything played so far. Commands act at once.
    ``lose()`` simulates the output dying: ``lost`` is set, the clock no longer moves anything.
    """

    def __init__(self, rate: int = 48000, blocksize: int = 1024, preroll_ms: int = 500,
                 auto: bool = False, speed: float = 1.0, record: bool = True,
                 available: Callable[[], bool] | None = None) -> None:
        self.rate = rate  # output rate until a source is played (then the source's)
        self.blocksize = blocksize
        self.preroll_ms = preroll_ms
        self.auto = auto  # advance on a thread, ``speed`` times real time
        self.speed = speed
        self.record = record  # keep ``heard`` (an hour of auto mode is ~700 MB: turn off there)
        self._available = available  # returns False: open() raises NoOutputDevice, as without a device
        self.on_end: Callable[[], None] | None = None
        self.lost = threading.Event()
        self._cond = threading.Condition()  # every field below, and advance(), under it
        self._done = threading.Event()
        self._done.set()
        self._state: PlayerState = "idle"
        self._error: Exception | None = None
        self._source: Source | None = None
        self._streaming = False  # a stream would be open (open/play .. stop): time is heard
        self._pos = 0  # next source frame to hand out: with no latency, the one being heard
        self._silence = 0
        self._insert: np.ndarray | None = None
        self._ins_off = 0
        self._ins_len = 0  # the insert's frames and its silence
        self._ins_start_out = -1  # _frames_out at the latest insert's first frame
        self._frames_out = 0
        self._heard: list[np.ndarray] = []
        self._clock: threading.Thread | None = None

    # -- Output ------------------------------------------------------------------------------

    @property
    def state(self) -> PlayerState:
        with self._cond:
            return self._state

    @property
    def position(self) -> int:
        with self._cond:
            return self._pos

    @property
    def insert_position(self) -> int | None:
        with self._cond:
            if self._ins_start_out < 0:
                return None
            return self._frames_out - self._ins_start_out

    @property
    def underflows(self) -> int:
        return 0  # nothing can starve a synchronous clock

    @property
    def stalled_s(self) -> float:
        return 0.0  # its clock is the test's: it never waits on a device

    @property
    def error(self) -> Exception | None:
        with self._cond:
            return self._error

    def open(self) -> None:
        """Start the output (silence until play) unless started; NoOutputDevice while the
        factory says the device is gone."""
        with self._cond:
            if self._streaming:
                return
            if self._available is not None and not self._available():
                raise NoOutputDevice("dummy output unavailable")
            self._streaming = True
            self.lost.clear()  # a new stream: the old one's loss is forgotten (as in the Player)
            if self.auto and self._clock is None:
                self._clock = threading.Thread(target=self._run_clock, name="coach-dummy-clock",
                                               daemon=True)
                self._clock.start()

    def play(self, source: Source, start_frame: int = 0, insert: np.ndarray | None = None,
             silence: int = 0) -> None:
        """Preroll silence, then ``insert`` (mono, at the source's rate) and ``silence`` frames
        of silence, then ``source`` from ``start_frame``."""
        self.open()
        with self._cond:
            self._source, self._error = source, None
            self.rate = source.rate
            self._jump(start_frame)
            self._silence = self.preroll_ms * source.rate // 1000
            self._start_insert(insert, silence)
            self._state = "playing"
            self._done.clear()

    def pause(self) -> None:
        with self._cond:
            if self._state == "playing":
                self._state, self._insert = "paused", None  # as the callback: the insert stops

    def resume(self, insert: np.ndarray | None = None, silence: int = 0) -> None:
        with self._cond:
            if self._state != "paused" or self._source is None:
                return
            self._start_insert(insert, silence)
            self._state = "playing"

    def say(self, insert: np.ndarray, silence: int = 0) -> None:
        with self._cond:
            if self._state != "paused" or self._source is None:
                return
            self._start_insert(insert, silence)

    def seek(self, frame: int) -> None:
        with self._cond:
            if self._source is None:
                return  # stopped or failed
            self._jump(frame)
            if self._state == "idle":
                self._state = "playing"  # the source had played out: play again from frame
                self._done.clear()

    def stop(self) -> None:
        with self._cond:
            self._source, self._state, self._streaming = None, "idle", False
            self._insert, self._silence = None, 0
            clock, self._clock = self._clock, None
            self._done.set()
            self._cond.notify_all()
        if clock is not None and clock is not threading.current_thread():
            clock.join()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def __enter__(self) -> DummyPlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the test's side ---------------------------------------------------------------------

    @property
    def heard(self) -> np.ndarray:
        """Every output frame since construction (mono float32), silences and inserts included."""
        with self._cond:
            return np.concatenate(self._heard) if self._heard else np.zeros(0, np.float32)

    @property
    def frames_out(self) -> int:
        """Output frames played since construction (also when ``record`` is off)."""
        with self._cond:
            return self._frames_out

    def advance(self, frames: int) -> None:
        """Play ``frames`` output frames now, block by block; does nothing once lost."""
        left = int(frames)
        while left > 0:
            n = min(left, self.blocksize)
            with self._cond:  # one block at a time: control calls from other threads interleave
                if not self._streaming or self.lost.is_set():
                    return
                ended = self._block(n)
            left -= n
            if ended and self.on_end is not None:
                self.on_end()

    def advance_ms(self, ms: float) -> None:
        self.advance(round(ms * self.rate / 1000))

    def lose(self) -> None:
        """The output dies: ``lost`` is set and the position freezes (stop() still works)."""
        self.lost.set()

    @classmethod
    def factory(cls, **kwargs: Any) -> DummyFactory:
        """A player factory for the daemon; it keeps every player it made in ``.players``."""
        return DummyFactory(cls, kwargs)

    # -- inside ------------------------------------------------------------------------------

    def _start_insert(self, insert: np.ndarray | None, silence: int) -> None:
        samples = _mono(insert)
        n = (len(samples) if samples is not None else 0) + max(0, int(silence))
        self._insert = samples if samples is not None or n == 0 else np.zeros(0, np.float32)
        self._ins_off, self._ins_len = 0, n

    def _jump(self, frame: int) -> None:
        # A jump drops what was being inserted ("30 more seconds" then skip: skip wins).
        assert self._source is not None
        self._pos = max(0, min(int(frame), self._source.total_frames))
        self._insert = None

    def _block(self, frames: int) -> bool:
        """One audio block, as the real callback builds it; True if the source just played out."""
        out = np.zeros(frames, np.float32)
        i = min(frames, self._silence)
        self._silence -= i
        ended = False
        source = self._source
        # Paused, only an insert plays (words said into the pause); the source holds.
        if self._state in ("playing", "paused") and source is not None:
            if self._insert is not None and i < frames:
                if self._ins_off == 0:
                    self._ins_start_out = self._frames_out + i
                off = self._ins_off
                n = min(frames - i, self._ins_len - off)
                k = max(0, min(n, len(self._insert) - off))  # the rest is its silence: zeros
                out[i:i + k] = self._insert[off:off + k]
                i += n
                self._ins_off = off + n
                if self._ins_off >= self._ins_len:
                    self._insert = None
            n = min(frames - i, source.total_frames - self._pos)
            if self._state == "paused":
                n = 0
            if n > 0:
                try:
                    data = np.asarray(source.render(self._pos, n), dtype=np.float32).reshape(-1)
                except Exception as e:  # a broken source ends playback, as in the Player
                    self._error, self._source, self._state = e, None, "idle"
                    self._done.set()
                    n = 0
                else:
                    out[i:i + min(n, len(data))] = data[:n]
                    self._pos += n
            if (self._state == "playing" and self._pos >= source.total_frames
                    and self._insert is None and self._silence == 0):
                self._state = "idle"
                self._done.set()
                ended = True
        self._frames_out += frames
        if self.record:
            self._heard.append(out)
        return ended

    def _run_clock(self) -> None:
        me = threading.current_thread()
        t0, played = time.monotonic(), 0
        while True:
            with self._cond:
                if self._clock is not me:
                    return
                due = int((time.monotonic() - t0) * self.rate * self.speed) - played
                if due < self.blocksize:
                    self._cond.wait((self.blocksize - due) / (self.rate * self.speed))
                    continue
            self.advance(due)
            played += due


class DummyFactory:
    """Makes a DummyPlayer per call, like the daemon's player factory; ``available = False``
    makes opening one (open() or play()) raise NoOutputDevice: the output is gone."""

    def __init__(self, cls: type[DummyPlayer] = DummyPlayer, kwargs: dict[str, Any] | None = None) -> None:
        self.cls = cls
        self.kwargs = dict(kwargs or {})
        self.available = True
        self.players: list[DummyPlayer] = []

    def __call__(self) -> DummyPlayer:
        player = self.cls(available=lambda: self.available, **self.kwargs)
        self.players.append(player)
        return player

    @property
    def last(self) -> DummyPlayer | None:
        return self.players[-1] if self.players else None


def _mono(insert: np.ndarray | None) -> np.ndarray | None:
    if insert is None or not len(insert):
        return None
    return np.array(insert, dtype=np.float32).reshape(-1)


class DummyServer:
    """A sound server's playback streams and stream-restore entries in memory: the Ducker's
    ``Server`` with no PulseAudio (tests/test_duck.py runs the same contract tests on it and on
    ``PulseConnection``). ``add``/``remove``/``user_sets`` act as other programs and the user
    would; ``gone`` makes every call fail as a dead server's do."""

    def __init__(self) -> None:
        from coach.audio.duck import Stream
        self._stream_type = Stream
        self._lock = threading.Lock()
        self._streams: dict[int, Stream] = {}
        self._restore: dict[str, tuple[float, ...]] = {}
        self._next = 0
        self._changed = threading.Condition(self._lock)
        self._changes: list[Any] = []  # Changes not yet listened to
        self._woken = False
        self.gone = False
        self.sets = 0  # volume changes asked of it
        self.listens = 0  # listen() calls (an idle ducker makes none but the one it waits in)

    def add(self, app: str = "music-player", name: str = "music", role: str = "music",
            volume: tuple[float, ...] = (1.0,), pid: str = "4242") -> int:
        """A new stream (at its remembered volume, as stream-restore gives it); its index."""
        with self._lock:
            key = f"sink-input-by-media-role:{role}" if role else f"sink-input-by-application-name:{app}"
            volume = self._restore.get(key, volume)
            self._next += 1
            self._streams[self._next] = self._stream_type(self._next, tuple(volume), app, pid,
                                                          name, role, key)
            self._restore[key] = tuple(volume)
            self._post("new", self._next)
            return self._next

    def remove(self, index: int) -> None:
        with self._lock:
            if self._streams.pop(index, None) is not None:
                self._post("remove", index)

    def _post(self, kind: str, index: int) -> None:
        """(Lock held.) A stream event, as the server sends one to a subscriber."""
        from coach.audio.duck import Change
        self._changes.append(Change(kind, index))  # type: ignore[arg-type]
        self._changed.notify_all()

    def user_sets(self, index: int, volume: tuple[float, ...]) -> None:
        """Another program (the user's mixer) changes a volume: subscribers hear of it."""
        self.set_volume(index, volume)
        with self._lock:
            self._post("change", index)

    def volume(self, index: int) -> tuple[float, ...] | None:
        with self._lock:
            s = self._streams.get(index)
            return s.volume if s is not None else None

    def _check(self) -> None:
        if self.gone:
            from coach.audio.duck import ServerGone
            raise ServerGone("the dummy server went away")

    # -- Server --------------------------------------------------------------------------------

    def streams(self) -> list[Any]:
        self._check()
        with self._lock:
            return list(self._streams.values())

    def set_volume(self, index: int, volume: Any) -> bool:
        self._check()
        with self._lock:
            s = self._streams.get(index)
            if s is None:
                return False
            self.sets += 1
            self._streams[index] = s._replace(volume=tuple(float(v) for v in volume))
            self._restore[s.restore_id] = tuple(float(v) for v in volume)  # as stream-restore saves
            return True  # (our own change: not reported to our own listen)

    def send_volume(self, index: int, volume: Any) -> None:
        if not self.set_volume(index, volume):
            with self._lock:
                self._post("remove", index)  # as PulseConnection: a refused change says gone

    def listen(self, timeout: float | None) -> list[Any]:
        self._check()
        with self._changed:
            self.listens += 1
            self._changed.wait_for(lambda: self._changes or self._woken or self.gone, timeout)
            self._woken = False
            changes, self._changes = self._changes, []
        self._check()
        return changes

    def wake(self) -> None:
        with self._changed:
            self._woken = True
            self._changed.notify_all()

    def go_away(self) -> None:
        """The server dies: every call fails from now on, a listen under way included."""
        with self._changed:
            self.gone = True
            self._changed.notify_all()

    def remembered_volume(self, restore_id: str) -> tuple[float, ...] | None:
        self._check()
        with self._lock:
            return self._restore.get(restore_id)

    def remember_volume(self, restore_id: str, volume: Any) -> None:
        self._check()
        with self._lock:
            if restore_id in self._restore:
                self._restore[restore_id] = tuple(float(v) for v in volume)

    def close(self) -> None:
        pass
