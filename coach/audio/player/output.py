"""The Output protocol: a player as the session controller drives it, with what it plays (a
Source), its states and NoOutputDevice. Player (coach.audio.player.portaudio) is the real one,
coach.audio.dummy.DummyPlayer the in-process one for tests; both pass
tests/test_player_contract.py."""

from __future__ import annotations

import threading
from typing import Literal, Protocol, runtime_checkable

import numpy as np

PlayerState = Literal["idle", "playing", "paused"]


class Source(Protocol):
    """What the Player plays: frames [first_frame, first_frame + n_frames) on demand, mono float32."""

    rate: int
    total_frames: int

    def render(self, first_frame: int, n_frames: int) -> np.ndarray: ...


@runtime_checkable
class Output(Protocol):
    """A player as the session controller drives it; every method from any non-audio thread.

    - ``open`` opens the output now, feeding silence (a missing device raises NoOutputDevice
      before anything is prepared; a Bluetooth headset wakes up); ``play`` opens it if needed.
    - ``play`` plays preroll silence, then ``insert`` (mono, at the source's rate) and
      ``silence`` frames of silence (at the source's rate, never materialised: an extended
      rest's 30 s), then ``source`` from ``start_frame``: state ``playing``.
    - ``position`` is the source frame being heard; it never goes backwards within one
      play/seek, holds still while paused, and never leaves [0, source.total_frames].
    - ``insert_position``: how many frames (at the source's rate) of the latest insert, its
      silence included, have been heard (negative: handed to the device, not heard yet; past
      its length: it is over);
      None before the first insert. The ducker lowers the music under an insert's words by it.
    - ``pause``/``resume`` act from the next audio block; ``resume(insert, silence)`` plays the
      insert and its silence, then the source from the frame where it paused.
    - ``say(insert, silence)``, paused: plays the insert and its silence now and stays paused,
      the position holding still (words asked for in a paused session); otherwise nothing.
    - ``seek`` jumps (dropping what was being inserted) and keeps ``playing``/``paused``; after
      the source played out it plays again from there.
    - ``wait`` is True once the source has played out (state already ``idle``) or after ``stop``.
    - ``error`` is the exception that ended playback when the source failed to render;
      ``lost`` is set when the output died under us (position freezes; call ``stop``);
      ``stalled_s`` is how long an open output has taken no audio (a SIGSTOPped sound server:
      nothing dies, nothing moves), 0.0 while it flows.
    """

    @property
    def state(self) -> PlayerState: ...

    @property
    def position(self) -> int: ...

    @property
    def insert_position(self) -> int | None: ...

    @property
    def underflows(self) -> int: ...

    @property
    def error(self) -> Exception | None: ...

    @property
    def stalled_s(self) -> float: ...

    @property
    def lost(self) -> threading.Event: ...

    def open(self) -> None: ...

    def play(self, source: Source, start_frame: int = 0, insert: np.ndarray | None = None,
             silence: int = 0) -> None: ...

    def pause(self) -> None: ...

    def resume(self, insert: np.ndarray | None = None, silence: int = 0) -> None: ...

    def say(self, insert: np.ndarray, silence: int = 0) -> None: ...

    def seek(self, frame: int) -> None: ...

    def stop(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class NoOutputDevice(Exception):
    """PortAudio has no usable output device (or none matching the configured one)."""

