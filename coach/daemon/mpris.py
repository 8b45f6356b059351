"""The daemon as an MPRIS media player on the user's session bus: `org.mpris.MediaPlayer2.coach`.

A Bluetooth headset's buttons reach a desktop's (or a Pi's `mpris-proxy`'s) MPRIS player, and
`playerctl`, phone remotes and music widgets talk MPRIS. This part is one thread running an
asyncio loop with a dbus-fast connection. Like the keys and the GPIO button it only posts
requests through ``handler`` (``Daemon.handle``), always from an executor thread, so the loop
never blocks on the session thread; it learns the session's state by asking ``status`` every
0.5 s and emits ``PropertiesChanged`` when what a player shows has changed.

No session bus (no ``DBUS_SESSION_BUS_ADDRESS`` and no ``$XDG_RUNTIME_DIR/bus``), or the name
owned by another process: one log line, and the part stays off; the daemon works on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from dbus_fast import BusType, NameFlag, RequestNameReply, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_method, dbus_property, dbus_signal

from coach.daemon.looppart import LoopPart
from coach.protocol import messages as protocol  # protocol.Pause(): the Player's methods share their names
from coach.protocol.messages import Failed, GetStatus, Reply, Request, Status

log = logging.getLogger(__name__)

Handler = Callable[[Request], Reply]
BUS_NAME = "org.mpris.MediaPlayer2.coach"
OBJECT_PATH = "/org/mpris/MediaPlayer2"
ROOT_IFACE = "org.mpris.MediaPlayer2"
PLAYER_IFACE = "org.mpris.MediaPlayer2.Player"
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
POLL_S = 0.5  # how often `status` is asked
SEEK_JUMP_US = 1_500_000  # a position this far from where time alone would put it: Seeked

# The session's state → MPRIS PlaybackStatus ("preparing" is a start the lifter asked for).
PLAYBACK = {"idle": "Stopped", "preparing": "Playing", "playing": "Playing", "paused": "Paused"}

F = TypeVar("F", bound=Callable[..., Any])


def dbus_types(*args: str, returns: str = "") -> Callable[[F], F]:
    """The D-Bus signature of each argument and of the result, for dbus-fast (which reads them
    from the annotations); the function keeps its Python annotations for the type checker."""

    def give(fn: F) -> F:
        names = [n for n in fn.__code__.co_varnames[1:fn.__code__.co_argcount]]
        assert len(names) == len(args), f"{fn.__name__}: {names} vs {args}"
        fn.__annotations__ = {**dict(zip(names, args)), "return": returns}
        return fn

    return give


def session_bus_address(env: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """The user's session bus, as the D-Bus spec finds it: the environment, else the systemd
    user bus in the runtime dir. None: there is none."""
    addr = env.get("DBUS_SESSION_BUS_ADDRESS")
    if addr:
        return addr
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        return f"unix:path={os.path.join(runtime, 'bus')}"
    return None


def track_id(st: Status) -> str:
    if st.state == "idle" or st.exercise_index is None:
        return NO_TRACK
    return f"/org/coach/set/{st.exercise_index}_{st.set}"


def title(st: Status) -> str:
    t = f"{st.exercise}, set {st.set} of {st.sets}"
    return f"{t}, {st.side}" if st.side else t


def metadata(st: Status) -> dict[str, Variant]:
    """What a player shows of a status reply: the set as the track, the program as the album.
    The length is the set's (announce to the next set); in a rest between sets, the session's."""
    tid = track_id(st)
    if tid == NO_TRACK:
        return {"mpris:trackid": Variant("o", NO_TRACK)}
    if st.phase == "rest" or st.set_start is None or st.set_end is None:
        length_s = st.duration or 0.0
    else:
        length_s = st.set_end - st.set_start
    return {"mpris:trackid": Variant("o", tid),
            "xesam:title": Variant("s", title(st)),
            "xesam:album": Variant("s", st.program or ""),
            "xesam:artist": Variant("as", ["coach"]),
            "mpris:length": Variant("x", round(length_s * 1_000_000))}


def _plain(meta: dict[str, Variant]) -> dict[str, tuple[str, Any]]:
    """Metadata as comparable values (Variant has no useful equality in every version)."""
    return {k: (v.signature, v.value) for k, v in meta.items()}


class _Root(ServiceInterface):
    """The root interface (methods and properties keep their D-Bus names)."""

    def __init__(self) -> None:
        super().__init__(ROOT_IFACE)

    @dbus_method()
    @dbus_types()
    def Raise(self) -> None:
        """CanRaise is false: there is no window."""

    @dbus_method()
    @dbus_types()
    def Quit(self) -> None:
        """CanQuit is false: the daemon is stopped by systemd, not by a remote."""

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="b")
    def CanQuit(self) -> bool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="b")
    def CanRaise(self) -> bool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="b")
    def HasTrackList(self) -> bool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="s")
    def Identity(self) -> str:
        return "coach"

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="s")
    def DesktopEntry(self) -> str:
        return "coach"

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="as")
    def SupportedUriSchemes(self) -> list[str]:
        return []

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="as")
    def SupportedMimeTypes(self) -> list[str]:
        return []


class _Player(ServiceInterface):
    """The Player interface: methods post a request and return at once; properties read the
    last status the poll saw (on the loop's thread, like everything here)."""

    def __init__(self, part: Mpris) -> None:
        super().__init__(PLAYER_IFACE)
        self.part = part

    @property
    def st(self) -> Status:
        return self.part.last

    @dbus_method()
    @dbus_types()
    def PlayPause(self) -> None:
        self.part.send(protocol.Toggle())

    @dbus_method()
    @dbus_types()
    def Play(self) -> None:
        # Idle with an interrupted session, resume restarts it (Daemon.dispatch); idle with
        # none, the daemon answers "no session is running" and nothing happens.
        self.part.send(protocol.Resume())

    @dbus_method()
    @dbus_types()
    def Pause(self) -> None:
        self.part.send(protocol.Pause())

    @dbus_method()
    @dbus_types()
    def Next(self) -> None:
        self.part.send(protocol.Skip())

    @dbus_method()
    @dbus_types()
    def Previous(self) -> None:
        self.part.send(protocol.Back())

    @dbus_method()
    @dbus_types()
    def Stop(self) -> None:
        self.part.send(protocol.Stop())

    @dbus_method()
    @dbus_types("x")
    def Seek(self, offset: int) -> None:
        """CanSeek is false: a session moves by sets (Next, Previous), not by seconds."""

    @dbus_method()
    @dbus_types("o", "x")
    def SetPosition(self, track: str, position: int) -> None:
        """CanSeek is false (see Seek)."""

    @dbus_method()
    @dbus_types("s")
    def OpenUri(self, uri: str) -> None:
        """SupportedUriSchemes is empty: programs are started by name (`coach start`)."""

    @dbus_signal()
    @dbus_types(returns="x")
    def Seeked(self) -> int:
        return self.part.position_us()

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="s")
    def PlaybackStatus(self) -> str:
        return PLAYBACK.get(self.st.state, "Stopped")

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="a{sv}")
    def Metadata(self) -> dict[str, Variant]:
        return metadata(self.st)

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="x")
    def Position(self) -> int:
        return self.part.position_us()

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="d")
    def Rate(self) -> float:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="d")
    def MinimumRate(self) -> float:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="d")
    def MaximumRate(self) -> float:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="d")
    def Volume(self) -> float:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="b")
    def CanGoNext(self) -> bool:
        return self.st.state != "idle"

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="b")
    def CanGoPrevious(self) -> bool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="b")
    def CanPlay(self) -> bool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="b")
    def CanPause(self) -> bool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="b")
    def CanSeek(self) -> bool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    @dbus_types(returns="b")
    def CanControl(self) -> bool:
        return True


class _Closing(Exception):
    """The part is closing: a request's reply is no longer waited for."""


class Mpris(LoopPart):
    """The MPRIS part: ``start(handler)`` / ``close()`` like the keys and the GPIO button."""

    thread_name = "coach-mpris"
    label = "MPRIS"
    failed = "the player failed; media remotes on the session bus are off"

    def __init__(self, *, poll_s: float = POLL_S, address: str | None = None) -> None:
        super().__init__(log)  # active: the name is ours and the object exported
        self.poll_s = poll_s
        self.address = address  # None: the user's session bus (session_bus_address)
        self.last = Status()  # the last status reply (idle at first); read and written on the loop
        self._polled_at = 0.0
        self._handler: Handler | None = None
        self._poke: asyncio.Event | None = None
        # One worker: requests reach the session thread in the order they arrived, and a
        # status asked after a request sees it done.
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task] = set()  # requests in flight (the loop keeps no reference)

    # --- lifecycle (the daemon's main thread) -----------------------------------------------

    def start(self, handler: Handler) -> None:
        self._handler = handler
        # Made here, not on the thread: a close() right after start() still reaches it.
        self._poke = asyncio.Event()
        self._start_loop()

    def close(self) -> None:
        self._close_loop()

    async def _main(self) -> None:
        address = self.address or session_bus_address()
        if address is None:
            log.warning("MPRIS: no session bus (DBUS_SESSION_BUS_ADDRESS unset, no "
                        "$XDG_RUNTIME_DIR/bus); media remotes on the bus are off")
            return
        try:
            bus = await MessageBus(bus_address=address, bus_type=BusType.SESSION).connect()
        except Exception as e:
            log.warning("MPRIS: cannot connect to the session bus %s (%s); media remotes on "
                        "the bus are off", address, e)
            return
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="coach-mpris")
        try:
            player = _Player(self)
            bus.export(OBJECT_PATH, _Root())
            bus.export(OBJECT_PATH, player)
            reply = await bus.request_name(BUS_NAME, NameFlag.DO_NOT_QUEUE)
            if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
                log.warning("MPRIS: %s is owned by another process; media remotes on the bus "
                            "are off", BUS_NAME)
                return
            try:
                await self._poll_once()  # the first properties anyone reads are real
            except _Closing:
                return
            self.active = True
            self.ready.set()
            log.info("MPRIS: %s on the session bus", BUS_NAME)
            await self._poll(bus, player)
        finally:
            self.active = False
            bus.disconnect()
            try:
                await asyncio.wait_for(bus.wait_for_disconnect(), 1.0)
            except Exception:  # closed is closed; how it ended does not matter here
                pass
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _ask(self, req: Request) -> Reply:
        """The daemon's reply, from the executor; at close, ``_Closing`` at once instead (the
        session thread ends first, so a request then waits its whole timeout)."""
        assert self._loop is not None and self._pool is not None and self._handler is not None
        assert self._stop is not None
        reply = self._loop.run_in_executor(self._pool, self._handler, req)
        stop: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait([reply, stop], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not reply.done():
            raise _Closing
        return reply.result()

    async def _poll_once(self) -> tuple[Reply, float]:
        """The status now (kept in ``last``), and the previous one's position estimate."""
        assert self._loop is not None
        before = self.position_us()
        st = await self._ask(GetStatus())
        if isinstance(st, Status):
            self.last = st
            self._polled_at = self._loop.time()
        return st, before

    async def _poll(self, bus: MessageBus, player: _Player) -> None:
        assert self._stop is not None and self._poke is not None
        shown = self._shown()
        while not self._stop.is_set():
            stop = asyncio.ensure_future(self._stop.wait())
            poke = asyncio.ensure_future(self._poke.wait())
            await asyncio.wait([stop, poke], timeout=self.poll_s,
                               return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            poke.cancel()
            if self._stop.is_set():
                return
            self._poke.clear()
            try:
                _, expected = await self._poll_once()
            except _Closing:
                return
            except Exception:
                log.exception("MPRIS: status failed")
                continue
            now = self._shown()
            changed = {k: v for k, v in now.items() if v != shown.get(k)}
            if changed:
                player.emit_properties_changed(
                    {k: (metadata(self.last) if k == "Metadata" else v)
                     for k, v in changed.items()})
            if abs(self.position_us() - expected) > SEEK_JUMP_US:
                player.Seeked()  # skip and back jump: a client's progress bar follows
            shown = now

    def _shown(self) -> dict[str, Any]:
        """What PropertiesChanged reports: the status, the track, whether Next can go."""
        st = self.last
        return {"PlaybackStatus": PLAYBACK.get(st.state, "Stopped"),
                "Metadata": _plain(metadata(st)),
                "CanGoNext": st.state != "idle"}

    def position_us(self) -> int:
        """Microseconds into the session: the last status's position, plus the time since it
        was asked while playing (clients extrapolate the same way between reads)."""
        st = self.last
        pos = st.position
        if st.state == "playing" and self._loop is not None and self._polled_at:
            pos += min(max(0.0, self._loop.time() - self._polled_at), self.poll_s * 2)
        return round(pos * 1_000_000)

    def send(self, req: Request) -> None:
        """A remote's request: posted from the executor (the loop never waits on the session
        thread), then a poll at once so the new state is announced."""
        assert self._loop is not None

        async def go() -> None:
            try:
                reply = await self._ask(req)
            except _Closing:
                return
            except Exception:
                log.exception("MPRIS: %s failed", req.verb)
                return
            if isinstance(reply, Failed):
                log.info("MPRIS: %s: %s", req.verb, reply.error)
            else:
                log.info("MPRIS: %s", req.verb)
            if self._poke is not None:
                self._poke.set()

        task = self._loop.create_task(go())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
