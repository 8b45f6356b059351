"""The daemon's parts in-process: a Daemon whose real session thread runs in the background,
with the real library, clip worker and history (SQLite) and the DummyPlayer as the output, whose
clock the test moves (and, with a SimClock, the session thread's monotonic clock with it).
Driven like the control socket drives it (``call``)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from coach.audio.dummy import DummyFactory, DummyPlayer
from coach.core.timeline import Phase
from coach.daemon.app import TICK_S, Daemon
from coach.daemon.running import Session
from coach.protocol.codec import answer_json
from coach.protocol.messages import Ping
from coach.store.history import History
from tests.support.coachd import ROW_DAY

PROGRAM = ROW_DAY  # Row set 1: work 6-18, rest 18-28; set 2 starts at 28 s

_shared_cache: Path | None = None


def shared_clip_cache() -> Path:
    """One clip cache for every Rig of a test run, as a daemon keeps one: each text is
    synthesized once, not once a test (its key covers engine, voice, rate and text). A test
    about a cold cache passes its own ``cache_dir``."""
    global _shared_cache
    if _shared_cache is None:
        _shared_cache = Path(tempfile.mkdtemp(prefix="coach-test-clips-"))
        atexit.register(shutil.rmtree, _shared_cache, ignore_errors=True)
    return _shared_cache


class SimClock:
    """A monotonic clock that the test moves forward (real time passes in it too): the time a
    session coaches and pauses, measured on it, is the simulated time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Rig:
    """A Daemon whose session thread runs in the background, driven like the socket does.

    Two clocks are the test's: the output's (``play_s`` moves the DummyPlayer) and the
    daemon's monotonic clock (``later`` moves it ahead: rescans, the rating window's close,
    reconnect tries). ``clock`` replaces the wall clock (schedules, history times); other
    keywords go to the Daemon (``tz``, ``warm``...)."""

    def __init__(self, tmp: Path, name: str = "rig", clock: Any = None,
                 history_path: Path | None = None, busy_timeout: float | None = None,
                 cache_dir: Path | None = None, monotonic: SimClock | None = None,
                 **daemon_kw: Any) -> None:
        self.programs = tmp / "programs"
        self.programs.mkdir(exist_ok=True)
        hkw = {"busy_timeout": busy_timeout} if busy_timeout is not None else {}
        self.history = History(history_path or tmp / "history.sqlite3", **hkw)
        self.factory: DummyFactory = DummyPlayer.factory(preroll_ms=0)
        kw = {"clock": clock} if clock is not None else {}
        self.offset = 0.0  # how far the test moved the daemon's monotonic clock (later, ticks)
        self.sim = monotonic  # a SimClock: play_s moves it too (coached time is simulated time)
        self.ticks = 0
        self._ticked = threading.Condition()
        self.d = Daemon(self.programs, history=self.history, output_factory=self.factory,
                        cache_dir=cache_dir or shared_clip_cache(), monotonic=self.monotonic,
                        **{"warm": False, **kw, **daemon_kw})
        self.d.on_tick = self._on_tick
        self.thread = threading.Thread(target=self.run, name=f"session-{name}", daemon=True)
        self.crashed = False

    def monotonic(self) -> float:
        return (self.sim() if self.sim is not None else time.monotonic()) + self.offset

    def _on_tick(self) -> None:
        with self._ticked:
            self.ticks += 1
            self._ticked.notify_all()

    def run(self) -> None:
        self.d.run()

    def __enter__(self) -> Rig:
        self.d.begin()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.crashed:
            return
        self.d.stop_soon()
        self.thread.join(10)
        self.d.shutdown()
        self.history.close()

    def crash(self) -> None:
        """The process dies: nothing is stopped or recorded as ended."""
        self.crashed = True
        self.d.stopping.set()
        self.d.stop_soon()
        self.thread.join(10)
        self.d.preparer.close()
        self.history.close()

    def call(self, cmd: str, **kw: Any) -> dict:
        return answer_json(self.d.handle, {"cmd": cmd, **kw})

    def status(self) -> dict:
        return self.call("status")

    def wait_for(self, pred, what: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        st: dict = {}
        while time.monotonic() < deadline:
            st = self.status()
            if pred(st):
                return st
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}: {st}")

    def clips_made(self, timeout: float = 60) -> None:
        """Until the session's clips are all made. Playing starts once the worker stays ahead,
        not when it is done: an insert's words ("30 more seconds", a rating's echo) are made
        last and left out of an insert until then (never waited for); on a loaded machine
        that is seconds after "playing"."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.d.controller.session
            if s is not None and s.clips_done and not s.mixer.missing:
                return
            time.sleep(0.02)
        raise AssertionError(f"the session's clips were not all made within {timeout} s")

    @property
    def player(self) -> DummyPlayer:
        p = self.factory.last
        assert p is not None
        return p

    def wait_ticks(self, n: int = 2, timeout: float = 10) -> None:
        """Until the session thread has finished ``n`` more ticks: the second one began after
        this call, so it saw whatever the test changed before it. Each tick is brought on at
        once: the daemon's clock moves a tick period ahead (as it would have by waiting) and
        a ping wakes the session thread, which ticks right after answering it."""
        for _ in range(n):
            with self._ticked:
                before = self.ticks
            self.offset += TICK_S
            self.d.handle(Ping())
            with self._ticked:
                if not self._ticked.wait_for(lambda b=before: self.ticks > b, timeout):
                    raise AssertionError(f"the session thread did not tick within {timeout} s")

    def play_s(self, seconds: float) -> dict:
        """Advance the output by ``seconds`` and let the session thread see it (a tick); a
        SimClock moves with it."""
        if self.sim is not None:
            self.sim.advance(seconds)
        self.player.advance_ms(seconds * 1000)
        self.wait_ticks()
        return self.status()

    def play_to(self, t_s: float, step: float | None = None) -> dict:
        """Play on to ``t_s`` of the session, in steps of at most ``step`` seconds (None: at
        once), past any insert that holds the timeline (a rating's echo: its words play while
        the position stands); sooner if the session ends."""
        st = self.status()
        for _ in range(1000):
            if st["state"] == "idle" or st["position"] >= t_s:
                return st
            ahead = t_s - st["position"]
            st = self.play_s(ahead if step is None else min(step, ahead))
        raise AssertionError(f"the session never reached {t_s} s: {st}")

    def start(self, program: str) -> dict:
        """Start ``program`` (a file in ``programs``, loaded) and wait until it plays."""
        assert self.call("start", program=program)["ok"]
        return self.wait_for(lambda s: s["state"] == "playing", "playing")

    @property
    def session(self) -> Session:
        s = self.d.controller.session
        assert s is not None, "no session"
        return s

    def answer_phases(self) -> list[Phase]:
        """The session's answer phases (a rating's window after a set or side), in order."""
        return [p for p in self.session.resolved.timeline.phases if p.phase == "answer"]

    def stored_ratings(self) -> list[tuple]:
        """The newest session's ratings in history: (set, side, question, value), sorted."""
        [session] = self.history.recent(1)
        return sorted((r.set_no, r.side, r.question, r.value) for r in session.ratings)

    def later(self, seconds: float) -> dict:
        """Move the daemon's monotonic clock ``seconds`` ahead and let the session thread see it."""
        self.offset += seconds
        self.wait_ticks()
        return self.status()
