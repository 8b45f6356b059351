"""The daemon's parts in-process: a Daemon whose real session thread runs in the background,
with the real library, clip worker and history (SQLite) and the DummyPlayer as the output, whose
clock the test moves (and, with a SimClock, the session thread's monotonic clock with it).
Driven like the control socket drives it (``call``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coach.audio.dummy import DummyFactory, DummyPlayer
from coach.daemon.app import Daemon
from coach.protocol.codec import answer_json
from coach.store.history import History
from tests.support.coachd import ROW_DAY

PROGRAM = ROW_DAY  # Row set 1: work 6-18, rest 18-28; set 2 starts at 28 s


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
    """A Daemon whose session thread runs in the background, driven like the socket does."""

    def __init__(self, tmp: Path, name: str = "rig", clock: Any = None,
                 history_path: Path | None = None,
                 monotonic: Callable[[], float] | None = None) -> None:
        self.programs = tmp / "programs"
        self.programs.mkdir(exist_ok=True)
        self.history = History(history_path or tmp / "history.sqlite3")
        self.factory: DummyFactory = DummyPlayer.factory(preroll_ms=0)
        kw: dict[str, Any] = {"clock": clock} if clock is not None else {}
        if monotonic is not None:
            kw["monotonic"] = monotonic
        self.monotonic = monotonic
        self.d = Daemon(self.programs, history=self.history, output_factory=self.factory,
                        cache_dir=tmp / "cache", warm=False, **kw)
        self.thread = threading.Thread(target=self.run, name=f"session-{name}", daemon=True)
        self.crashed = False

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

    @property
    def player(self) -> DummyPlayer:
        p = self.factory.last
        assert p is not None
        return p

    def play_s(self, seconds: float) -> dict:
        """Advance the output by ``seconds`` and let the session thread see it (a tick); a
        SimClock moves with it."""
        if isinstance(self.monotonic, SimClock):
            self.monotonic.advance(seconds)
        self.player.advance_ms(seconds * 1000)
        time.sleep(0.25)  # two ticks of the session thread
        return self.status()
