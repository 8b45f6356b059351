"""The sound server as the ducker sees it: the Server protocol, its Streams, their Changes and
ServerGone; PulseConnection, the real one (pulsectl: PulseAudio, or PipeWire's pulse server);
the label of coach's own stream (never ducked) and the volume arithmetic (pulse's cubic scale)."""

from __future__ import annotations

import contextlib
import os
import select
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
        ``timeout`` seconds pass (None: no limit); what changed meanwhile, in order."""
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
            raise ServerGone(f"the sound server went away ({e})") from None
        self._pipewire = "PipeWire" in name
        # PipeWire only: what each stream was last seen at, and per key the volume of the last
        # change seen (WirePlumber's saved volume) and the channels to write it with.
        self._volumes: dict[int, tuple[str, tuple[float, ...]]] = {}
        self._remembered: dict[str, tuple[float, ...]] = {}
        self._channels: dict[str, list[str]] = {}
        # Stream events instead of polling: an idle ducker waits in poll(2) for one of them or
        # for wake()'s byte on a pipe of our own. pulsectl's event_listen_stop() loses a stop
        # that comes before its loop has started (it clears the flag on entry), so the pipe is
        # polled beside libpulse's own descriptors (set_poll_func: pulsectl's hook for an
        # outside event loop) and stops the loop from inside, where no stop can be missed.
        self._changes: list[Change] = []
        self._listening = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            self._pulse.set_poll_func(self._poll)
            self._pulse.event_mask_set("sink_input")
            self._pulse.event_callback_set(self._on_event)
        except Exception as e:
            self.close()
            raise ServerGone(f"the sound server went away ({e})") from None

    def _on_event(self, ev: Any) -> None:
        """pulsectl's event callback (inside its loop: no server calls here)."""
        for kind in ("new", "change", "remove"):
            if ev.t == kind:  # pulsectl's EnumValue equals its name
                self._changes.append(Change(kind, int(ev.index)))
        raise self._pulsectl.PulseLoopStop

    def _poll(self, fds: list[Any], timeout: float) -> int:
        """libpulse's poll, in pulsectl's hook: its descriptors, and while listening our pipe."""
        p = select.poll()
        for f in fds:
            p.register(f.fd, f.events)
        if self._listening:
            p.register(self._wake_r, select.POLLIN)
        try:
            ready = dict(p.poll(None if timeout < 0 else timeout * 1000))
        except InterruptedError:
            ready = {}
        n = 0
        for f in fds:
            f.revents = ready.get(f.fd, 0)
            n += bool(f.revents)
        if self._listening and self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake_r, 64):
                    pass
            self._pulse._loop_stop = True  # what event_listen_stop() sets: ends this listen
        return n

    def listen(self, timeout: float | None) -> list[Change]:
        # pulsectl reads a timeout of 0 as "none": the shortest wait instead.
        if timeout is not None:
            timeout = max(timeout, 1e-4)
        if self._changes:  # events that came in during another call: no wait
            timeout = 1e-4
        self._listening = True
        try:
            self._pulse.event_listen(timeout)
        except Exception as e:  # PulseDisconnected
            raise ServerGone(f"the sound server went away ({e})") from None
        finally:
            self._listening = False
        changes, self._changes = self._changes, []
        return changes

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake is pending anyway) or closed
            os.write(self._wake_w, b"w")

    def streams(self) -> list[Stream]:
        try:
            items = self._pulse.sink_input_list()
        except Exception as e:
            raise ServerGone(f"the sound server went away ({e})") from None
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
            raise ServerGone(f"the sound server went away ({e})") from None
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
            raise ServerGone(f"the sound server went away ({e2})") from None

    def set_volume(self, index: int, volume: Sequence[float]) -> bool:
        """False when the stream is gone."""
        pc = self._pulsectl
        try:
            self._pulse.sink_input_volume_set(index, pc.PulseVolumeInfo(list(volume)))
        except pc.PulseOperationFailed:
            return False
        except Exception as e:
            raise ServerGone(f"the sound server went away ({e})") from None
        if index in self._volumes:
            self._saw(index, self._volumes[index][0], tuple(float(v) for v in volume))
        return True

    def close(self) -> None:
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
