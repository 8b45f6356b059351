"""Ducking: other playback streams (the lifter's music) are lowered while the coach speaks.

A ``Ducker`` follows an Output's ``position`` from its own thread (every ~15 ms) and sets the
volume of every other sink-input on the sound server (PulseAudio, or PipeWire's pulse server)
through ``pulsectl``, following a pure ``DuckPlan`` (coach/core/duckplan.py): down by
``level_db`` with a short fade before each cue, back up after it. The thread only reads the
output's position and state and talks to the sound server; the session thread only calls
``start``/``stop``.

Nothing is lost: before a stream is lowered its original volume is saved to
``$XDG_STATE_HOME/coach/ducked.json`` (atomic write); un-ducking and a clean stop restore it
and remove the file; a start after a crash (or kill -9) restores what the file lists and is
still there. A stream whose volume is not the one we set was changed by the user: its volume
becomes the original (never restored over). See "Ducking" in docs/DESIGN.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from coach.core.duckplan import DuckPlan
from coach.files import atomic_write_text

log = logging.getLogger(__name__)

DEFAULT_LEVEL_DB = -12.0
APP_NAME = "coach"
ROLE = "event"
# What coach's own stream says about itself. PULSE_PROP is read by libpulse (so by ALSA's
# pulse plugin, which PortAudio uses) when a stream's context is made; the plugin names its
# context "ALSA plug-in [python3]" first and PULSE_PROP only fills in keys not set, so the
# name needs PULSE_PROP_OVERRIDE (found: with PULSE_PROP alone `pactl list sink-inputs` shows
# application.name = "ALSA plug-in [python3.11]").
STREAM_PROPS = f"media.role={ROLE} application.name={APP_NAME}"
POLL_S = 0.015
REFRESH_S = 0.05  # while ducked, look for new streams and user changes this often
# The ducker acts this far ahead of the position. None is needed: the Player's position is
# counted back from the host's DAC time, and a sink-input's volume change is heard within the
# sink's own latency (~10-30 ms here, with rewinds). bench/bench_duck.py with 0: fade start
# -135 ms (plan -150), full depth at -13 ms, back 216 ms after the clip (plan 200); with the
# old static-latency position it took a 150 ms lead and still moved 60-100 ms early.
LEAD_MS = 0
RECOVERY_WAIT_S = 5.0
STEP_DB = 2.0  # fades move in steps of at most this (-12 dB: 6 steps each way)
# Two volumes closer than this (fraction of 100 %) are the same: a server may round ours.
SAME_VOLUME = 0.002


def label_stream() -> None:
    """Label the streams this process opens from now on as coach's (call before PortAudio
    opens one): media.role=event, application.name=coach. Keeps what PULSE_PROP held."""
    have = os.environ.get("PULSE_PROP", "")
    if STREAM_PROPS not in have:
        os.environ["PULSE_PROP"] = f"{have} {STREAM_PROPS}".strip()
    over = os.environ.get("PULSE_PROP_OVERRIDE", "")
    if f"application.name={APP_NAME}" not in over:
        os.environ["PULSE_PROP_OVERRIDE"] = f"{over} application.name={APP_NAME}".strip()


def state_file() -> Path:
    """Where the volumes of lowered streams are kept while they are lowered."""
    import platformdirs
    return Path(platformdirs.user_state_dir(APP_NAME)) / "ducked.json"


def db_factor(db: float) -> float:
    """What a pulse volume (cubic scale, as pactl's percent) is multiplied by for ``db``."""
    return float(10 ** (db / 60))


class Positioned(Protocol):
    """What the ducker reads of an Output (coach.audio.player.Output has all three)."""

    @property
    def position(self) -> int: ...

    @property
    def insert_position(self) -> int | None: ...

    @property
    def state(self) -> str: ...


class Stream(NamedTuple):
    """A playback stream (sink-input) on the server."""

    idx: int  # the sink-input's index on the server
    volume: tuple[float, ...]  # per channel, 1.0 = 100 %
    app: str
    pid: str
    name: str
    role: str
    restore_id: str = ""  # its key in the server's stream-restore database ("" if none)


class Server(Protocol):
    """The sound server as the ducker uses it (``PulseConnection`` is the real one,
    ``coach.audio.dummy.DummyServer`` the fake; both pass tests/test_duck.py's contract)."""

    def streams(self) -> list[Stream]: ...

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


def is_ours(s: Stream, pid: int | None = None) -> bool:
    """Coach's own stream is never ducked: by its name, or by our process id."""
    return s.app == APP_NAME or s.pid == str(os.getpid() if pid is None else pid)


def same_volume(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= SAME_VOLUME for x, y in zip(a, b))


def scaled(volume: Sequence[float], db: float) -> tuple[float, ...]:
    f = db_factor(db)
    return tuple(v * f for v in volume)


# -- the saved-volumes file ---------------------------------------------------------------------

@dataclass
class Ducked:
    """A stream we lowered: its identity, the volume to give back, the one we last set."""

    index: int
    app: str
    pid: str
    name: str
    original: tuple[float, ...]
    lowest: tuple[float, ...]  # original at the full depth: anything we set lies in between
    set_to: tuple[float, ...]
    held: bool = False  # the user set its volume during this duck: left alone until it ends
    restore_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "app": self.app, "pid": self.pid, "name": self.name,
                "original": list(self.original), "lowest": list(self.lowest),
                "restore_id": self.restore_id}

    def matches(self, s: Stream) -> bool:
        return (s.idx, s.app, s.pid, s.name) == (self.index, self.app, self.pid, self.name)


def write_state(path: Path, ducked: Sequence[Ducked]) -> None:
    """Atomically: the file lists exactly ``ducked`` (removed when empty)."""
    if not ducked:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"version": 1, "streams": [d.to_json() for d in ducked]})
    atomic_write_text(path, data, perm=0o600)  # private, as the state file always was


def read_state(path: Path) -> list[Ducked]:
    try:
        data = json.loads(path.read_text())
        out = []
        for e in data["streams"]:
            original = tuple(float(v) for v in e["original"])
            lowest = tuple(float(v) for v in e["lowest"])
            out.append(Ducked(int(e["index"]), str(e["app"]), str(e["pid"]), str(e["name"]),
                              original, lowest, lowest, restore_id=str(e.get("restore_id", ""))))
        return out
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("ignoring unreadable %s (%s)", path, e)
        return []


def recover(server: Server, path: Path) -> int:
    """After a crash: give every stream the file lists, still there and still at a volume we
    could have set (between its lowest and its original), its original volume back; a stream
    whose volume is outside that range was changed by the user since, and keeps it. Removes
    the file. The number of streams restored."""
    saved = read_state(path)
    log.debug("saved volumes in %s: %d stream(s)", path, len(saved))
    if not saved:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return 0
    restored = 0
    live = server.streams()
    for d in saved:
        s = next((s for s in live if d.matches(s)), None)
        if s is None:
            forget_lowered(server, d)
            continue
        if len(s.volume) != len(d.original):
            continue
        ours = all(lo - SAME_VOLUME <= v <= hi + SAME_VOLUME
                   for v, lo, hi in zip(s.volume, d.lowest, d.original))
        if ours and server.set_volume(d.index, d.original):
            restored += 1
    log.warning("a previous coach left %d stream(s) lowered: restored %d (the others are gone "
                "or the user changed them since)", len(saved), restored)
    write_state(path, [])
    return restored


def forget_lowered(server: Server, d: Ducked) -> bool:
    """A stream ended while lowered: if the server's stream-restore database kept the volume we
    set for its key, put the original back there, so the next stream of that app or role
    (the next song's stream) does not start lowered. True if an entry was changed."""
    if not d.restore_id:
        return False
    kept = server.remembered_volume(d.restore_id)
    if kept is None or len(kept) != len(d.original) or same_volume(kept, d.original):
        return False
    ours = all(lo - SAME_VOLUME <= v <= hi + SAME_VOLUME
               for v, lo, hi in zip(kept, d.lowest, d.original))
    if not ours:
        return False  # set by the user (or another program) since: theirs
    server.remember_volume(d.restore_id, d.original)
    log.info("stream %d (%s) ended while lowered: its remembered volume put back", d.index,
             d.app or d.name)
    return True


# Recoveries running in the background, by state file: a Ducker starting meanwhile waits for
# its file's (it would otherwise lower a stream that the recovery then "gives back").
_recoveries: dict[Path, threading.Event] = {}
_recoveries_lock = threading.Lock()  # guards the dict only, never held while talking


def recover_left_lowered(path: Path | None = None,
                         connect: Callable[[], Server] | None = None) -> int:
    """At a start: give back what a crashed or killed coach left lowered (``recover``), from
    this thread. No server, or one that refuses: one warning. The number of streams restored."""
    path = path if path is not None else state_file()
    if not path.exists():
        return 0
    try:
        server = (connect or PulseConnection)()
    except ServerGone as e:
        log.warning("cannot restore volumes a previous coach left lowered: %s", e)
        return 0
    try:
        return recover(server, path)
    except ServerGone as e:
        log.warning("cannot restore volumes a previous coach left lowered: %s", e)
        return 0
    finally:
        server.close()


def recover_in_background(path: Path | None = None,
                          connect: Callable[[], Server] | None = None) -> threading.Thread | None:
    """``recover_left_lowered`` on a thread of its own (the daemon's start: the sound server may
    be slow or hung, the socket and the session thread are not held up), if there is a file."""
    path = path if path is not None else state_file()
    if not path.exists():
        return None
    done = threading.Event()
    with _recoveries_lock:
        _recoveries[path] = done

    def run() -> None:
        try:
            recover_left_lowered(path, connect)
        finally:
            done.set()
            with _recoveries_lock:
                if _recoveries.get(path) is done:
                    del _recoveries[path]

    t = threading.Thread(target=run, name="coach-duck-recover", daemon=True)
    t.start()
    return t


# -- the ducker -------------------------------------------------------------------------------

@dataclass
class _Run:
    output: Positioned
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class Ducker:
    """Lowers every other playback stream while the coach speaks (see the module's doc).

    ``start(output)`` follows ``output`` from a thread of its own; ``stop()`` restores every
    lowered stream at once and ends that thread (both return within ``timeout``, ~ms in
    practice). ``plan`` may be replaced at any time (one assignment: clips that arrived while
    playing have their real lengths). No sound server, or one that refuses: one warning, and
    the ducker is off (``off`` is set) for good.
    """

    def __init__(self, plan: DuckPlan, level_db: float = DEFAULT_LEVEL_DB, *,
                 state_path: Path | None = None, poll_s: float = POLL_S, lead_ms: int = LEAD_MS,
                 connect: Callable[[], Server] = PulseConnection) -> None:
        if level_db > 0:
            raise ValueError(f"duck level must be negative dB, not {level_db}")
        self.plan = plan
        # The latest insert's words ("resuming… 3, 2, 1", a rating's echo, "30 more seconds"),
        # in the insert's own frames, followed by the output's insert_position.
        self.insert_plan: DuckPlan | None = None
        self.level_db = float(level_db)
        self.state_path = state_path if state_path is not None else state_file()
        self.poll_s = poll_s
        self.lead = lead_ms * plan.rate // 1000
        self._connect = connect
        self.off = threading.Event()
        self._lock = threading.Lock()  # guards _run only (never held while talking to the server)
        self._run: _Run | None = None
        self._recovered = False
        self.steps = 0  # volume changes made (bench, tests)

    def start(self, output: Positioned) -> None:
        """Follow ``output``'s position from now on (restarting the thread if it ran)."""
        if self.off.is_set():
            return
        self.stop()
        run = _Run(output)
        run.thread = threading.Thread(target=self._loop, args=(run,), name="coach-duck",
                                      daemon=True)
        with self._lock:
            self._run = run
        run.thread.start()

    def said(self, plan: DuckPlan | None) -> None:
        """An insert was just given to the output: lower the music under its words too (None:
        the output dropped it)."""
        self.insert_plan = plan

    def stop(self, timeout: float = 1.0) -> None:
        """Restore every stream we lowered now and end the thread (waits at most ``timeout``:
        a thread still talking to a slow server restores on its own when it gets through)."""
        with self._lock:
            run, self._run = self._run, None
        if run is None:
            return
        run.stop.set()
        if run.thread is not None and run.thread is not threading.current_thread():
            run.thread.join(timeout)

    @property
    def running(self) -> bool:
        with self._lock:
            return self._run is not None

    # -- the thread -------------------------------------------------------------------------

    def _give_up(self, e: Exception) -> None:
        if not self.off.is_set():
            self.off.set()
            log.warning("ducking is off: %s (cues still play)", e)

    def _loop(self, run: _Run) -> None:
        try:
            server = self._connect()
        except ServerGone as e:
            self._give_up(e)
            return
        ducked: dict[int, Ducked] = {}
        log.debug("ducker: connected (state file %s)", self.state_path)
        try:
            with _recoveries_lock:
                pending = _recoveries.get(self.state_path)
            if pending is not None:
                pending.wait(RECOVERY_WAIT_S)  # the daemon's start is giving volumes back
            if not self._recovered:
                self._recovered = True
                recover(server, self.state_path)
            step_db, last_refresh = 0.0, 0.0
            while not run.stop.wait(self.poll_s):
                now = time.monotonic()
                playing = run.output.state == "playing"
                pos = run.output.position + self.lead
                want = self._target_db(pos, run.output.insert_position) if playing else 0.0
                # (paused or ended: restored). At most one step per poll: a jump of the whole
                # depth (a start mid-cue) is a click in the music, heard in the capture as a
                # broadband onset; the plan's own fades are slower than this anyway.
                size = self._step_size()
                now_k, want_k = round(-step_db / size), round(-want / size)
                want = -size * min(max(want_k, now_k - 1), now_k + 1)
                if want != step_db or (want < 0 and now - last_refresh >= REFRESH_S):
                    if want != step_db:
                        log.debug("duck: %.1f dB at source frame %d", want, pos)
                    self._apply(server, ducked, want)
                    step_db, last_refresh = want, now
        except ServerGone as e:
            self._give_up(e)
        finally:
            try:
                self._apply(server, ducked, 0.0)
            except ServerGone as e:
                # The server is gone (and our lowered volumes with its streams): keep the file
                # for the next start, which restores what is still there.
                log.debug("cannot restore volumes: %s", e)
            server.close()

    def _target_db(self, pos: int, insert_pos: int | None = None) -> float:
        """The gain at source frame ``pos`` (and ``insert_pos`` frames into the latest insert),
        in whole steps (a fade is a few volume changes)."""
        db = self.plan.gain_db(pos, self.level_db)
        ins = self.insert_plan
        if ins is not None and insert_pos is not None:
            db = min(db, ins.gain_db(insert_pos + self.lead, self.level_db))
        if db >= 0:
            return 0.0
        size = self._step_size()
        steps = round(-self.level_db / size)
        k = math.ceil(-db / size - 1e-9)  # up: the first step acts at once, the last holds
        return -min(steps, k) * size

    def _step_size(self) -> float:
        """The level's depth in equal steps of at most STEP_DB."""
        return -self.level_db / max(1, round(-self.level_db / STEP_DB))

    @staticmethod
    def _original_of(s: Stream, kin: Sequence[Ducked]) -> tuple[float, ...]:
        """A new stream's own volume. The server's stream-restore starts a stream at the last
        volume saved for its key (media role or application), which, while another stream of
        that key is lowered, is the one we set: the next song's stream, made mid-cue, would
        otherwise take the lowered volume for its own and keep it after the duck (found with
        the DummyServer, which keeps the same database; PulseAudio does this)."""
        for d in kin:
            if (s.restore_id and d.restore_id == s.restore_id and len(d.original) == len(s.volume)
                    and not same_volume(s.volume, d.original)
                    and all(lo - SAME_VOLUME <= v <= hi + SAME_VOLUME
                            for v, lo, hi in zip(s.volume, d.lowest, d.original))):
                return d.original
        return s.volume

    def _apply(self, server: Server, ducked: dict[int, Ducked], db: float) -> None:
        """Bring every other stream to ``db`` below its original (0: back to it)."""
        if db >= 0 and not ducked:
            return
        live = {s.idx: s for s in server.streams()}
        changed = False
        gone = [ducked.pop(i) for i in [i for i in ducked
                                         if i not in live or not ducked[i].matches(live[i])]]
        for was in gone:
            forget_lowered(server, was)  # vanished: forgotten
            changed = True
        pending: list[tuple[int, tuple[float, ...]]] = []
        for s in live.values():
            if is_ours(s):
                continue
            d = ducked.get(s.idx)
            if d is None:
                if db >= 0:
                    continue
                original = self._original_of(s, [*ducked.values(), *gone])
                d = Ducked(s.idx, s.app, s.pid, s.name, original,
                           scaled(original, self.level_db), s.volume, restore_id=s.restore_id)
                ducked[s.idx] = d
                changed = True
            elif not d.held and not same_volume(s.volume, d.set_to):
                # The user moved it while ducked: that is the volume they want now.
                log.info("stream %d (%s): volume changed by the user while ducked; keeping it",
                         s.idx, s.app or s.name)
                d.original = d.set_to = s.volume
                d.lowest = scaled(s.volume, self.level_db)
                d.held = True
                changed = True
            if d.held:
                continue
            target = d.original if db >= 0 else scaled(d.original, db)
            if not same_volume(target, d.set_to) or not same_volume(s.volume, target):
                pending.append((s.idx, target))
        if changed:
            # Saved before anything is lowered: a crash from here on is recovered.
            write_state(self.state_path, list(ducked.values()))
        vanished = False
        for index, target in pending:
            if server.set_volume(index, target):
                ducked[index].set_to = target
                self.steps += 1
            else:
                forget_lowered(server, ducked.pop(index))
                vanished = True
        if db >= 0:
            ducked.clear()
            write_state(self.state_path, [])
        elif vanished:
            write_state(self.state_path, list(ducked.values()))
