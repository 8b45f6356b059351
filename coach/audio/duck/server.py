"""The sound server as the ducker sees it: the Server protocol, its Streams, their Changes and
ServerGone; PulseConnection, the real one (pulsectl: PulseAudio, or PipeWire's pulse server);
the label of coach's own stream (never ducked) and the volume arithmetic (pulse's cubic scale)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple, Protocol

APP_NAME = "coach"
ROLE = "event"
# What coach's own stream says about itself. PULSE_PROP is read by libpulse (so by ALSA's
# pulse plugin, which PortAudio uses) when a stream's context is made; the plugin names its
# context "ALSA plug-in [python3]" first and PULSE_PROP only fills in keys not set, so the
# name needs PULSE_PROP_OVERRIDE (found: with PULSE_PROP alone `pactl list sink-inputs` shows
# application.name = "ALSA plug-in [python3.11]").
STREAM_PROPS = f"media.role={ROLE} application.name={APP_NAME}"
# Two volumes closer than this (fraction of 100 %) are the same: a server may round ours.
SAME_VOLUME = 0.002
NORMAL_VOLUME = 1.0  # the server's normal volume (PA_VOLUME_NORM, 100 %): never restored above
MAX_CHANNELS = 32  # PA_CHANNELS_MAX
CLOSE_WAIT_S = 1.0  # a closing connection waits this long for its volume changes' answers


def label_stream() -> None:
    """Label the streams this process opens from now on as coach's (call before PortAudio
    opens one): media.role=event, application.name=coach. Keeps what PULSE_PROP held."""
    have = os.environ.get("PULSE_PROP", "")
    if STREAM_PROPS not in have:
        os.environ["PULSE_PROP"] = f"{have} {STREAM_PROPS}".strip()
    over = os.environ.get("PULSE_PROP_OVERRIDE", "")
    if f"application.name={APP_NAME}" not in over:
        os.environ["PULSE_PROP_OVERRIDE"] = f"{over} application.name={APP_NAME}".strip()


def db_factor(db: float) -> float:
    """What a pulse volume (cubic scale, as pactl's percent) is multiplied by for ``db``."""
    return float(10 ** (db / 60))


class Stream(NamedTuple):
    """A playback stream (sink-input) on the server."""

    idx: int  # the sink-input's index on the server
    volume: tuple[float, ...]  # per channel, 1.0 = 100 %
    app: str
    pid: str
    name: str
    role: str
    restore_id: str = ""  # its key in the server's stream-restore database ("" if none)


class Change(NamedTuple):
    """Something happened to a playback stream: it appeared, it changed (volume, mute, cork,
    properties: the server does not say which, and our own volume changes count too), or it
    went."""

    kind: Literal["new", "change", "remove"]
    idx: int  # the stream's index on the server


class Server(Protocol):
    """The sound server as the ducker uses it (``PulseConnection`` is the real one,
    ``coach.audio.dummy.DummyServer`` the fake; both pass tests/test_duck.py's contract).
    One thread uses it, but for ``wake``, which any thread may call."""

    def streams(self) -> list[Stream]: ...

    def listen(self, timeout: float | None) -> list[Change]:
        """Wait until a stream changes, ``wake`` is called (or was, since the last listen) or
        ``timeout`` seconds pass (None: no limit); what changed meanwhile, in order. The
        change each of our own volume changes brings back is not reported."""
        ...

    def send_volume(self, index: int, volume: Sequence[float]) -> None:
        """``set_volume`` without waiting for the answer: a stream that is gone is reported by
        ``listen`` (as removed)."""
        ...

    def wake(self) -> None:
        """From any thread: end the ``listen`` under way, or the next one, at once."""
        ...

    def set_volume(self, index: int, volume: Sequence[float]) -> bool: ...

    def remembered_volume(self, restore_id: str) -> tuple[float, ...] | None:
        """The volume the server will give the next stream with this key (stream-restore),
        None when it keeps none."""
        ...

    def remember_volume(self, restore_id: str, volume: Sequence[float]) -> None: ...

    def close(self) -> None: ...


class ServerGone(Exception):
    """The sound server is not there, refused us, or went away."""


# libpulse's pa_mainloop_api, as far as io_new (pulsectl keeps it opaque): the wake pipe's io
# event. The callback's arguments: the api, the event, the fd, its flags, the userdata.
_IO_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                          ctypes.c_void_p)
_IO_EVENT_INPUT = 1


class _MainloopApi(ctypes.Structure):
    _fields_ = [("userdata", ctypes.c_void_p),
                ("io_new", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                            ctypes.c_int, _IO_CB, ctypes.c_void_p))]


def _gone(e: Exception) -> ServerGone:
    return ServerGone(f"the sound server went away ({e or type(e).__name__})")


class PulseConnection:
    """pulsectl: talks to PulseAudio and to PipeWire's pulse server alike, but for the remembered
    volumes (stream-restore).

    PulseAudio's module-stream-restore lists, per key, the volume its next stream will get, and
    keeps it current. PipeWire's pulse server (0.3.65 with WirePlumber 0.4.13, Raspberry Pi OS
    Bookworm) does not: WirePlumber saves the volume of every change of a stream under the key
    ("Output/Audio:media.role:Music" in $XDG_STATE_HOME/wireplumber/restore-stream) and gives it
    to the next stream, but the pulse interface lists only the entries clients wrote (none for a
    music stream), and never updates them (found: after a write of 90 % and a stream with that
    key set to 30 %, the list still said 90 % and the next stream started at 30 %). A write does
    reach WirePlumber: the next stream starts at the volume written. So on PipeWire the
    remembered volume of a key is the volume this connection last saw a stream with that key
    change to (or set, or wrote), None if it saw none; without this a song that ended while
    lowered left the next song lowered (tests/test_duck.py, "pipewire": it started at 63 %).
    """

    def __init__(self) -> None:
        try:
            import pulsectl
        except ImportError as e:
            raise ServerGone(f"pulsectl is not installed ({e})") from None
        self._pulsectl = pulsectl
        try:
            self._pulse = pulsectl.Pulse("coach-duck", connect=False)
            # No timeout: pulsectl's timed connect waits out the whole timeout even when the
            # server answers at once (found: 2.2 s for timeout=2); a missing server fails at
            # once without one, and a hung one only holds the ducker's own thread.
            self._pulse.connect()
        except Exception as e:  # PulseError: no server, refused, timed out
            raise ServerGone(f"no sound server to duck other streams on ({e})") from None
        try:
            name = str(self._pulse.server_info().server_name)  # "PulseAudio (on PipeWire 0.3.65)"
        except Exception as e:
            raise _gone(e) from None
        self._pipewire = "PipeWire" in name
        # PipeWire only: what each stream was last seen at, and per key the volume of the last
        # change seen (WirePlumber's saved volume) and the channels to write it with.
        self._volumes: dict[int, tuple[str, tuple[float, ...]]] = {}
        self._remembered: dict[str, tuple[float, ...]] = {}
        self._channels: dict[str, list[str]] = {}
        # Stream events instead of polling: an idle ducker waits in poll(2) for one of them or
        # for wake()'s byte on a pipe of our own, which libpulse polls beside its socket (an io
        # event of its mainloop: in C, no Python on each poll). pulsectl's event_listen_stop()
        # loses a stop that comes before its loop has started (it clears the flag on entry);
        # the pipe stays readable until its io event has run inside the loop, so none is lost.
        # (A poll function in Python, pulsectl's set_poll_func, doubled the CPU of every call:
        # a volume change, 44 -> 97 us.)
        self._changes: list[Change] = []
        self._woken = False
        self._echo: dict[int, int] = {}  # our own volume changes whose event is still to come
        self._acks: deque[int] = deque()  # streams of the send_volume()s not yet answered
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._pipe = select.poll()
        self._pipe.register(self._wake_r, select.POLLIN)
        try:
            c = pulsectl._pulsectl
            self._pa = c.pa
            self._on_wake_cb = _IO_CB(self._on_wake)
            self._on_ack_cb = c.PA_CONTEXT_SUCCESS_CB_T(self._on_ack)
            api = ctypes.cast(self._pulse._api, ctypes.POINTER(_MainloopApi))
            if not api.contents.io_new(ctypes.cast(self._pulse._api, ctypes.c_void_p),
                                       self._wake_r, _IO_EVENT_INPUT, self._on_wake_cb, None):
                raise ServerGone("libpulse refused an io event")
            self._pulse.event_mask_set("sink_input")
            self._pulse.event_callback_set(self._on_event)
        except Exception as e:
            self.close()
            raise ServerGone(f"the sound server went away ({e})") from None

    def _on_event(self, ev: Any) -> None:
        """pulsectl's event callback (inside its loop: no server calls here)."""
        idx = int(ev.index)
        if ev.t == "change" and self._echo.get(idx, 0) > 0:
            self._echo[idx] -= 1  # ours coming back: the loop goes on
            return
        for kind in ("new", "change", "remove"):
            if ev.t == kind:  # pulsectl's EnumValue equals its name
                self._changes.append(Change(kind, idx))
        if ev.t == "remove":
            self._echo.pop(idx, None)
        raise self._pulsectl.PulseLoopStop

    def _on_wake(self, api: Any, event: Any, fd: int, flags: int, userdata: Any) -> None:
        """The wake pipe is readable (libpulse's io event, inside its loop)."""
        self._drain()
        self._pulse._loop_stop = True  # what event_listen_stop() sets: ends the listen

    def _on_ack(self, ctx: Any, success: int, userdata: Any) -> None:
        """A send_volume() answered (in order): refused means the stream is gone."""
        idx = self._acks.popleft() if self._acks else -1
        if not success:
            self._echo.pop(idx, None)
            self._changes.append(Change("remove", idx))

    def listen(self, timeout: float | None) -> list[Change]:
        """With no timeout, libpulse's loop waits for the server or the wake pipe. With one,
        only the pipe is waited on, and what the server sent meanwhile (answers, our own
        changes coming back, the user's) is read when the wait ends: one wake-up a volume step
        instead of three (its answer and its change event woke the thread again each time;
        the ducker's CPU with a cue every second fell from 0.5 to 0.2 % of a core). A change
        is then seen by the next step, at the latest when ``timeout`` ends."""
        if not (self._changes or self._woken):  # else: what came in during another call
            if timeout is None:
                try:
                    self._pulse.event_listen(None)
                except Exception as e:  # PulseDisconnected
                    raise _gone(e) from None
            else:
                with contextlib.suppress(InterruptedError):
                    if self._pipe.poll(max(0.0, timeout) * 1000):
                        self._drain()
        self._turn()
        self._woken = False
        changes, self._changes = self._changes, []
        return changes

    def _turn(self) -> None:
        """libpulse's loop without waiting, until nothing is left to read or write: requests
        made are sent, answers and events that came are handled."""
        pa, loop = self._pa, self._pulse._loop
        try:
            for _ in range(16):
                pa.mainloop_prepare(loop, 0)
                ready = pa.mainloop_poll(loop)
                pa.mainloop_dispatch(loop)
                if not ready:
                    break
        except Exception as e:  # CallError: the connection failed
            raise _gone(e) from None
        if not self._pulse.connected:
            raise ServerGone("the sound server went away (disconnected)")

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._wake_r, 64):
                pass
        self._woken = True

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake is pending anyway) or closed
            os.write(self._wake_w, b"w")

    def streams(self) -> list[Stream]:
        try:
            items = self._pulse.sink_input_list()
        except Exception as e:
            raise _gone(e) from None
        out = []
        for si in items:
            p = si.proplist
            out.append(Stream(int(si.index), tuple(float(v) for v in si.volume.values),
                              str(p.get("application.name", "")),
                              str(p.get("application.process.id", "")),
                              str(p.get("media.name", "")), str(p.get("media.role", "")),
                              str(p.get("module-stream-restore.id", ""))))
            if self._pipewire and out[-1].restore_id:
                s = out[-1]
                if self._volumes.get(s.idx) != (s.restore_id, s.volume):  # new, or changed
                    self._saw(s.idx, s.restore_id, s.volume)
                    self._channels[s.restore_id] = [str(c) for c in si.channel_list]
        if self._pipewire:
            live = {s.idx for s in out}
            self._volumes = {i: v for i, v in self._volumes.items() if i in live}
        return out

    def _saw(self, index: int, restore_id: str, volume: tuple[float, ...]) -> None:
        self._volumes[index] = (restore_id, volume)
        self._remembered[restore_id] = volume

    def _restore_entry(self, restore_id: str) -> Any:
        try:
            entries = self._pulse.stream_restore_list()
        except self._pulsectl.PulseOperationFailed:
            return None  # no stream-restore on this server
        except Exception as e:
            raise _gone(e) from None
        return next((e for e in entries if e.name == restore_id), None)

    def remembered_volume(self, restore_id: str) -> tuple[float, ...] | None:
        if self._pipewire:
            return self._remembered.get(restore_id) if restore_id else None
        e = self._restore_entry(restore_id) if restore_id else None
        if e is None or not e.volume.values:
            return None
        return tuple(float(v) for v in e.volume.values)

    def remember_volume(self, restore_id: str, volume: Sequence[float]) -> None:
        if self._pipewire:  # no entry to read: a new one, in the channels the key's stream had
            channels = self._channels.get(restore_id)
            if not restore_id or channels is None or len(channels) != len(volume):
                return
            e = self._pulsectl.PulseExtStreamRestoreInfo(restore_id, list(volume), channels)
            self._remembered[restore_id] = tuple(float(v) for v in volume)
        else:
            e = self._restore_entry(restore_id) if restore_id else None
            if e is None or len(e.volume.values) != len(volume):
                return
            e.volume = self._pulsectl.PulseVolumeInfo(list(volume))
        try:
            self._pulse.stream_restore_write(e, mode="replace")
        except self._pulsectl.PulseOperationFailed:
            return
        except Exception as e2:
            raise _gone(e2) from None

    def set_volume(self, index: int, volume: Sequence[float]) -> bool:
        """False when the stream is gone."""
        pc = self._pulsectl
        self._echo[index] = self._echo.get(index, 0) + 1
        try:
            self._pulse.sink_input_volume_set(index, pc.PulseVolumeInfo(list(volume)))
        except pc.PulseOperationFailed:
            self._echo.pop(index, None)
            return False
        except Exception as e:
            raise _gone(e) from None
        if index in self._volumes:
            self._saw(index, self._volumes[index][0], tuple(float(v) for v in volume))
        return True

    def send_volume(self, index: int, volume: Sequence[float]) -> None:
        # Not waiting for the answer saves a wake-up per step (it comes with the change event,
        # read in the next listen); libpulse sends the request in that listen's first turn.
        c = self._pulsectl._pulsectl  # the struct itself, as PulseVolumeInfo.to_struct makes it
        vol = c.PA_CVOLUME(len(volume), tuple(min(c.PA_VOLUME_UI_MAX, round(v * c.PA_VOLUME_NORM))
                                              for v in volume))
        try:
            op = self._pa.context_set_sink_input_volume(self._pulse._ctx, index, vol,
                                                        self._on_ack_cb, None)
        except Exception as e:  # CallError: the connection is gone
            raise _gone(e) from None
        self._pa.operation_unref(op)
        self._acks.append(index)
        self._echo[index] = self._echo.get(index, 0) + 1
        self._turn()  # sent now, not when the next wait ends
        if index in self._volumes:
            self._saw(index, self._volumes[index][0], tuple(float(v) for v in volume))

    def close(self) -> None:
        # Every volume sent answered first (at most a second): the last ones give the music
        # back. PipeWire's answers are not in order with others (found: after a server_info
        # round trip the volume sent before it was still the old one), so the answers count.
        deadline = time.monotonic() + CLOSE_WAIT_S
        while getattr(self, "_acks", None) and time.monotonic() < deadline:
            try:
                self._pulse.event_listen(0.01)
            except Exception:
                break
        with contextlib.suppress(Exception):
            self._pulse.close()
        for fd in (getattr(self, "_wake_r", -1), getattr(self, "_wake_w", -1)):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1


def is_ours(s: Stream, pid: int | None = None) -> bool:
    """Coach's own stream is never ducked: by its name, or by our process id."""
    return s.app == APP_NAME or s.pid == str(os.getpid() if pid is None else pid)


def same_volume(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= SAME_VOLUME for x, y in zip(a, b))


def scaled(volume: Sequence[float], db: float) -> tuple[float, ...]:
    f = db_factor(db)
    return tuple(v * f for v in volume)
