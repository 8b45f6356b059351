"""The daemon: assembles its parts and runs the session thread.

One thread owns the session (this module's ``Daemon.run``). Every other thread, the control
socket's connections, the headset keys, the GPIO button and the clip worker, only posts a
typed message to its inbox; a request's poster waits for the reply with a timeout. The
session thread never synthesizes and never holds a lock while doing I/O, so its tick (end of
session, history, schedules, rescans, the systemd watchdog ping) is never late behind a voice.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

from coach.audio.listen.engines import recognizer
from coach.audio.pipeline import speech_texts
from coach.audio.player import Output
from coach.core.duckplan import DuckPlan
from coach.core.errors import CoachError
from coach.core.navigation import extra_texts
from coach.core.program import VoiceSettings
from coach.core.progression import describe_progress
from coach.core.records import SENT, InterruptedSession, RatedBy
from coach.core.timeline import compile_program
from coach.core.types import ListenEngine
from coach.daemon import asked
from coach.daemon.clips import ClipJob, ClipPreparer, ClipReady, JobDone
from coach.daemon.ducking import DuckerFactory, Ducking
from coach.daemon.inbox import REPLY_TIMEOUT_S, Call, Inbox, Message, Wake
from coach.daemon.library import ProgramLibrary
from coach.daemon.listening import Listener, listen_ms
from coach.daemon.remedy import KeptRemedies
from coach.daemon.schedules import Clock, Schedules, system_clock
from coach.daemon.session import OutputFactory, SessionController
from coach.protocol.messages import (
    AskStop,
    Back,
    Extend,
    Failed,
    GetStatus,
    HowLong,
    Interrupted,
    Listen,
    NotNow,
    OneToFive,
    Pause,
    Ping,
    Pong,
    ProgramInfo,
    ProgramList,
    Programs,
    Rate,
    Reload,
    Reloaded,
    Repeat,
    Reply,
    Request,
    Resume,
    SayAgain,
    SetEnded,
    Skip,
    Start,
    Status,
    Stop,
    Stopped,
    Toggle,
)
from coach.store.config import Network
from coach.store.history import History
from coach.store.programs import Resolved, with_progress
from coach.store.remedies import remedies_path
from coach.store.writer import HistoryWriter

if TYPE_CHECKING:
    from coach.daemon.mqtt import MqttBridge  # paho is imported only when mqtt: is configured

log = logging.getLogger(__name__)

TICK_S = 0.1  # the session thread's period: end of session, history, schedules, watchdog
RESCAN_S = 2.0  # how often the programs directory is looked at for changes
CLOCK_STEP_S = 2.0  # a wall-clock jump larger than this between two ticks is a step
# An interruption this recent (the last position written this long ago) is resumed by the
# restarted daemon by itself: the lifter is still standing there, mid-set, with no screen.
AUTO_RESUME_S = 120.0


def _default_output_factory(device: str | int | None, rate: int, blocksize: int,
                            preroll_ms: int) -> OutputFactory:
    def make() -> Output:
        from coach.audio.player import Player
        return Player(device=device, rate=rate, blocksize=blocksize, preroll_ms=preroll_ms)
    return make


def _ducker_factory(level_db: float | None) -> DuckerFactory | None:
    """Config `duck:`: a Ducker per session at that level; None when ducking is off."""
    if level_db is None:
        return None

    def make(plan: DuckPlan) -> Ducking:
        from coach.audio.duck import Ducker
        return Ducker(plan, level_db)
    return make


class Daemon:
    """The parts, wired: library, schedules, clip worker, session controller, inbox."""

    def __init__(self, programs_dir: Path, *, history: History | None = None,
                 output_factory: OutputFactory | None = None, device: str | int | None = None,
                 rate: int = 48000, blocksize: int = 1024, preroll_ms: int = 500,
                 tz: str | None = None, misfire_grace_s: int = 600,
                 cache_dir: Path | None = None, clock: Clock = system_clock,
                 monotonic: Callable[[], float] = time.monotonic,
                 warm: bool = True, voice_defaults: VoiceSettings | None = None,
                 duck_db: float | None = None, listener: Listener | None = None) -> None:
        self.history = history
        # Every write goes through the writer: stored, or held while the history cannot take
        # it and retried on the tick (the session thread's, as every history write).
        self.writer = HistoryWriter(history, monotonic) if history is not None else None
        self.listener = listener  # the mic windows (config `listen:`); None: off
        self.monotonic = monotonic
        self.clock = clock
        self.warm = warm
        self.inbox = Inbox()
        self.stopping = threading.Event()
        self.library = ProgramLibrary(programs_dir, voice_defaults)
        self.schedules = Schedules(clock, tz, misfire_grace_s)
        self.preparer = ClipPreparer(self.inbox.post, rate=rate, cache_dir=cache_dir)
        factory = output_factory or _default_output_factory(device, rate, blocksize, preroll_ms)
        kept = KeptRemedies(remedies_path(history.path) if history is not None else None)
        self.controller = SessionController(factory, self.preparer, self.writer, rate=rate,
                                            monotonic=monotonic, wall=clock,
                                            ducker_factory=_ducker_factory(duck_db), kept=kept,
                                            listen_ms=listen_ms(listener))
        self.interrupted: InterruptedSession | None = (
            history.interrupted() if history is not None else None)
        # Parts that say when they are off or degraded (status's problems), and those told of
        # each set that ended (from the session thread: they must not block).
        self.problem_sources: list[Callable[[], str | None]] = []
        self.set_listeners: list[Callable[[SetEnded], None]] = []
        self.controller.on_set_ended = self._set_ended
        if listener is not None:
            self.controller.on_said = listener.coach_says
            self.problem_sources.append(listener.problem)
        self._last_scan = -RESCAN_S
        self._last_wall = clock()
        self._last_mono = monotonic()
        self.on_tick: Callable[[], None] | None = None  # the watchdog ping, in run_daemon

    # --- any thread -------------------------------------------------------------------------

    def handle(self, request: Request, timeout: float = REPLY_TIMEOUT_S) -> Reply:
        """A request from any thread (socket, keys, button, MPRIS): posted, answered."""
        return self.inbox.call(request, timeout)

    def stop_soon(self) -> None:
        """From a signal handler or another thread: end ``run`` at its next message."""
        self.stopping.set()
        self.inbox.post(Wake())

    # --- the session thread -----------------------------------------------------------------

    def begin(self) -> None:
        """Load the programs and start the clip worker (before the socket answers)."""
        self.preparer.start()
        self._rescan()

    def run(self) -> None:
        """The session thread's loop, until ``stop_soon``."""
        next_tick = self.monotonic()
        while not self.stopping.is_set():
            msg = self.inbox.get(next_tick - self.monotonic())
            if msg is not None:
                self._message(msg)
            if self.monotonic() >= next_tick:
                self.tick()
                next_tick = self.monotonic() + TICK_S

    def _message(self, msg: Message) -> None:
        if isinstance(msg, Call):
            try:
                msg.reply = self.dispatch(msg.request)
            except Exception as e:  # a bug must cost one request, never the session thread
                log.exception("%s failed", msg.request.verb)
                msg.reply = Failed(f"internal error: {type(e).__name__}: {e}")
            msg.done.set()
        elif isinstance(msg, ClipReady):
            self.controller.on_clip(msg)
        elif isinstance(msg, JobDone):
            self.controller.on_job_done(msg)

    def tick(self) -> None:
        self.controller.tick()
        if self.writer is not None:
            self.writer.retry()  # history that stopped writing: tried again, with back-off
        if self.listener is not None:
            self.listener.follow(*self.controller.phase_now())
            self.controller.hold_music(self.listener.command_pending or
                                       asked.saying_into_pause(self.controller))
        wall, mono = self.clock(), self.monotonic()
        step = (wall - self._last_wall).total_seconds() - (mono - self._last_mono)
        if abs(step) > CLOCK_STEP_S:
            # Cues run on the audio clock and do not move; schedules are looked at every tick.
            log.warning("the wall clock stepped by %+.1f s; sessions play on, schedules "
                        "re-checked", step)
        self._last_wall, self._last_mono = wall, mono
        for slot in self.schedules.due():
            log.info("schedule: starting %s (slot %s)", slot.stem, slot.key)
            reply = self.dispatch(Start(slot.stem, slot=slot.key))
            if isinstance(reply, Failed):
                log.warning("schedule: %s not started: %s", slot.stem, reply.error)
        if mono - self._last_scan >= RESCAN_S:
            self._rescan()
        if self.on_tick is not None:
            self.on_tick()

    def _rescan(self) -> list[str]:
        self._last_scan = self.monotonic()
        change = self.library.scan()
        for stem in change.changed:
            self.schedules.set_program(stem, self.library.schedules(stem))
        if self.warm:
            for stem in change.loaded:
                entry = self.library.entries[stem]
                assert entry.timeline is not None and entry.program is not None
                tl = entry.timeline
                texts = speech_texts(tl) + extra_texts(tl, entry.program.words,
                                                       self.listener is not None)
                self.preparer.submit(ClipJob(stem, tl, list(dict.fromkeys(texts)), "warm"))
        return list(change.changed)

    def dispatch(self, req: Request) -> Reply:
        """One request, on the session thread; a status says what is off or degraded."""
        reply = self._dispatch(req)
        if not isinstance(reply, Status):
            return reply
        return replace(reply, problems=[*reply.problems, *self.problems()])

    def problems(self) -> list[str]:
        """One line for every part that is off or degraded (empty when all is well): the
        history, and every part that says so (the MQTT bridge...); the session's own (a stalled
        output) come with its status."""
        history = self.writer.problem if self.writer is not None else None
        return ([history] if history is not None else []) + [
            p for source in self.problem_sources if (p := source())]

    def _dispatch(self, req: Request) -> Reply:
        c = self.controller
        try:
            if c.session is None and req.needs_session:
                if isinstance(req, (Resume, Toggle)) and self.interrupted is not None:
                    # The headset's play key brings back an interrupted session at its set.
                    return self.resume_interrupted()
                return Failed("no session is running")
            match req:
                case Ping():
                    return Pong(os.getpid())
                case GetStatus():
                    return self.status()
                case Start():
                    return self._start(req)
                case Reload():
                    changed = self._rescan()
                    return Reloaded(sorted(self.library.entries), changed, self.library.errors())
                case Programs():
                    return ProgramList({
                        stem: ProgramInfo(e.program.name if e.program else None, str(e.path),
                                          e.error)
                        for stem, e in sorted(self.library.entries.items())},
                        str(self.library.programs_dir))
                case Pause():
                    return c.pause()
                case Resume():
                    return c.resume()
                case Toggle():
                    return c.toggle()
                case Skip():
                    return c.skip()
                case Rate():
                    by = SENT if req.heard is None else RatedBy("voice", req.heard, req.confidence)
                    return c.rate_set(req.value, req.question, by)
                case Listen():
                    if self.listener is None:
                        return Failed("listening is off: set `listen: {source: NAME}` in "
                                      "config.yaml (README, \"Answering aloud\")")
                    self.listener.command_window()
                    return replace(self.status(), listening=True)
                case (Back() | Extend() | Repeat() | HowLong() | AskStop() | NotNow() | SayAgain()
                      | OneToFive()):
                    return asked.ANSWERS[type(req)](c)
                case Stop():
                    return Stopped(not_saved=c.stop("stopped"))
                case _:
                    assert_never(req)
        except CoachError as e:
            return Failed(str(e))
        except LookupError as e:
            return Failed(e.args[0] if e.args else str(e))

    def _start(self, req: Start) -> Status | Failed:
        c = self.controller
        if c.session is not None and not req.force:
            return Failed(f"a session of {c.session.name!r} is running; "
                         "stop it first or use --force")
        # Everything that can fail comes before a running session is stopped.
        resolved = self._today(self.library.resolve(req.program))
        reply = c.start(resolved, force=req.force)
        if isinstance(reply, Status):
            self.interrupted = None  # a new session supersedes it (history marks it)
        return reply

    def _today(self, resolved: Resolved) -> Resolved:
        """The program with today's progression from its history, said in the log."""
        resolved, notes = with_progress(resolved, self.history)
        for line in describe_progress(notes):
            log.info("progress: %s", line)
        return resolved

    def _set_ended(self, ev: SetEnded) -> None:
        for listener in self.set_listeners:
            listener(ev)

    def status(self) -> Status:
        st = self.controller.status()
        if self.listener is not None:
            st = replace(st, listening=self.listener.listening)
        if self.controller.session is not None:
            return st
        nxt = self.schedules.next()
        i = self.interrupted
        return replace(st, next=(f"{nxt.stem} at {nxt.at.isoformat(timespec='minutes')}"
                                 if nxt is not None else None),
                       interrupted=(Interrupted(i.program, i.program_path, i.exercise_index,
                                                i.set_no) if i is not None else None))

    # --- an interrupted session -------------------------------------------------------------

    def should_auto_resume(self, now: datetime) -> bool:
        """A fresh interruption (the lifter is still there) that is not a crash loop."""
        i = self.interrupted
        if i is None or i.updated_at is None:
            return False
        if (now - i.updated_at).total_seconds() > AUTO_RESUME_S:
            return False
        # A session that was itself a resume and crashed before finishing a set: a loop.
        return not (i.resumed_from is not None and i.sets_completed == 0)

    def resume_interrupted(self) -> Status | Failed:
        i = self.interrupted
        if i is None:
            return Failed("no interrupted session")
        stem = Path(i.program_path).stem
        name = stem if stem in self.library.entries else i.program_path
        if self.writer is not None:
            # Closed first: today's values are then the ones it used (it did not complete).
            self.writer.mark_interrupted(i.session_id, self.clock())
        try:
            resolved = self._today(self.library.resolve(name))
        except (CoachError, LookupError) as e:
            self.interrupted = None
            return Failed(f"cannot resume {i.program!r}: {e}")
        # The remedies it had, derived again: the plan it played, so that its sets start where
        # they did and the sets after them play (and are recorded) as they would have.
        changes = self.controller.kept.resumed(resolved.program, i.session_id)
        if changes:
            resolved = replace(resolved, timeline=compile_program(resolved.program, changes))
        at = i.start_ms if i.start_ms is not None else i.position_ms
        log.info("resuming interrupted session %s at %.1f s", i.program, at / 1000)
        reply = self.controller.start(resolved, at_ms=at, resumed=True,
                                      resumed_from=i.session_id, changes=changes)
        if isinstance(reply, Status):
            self.interrupted = None
        return reply

    def shutdown(self) -> None:
        if self.controller.session is not None:
            # A clean stop (SIGTERM) is not a crash: the session is recorded as stopped.
            self.controller.stop("stopped")
        if self.writer is not None:
            self.writer.close()  # one last try for what is held; what is lost is said
        self.preparer.close()


def run_daemon(programs_dir: Path, *, resume: bool = False, socket_path: Path | None = None,
               history_path: Path | None = None, device: str | int | None = None,
               tz: str | None = None, misfire_grace_s: int = 600, rate: int = 48000,
               blocksize: int = 1024, preroll_ms: int = 500,
               buttons: list[Any] | None = None,
               voice_defaults: VoiceSettings | None = None,
               duck_db: float | None = None,
               web_listen: tuple[str, int] | None = None,
               web_trusted_proxies: Sequence[Network] = (),
               mqtt: MqttBridge | None = None,
               listen_source: str | None = None,
               listen_engine: ListenEngine = "pocketsphinx") -> int:
    """The `coach daemon` main: parts up, socket up, READY=1, the session thread, teardown.
    ``web_listen``: (host, port) of the phone page (coach/daemon/web); None: off;
    ``web_trusted_proxies``: the reverse proxies whose X-Forwarded-For it believes. ``mqtt``:
    the Home Assistant bridge (coach/daemon/mqtt); None: off. ``listen_source``: the mic's
    PulseAudio/PipeWire source (spoken ratings); None: off; ``listen_engine``: its recogniser."""
    from coach.audio.duck import recover_in_background
    from coach.daemon import sdnotify
    from coach.daemon.control import ControlServer
    from coach.daemon.control import socket_path as default_socket
    from coach.daemon.malloc import pin_mmap_threshold
    from coach.protocol.codec import COMMANDS, answer_json

    pin_mmap_threshold()
    # Volumes a killed daemon left lowered come back now, ducking on or off (not at the first
    # session: the music may play for hours before one).
    recover_in_background()
    history = History(history_path)
    listener = (Listener(listen_source, partial(recognizer, listen_engine))
                if listen_source is not None else None)
    if listener is not None:
        listener.load()  # before the socket answers: never while a session plays
    d = Daemon(programs_dir, history=history, device=device, tz=tz, rate=rate,
               misfire_grace_s=misfire_grace_s, blocksize=blocksize, preroll_ms=preroll_ms,
               voice_defaults=voice_defaults, duck_db=duck_db, listener=listener)
    d.begin()  # programs and schedules before the socket answers: `status` shows the next start
    server = ControlServer(socket_path or default_socket(), partial(answer_json, d.handle),
                           commands=COMMANDS)
    try:
        server.start()
    except BaseException:
        d.shutdown()
        history.close()
        raise

    def on_signal(signum: int, frame: object) -> None:
        d.stop_soon()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    buttons = list(buttons or [])
    if web_listen is not None:
        # aiohttp and the page's files only when the page is configured.
        from coach.daemon.web.server import Place, WebServer
        buttons.append(WebServer(*web_listen, Place(programs_dir, history, voice_defaults),
                                 trusted_proxies=web_trusted_proxies))
    if listener is not None:
        buttons.append(listener)
    for b in buttons:
        b.start(d.handle)
    if mqtt is not None:
        d.problem_sources.append(mqtt.problem)
        d.set_listeners.append(mqtt.set_ended)
        mqtt.start(d.handle)
    if d.interrupted is not None:
        i = d.interrupted
        where = f"{i.set.exercise} set {i.set_no}" if i.set else f"{i.position_ms / 1000:.0f} s"
        if resume or d.should_auto_resume(d.clock()):
            log.info("session %r was interrupted at %s; resuming it", i.program, where)
            reply = d.resume_interrupted()
            if isinstance(reply, Failed):
                log.error("resume failed: %s", reply.error)
        else:
            log.warning("session %r was interrupted at %s; `coach resume` (or the headset's "
                        "play key) restarts it there", i.program, where)
    wd = sdnotify.watchdog_interval()
    last_wd = [time.monotonic()]

    def ping() -> None:
        # On the session thread: a frozen session thread is a frozen daemon, which systemd
        # must restart; it never waits on synthesis (the clip worker does that).
        t = time.monotonic()
        # Half the interval less a tick: the gap between pings stays at most half of it.
        if wd and t - last_wd[0] >= max(TICK_S, wd / 2 - TICK_S):
            sdnotify.watchdog()
            last_wd[0] = t

    d.on_tick = ping
    sdnotify.ready()
    sdnotify.status(f"{len(d.library.entries)} programs, socket {server.path}")
    log.info("coach daemon ready: %d programs, socket %s", len(d.library.entries), server.path)
    try:
        d.run()
    finally:
        sdnotify.stopping()
        for b in buttons:
            b.close()
        if mqtt is not None:
            mqtt.close()
        server.close()
        d.shutdown()
        history.close()
    return 0
