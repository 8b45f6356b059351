"""The Ducker: a thread of its own lowers every other playback stream under each cue, following
a pure DuckPlan (see the package's doc), and is supervised: a sound server that goes away is
reconnected to with back-off, a failure restarts the work with back-off (three and ducking is
off), and every part that is off or degraded is one line in ``problem`` (and once in the log).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coach.audio.duck.follow import Follower, Positioned
from coach.audio.duck.saved import Ducked, recover, recovery_pending, state_file, write_state
from coach.audio.duck.server import PulseConnection, Server, ServerGone
from coach.core.duckplan import DuckPlan, Steps

# The package's lines read "coach.audio.duck: ..." whichever module logs, as they always have.
log = logging.getLogger("coach.audio.duck")

DEFAULT_LEVEL_DB = -12.0
# The ducker acts this far ahead of the position on a fade down, besides its own measured
# wake-up lateness. None is needed here: the Player's position is counted back from the host's
# DAC time, and a sink-input's volume change is heard within the sink's own latency (~10-30 ms
# here, with rewinds). bench/bench_duck.py with 0: fade start -135 ms (plan -150), full depth
# at -13 ms, back 216 ms after the clip (plan 200); with the old static-latency position it
# took a 150 ms lead and still moved 60-100 ms early.
LEAD_MS = 0
RECOVERY_WAIT_S = 5.0
STEP_DB = 2.0  # fades move in steps of at most this (-12 dB: 6 steps each way)
BACKOFF_S = (0.5, 30.0)  # reconnects and restarts wait this long, doubling up to the second
MAX_FAILURES = 3  # unexpected failures of the thread before ducking is off for this session
# The thread asks for real-time scheduling (lowest priority: below the sound server's and the
# audio callback's) so that it wakes on time beside busy loops, else a higher nice value; a
# user without the right (RLIMIT_RTPRIO, RLIMIT_NICE: 0 by default) gets neither, and its fades
# down are sent early by its measured lateness instead (see follow.py).
RT_PRIORITY = 1
NICE = -10
# After said(): how long the thread looks at the output every step gap for the insert to
# begin (the next audio block: ~20 ms at 1024 frames, more under load), ~33 looks at most.
INSERT_WATCH_S = 0.5


@dataclass
class _Run:
    output: Positioned
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    server: Server | None = None  # while connected (wake() reaches it)


def _name_thread(name: str) -> None:
    """The OS's name of this thread (top, /proc/PID/task/TID/comm: the bench finds it)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def raise_priority() -> str:
    """This thread to SCHED_FIFO, else to a lower nice value, if allowed; what it got."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        return f"SCHED_FIFO {RT_PRIORITY}"
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        return f"nice {NICE}"
    return "normal"


class Ducker:
    """Lowers every other playback stream while the coach speaks (see the module's doc).

    ``start(output)`` follows ``output`` from a thread of its own; ``stop()`` restores every
    lowered stream at once and ends that thread (both return within ``timeout``, ~ms in
    practice). ``plan`` may be replaced at any time (one assignment: clips that arrived while
    playing have their real lengths). ``off`` is set while it does not duck (no sound server,
    or given up after failures); ``problem`` says why, or what is degraded, in one line.
    """

    def __init__(self, plan: DuckPlan, level_db: float = DEFAULT_LEVEL_DB, *,
                 state_path: Path | None = None, lead_ms: int = LEAD_MS,
                 connect: Callable[[], Server] = PulseConnection, realtime: bool = True) -> None:
        if level_db > 0:
            raise ValueError(f"duck level must be negative dB, not {level_db}")
        self.level_db = float(level_db)
        self.n_steps = max(1, round(-self.level_db / STEP_DB))  # the depth in equal steps
        self._plan = Steps(plan, self.n_steps)
        # The latest insert's words ("resuming… 3, 2, 1", a rating's echo, "30 more seconds"),
        # in the insert's own frames, followed by the output's insert_position.
        self._insert: Steps | None = None
        # Until then (monotonic) the thread looks at the output every step gap: the insert
        # just said is not begun yet (see said()).
        self.insert_watch_until = 0.0
        # While set (a command window's mic is open), the full depth whatever the plans say,
        # paused too: then the thread runs for the hold alone (_for_hold) on the last output.
        self._held = False
        self._output: Positioned | None = None
        self._for_hold = False
        self.step_db = -self.level_db / self.n_steps
        self.state_path = state_path if state_path is not None else state_file()
        self.lead_s = lead_ms / 1000
        self.realtime = realtime
        self._connect = connect
        self.off = threading.Event()
        # Guards _run (and its server) and _problems; never held while talking to the server
        # but for wake()'s one write to a pipe.
        self._lock = threading.Lock()
        self._run: _Run | None = None
        self._recovered = False
        self._problems: dict[str, str] = {}
        self._failures = 0
        self._given_up = False
        self.steps = 0  # volume changes made (bench, tests)
        self.priority = ""  # what scheduling its thread got (bench)

    # -- the session thread's side -------------------------------------------------------------

    @property
    def plan(self) -> DuckPlan:
        return self._plan.plan

    @plan.setter
    def plan(self, plan: DuckPlan) -> None:
        self._plan = Steps(plan, self.n_steps)  # one assignment: the thread reads it whole
        self._wake()

    @property
    def insert_plan(self) -> DuckPlan | None:
        ins = self._insert
        return ins.plan if ins is not None else None

    def start(self, output: Positioned) -> None:
        """Follow ``output``'s position from now on (restarting the thread if it ran)."""
        if self._given_up:
            return
        self.stop()
        self._output = output
        run = _Run(output)
        run.thread = threading.Thread(target=self._thread, args=(run,), name="coach-duck",
                                      daemon=True)
        with self._lock:
            self._run = run
        run.thread.start()

    def said(self, plan: DuckPlan | None) -> None:
        """An insert was just given to the output: lower the music under its words too (None:
        the output dropped it). The output begins it at its next audio block, and until then
        reports the last insert's position: the thread looks again every step gap for
        INSERT_WATCH_S instead of sleeping up to a second (found: the music went down 981-994
        ms after the insert's first frame, after short words such as "3, 2, 1" had ended)."""
        self._insert = Steps(plan, self.n_steps) if plan is not None else None
        if plan is not None:
            self.insert_watch_until = time.monotonic() + INSERT_WATCH_S
        self._wake()

    def hold(self, on: bool) -> None:
        """Keep the music at the full depth (``on``: the mic is open for a spoken command, at
        any time, so the music it hears is lowered too), or let it follow the plans again;
        the fades are the thread's steps (one per STEP_GAP_S). Stopped (the session paused),
        the thread runs for the hold alone and stops again when it is let go. Called every
        tick: only a change does anything."""
        if on == self._held:
            return
        self._held = on
        if on and not self.running and self._output is not None:
            self.start(self._output)
            self._for_hold = True
        elif not on and self._for_hold:
            self.stop()  # paused again: the music back at once
        else:
            self._wake()

    @property
    def held(self) -> bool:
        return self._held

    def stop(self, timeout: float = 1.0) -> None:
        """Restore every stream we lowered now and end the thread (waits at most ``timeout``:
        a thread still talking to a slow server restores on its own when it gets through)."""
        self._for_hold = False
        with self._lock:
            run, self._run = self._run, None
            run_server = run.server if run is not None else None
            if run is not None:
                run.stop.set()
                if run_server is not None:
                    run_server.wake()
        if run is None:
            return
        if run.thread is not None and run.thread is not threading.current_thread():
            run.thread.join(timeout)

    @property
    def running(self) -> bool:
        with self._lock:
            return self._run is not None

    @property
    def problem(self) -> str | None:
        """What is off or degraded, one line (None when all is well)."""
        with self._lock:
            return "; ".join(self._problems.values()) or None

    def _wake(self) -> None:
        with self._lock:
            if self._run is not None and self._run.server is not None:
                self._run.server.wake()

    # -- the plan ------------------------------------------------------------------------------

    def wanted(self, pos: int, insert_pos: int | None, lead: int) -> tuple[int, int | None]:
        """The step wanted at source frame ``pos`` (and ``insert_pos`` frames into the latest
        insert), the deeper of the plans, looking ``lead`` frames ahead for a fade down only;
        and in how many frames it next changes (None: never)."""
        if self._held:
            return self.n_steps, None  # until let go (hold() wakes the thread)
        tracks = [(self._plan, pos)]
        ins = self._insert
        if ins is not None and insert_pos is not None:
            tracks.append((ins, insert_pos))
        seen = [(steps, p, *steps.at(p), *steps.at(p + lead)) for steps, p in tracks]
        k = max(max(kp, ka) for _, _, kp, _, ka, _ in seen)
        nxt = None
        for steps, p, kp, fp, ka, fa in seen:
            # Deeper: the look-ahead gets there first. Shallower: when what holds the step at k
            # lets go (the position itself on a fade up: never early).
            for f, x in ((steps.next_deeper(p + lead, k), p + lead),
                         (fp if kp == k else None, p),
                         (fa if ka == k and kp < k else None, p + lead)):
                if f is not None and (nxt is None or f - x < nxt):
                    nxt = f - x
        return k, nxt

    # -- the thread ----------------------------------------------------------------------------

    def _thread(self, run: _Run) -> None:
        _name_thread("coach-duck")
        if self.realtime:
            self.priority = raise_priority()
            log.debug("ducker thread: %s", self.priority)
        backoff = BACKOFF_S[0]
        while not run.stop.is_set():
            try:
                server = self._connect()
            except ServerGone as e:
                self._down("server", f"ducking is off: {e} (cues still play; retrying)")
            except Exception as e:  # a bug in connecting: counted as a failure
                if self._failed(e):
                    return
            else:
                if self._follow(run, server):
                    return
            if run.stop.wait(backoff):
                return
            backoff = min(2 * backoff, BACKOFF_S[1])

    def _follow(self, run: _Run, server: Server) -> bool:
        """One connection's work until stopped (True) or the server goes or it fails (False:
        try again after the back-off; True too when it gave up)."""
        follower = Follower(self, run.output, run.stop, server)
        with self._lock:
            run.server = server
        try:
            self._up()
            self._recover(server)
            follower.run()
            follower.restore()
            return True
        except ServerGone as e:
            # The server is gone (and our lowered volumes with its streams): the file stays
            # for the next connection or start, which restores what is still there.
            self._down("server", f"ducking is off: {e} (cues still play; reconnecting)")
            return run.stop.is_set()
        except Exception as e:
            with contextlib.suppress(Exception):
                follower.restore()
            return self._failed(e) or run.stop.is_set()
        finally:
            with self._lock:
                run.server = None
            server.close()

    def _recover(self, server: Server) -> None:
        """At each connection: what a crash (or a server that went away) left lowered."""
        if not self._recovered:
            pending = recovery_pending(self.state_path)
            if pending is not None:
                pending.wait(RECOVERY_WAIT_S)  # the daemon's start is giving volumes back
            self._recovered = True
        recover(server, self.state_path)

    # -- health --------------------------------------------------------------------------------

    def _down(self, part: str, line: str) -> None:
        """Not ducking now: one warning per outage, and the line in ``problem``."""
        with self._lock:
            new = part not in self._problems
            self._problems[part] = line
        self.off.set()
        if new:
            log.warning("%s", line)

    def _up(self) -> None:
        with self._lock:
            was = self._problems.pop("server", None)
        self.off.clear()
        if was is not None:
            log.info("ducking is on again: connected to the sound server")

    def _failed(self, e: Exception) -> bool:
        """An unexpected exception in the thread: one line with its cause (the traceback at
        debug), then a restart after the back-off, or after MAX_FAILURES ducking is off for
        this Ducker. True when it gave up."""
        self._failures += 1
        log.debug("the ducker failed", exc_info=e)
        cause = f"{type(e).__name__}: {e}"
        if self._failures < MAX_FAILURES:
            log.error("the ducker failed (%s); restarting it", cause)
            return False
        self._given_up = True
        line = f"ducking is off: the ducker failed {self._failures} times (last: {cause})"
        with self._lock:
            self._problems["failed"] = line
        self.off.set()
        log.error("%s; cues still play", line)
        return True

    def save(self, entries: Sequence[Ducked]) -> None:
        """The saved volumes now list ``entries``. A state dir that is full or read-only costs
        the crash recovery, not the ducking: one warning, and ``problem`` says so until a
        later write succeeds."""
        try:
            write_state(self.state_path, entries)
        except OSError as e:
            line = (f"ducking: cannot save the lowered volumes in {self.state_path} "
                    f"({e.strerror or e}): a crash now would leave the music lowered")
            with self._lock:
                new = "state" not in self._problems
                self._problems["state"] = line
            if new:
                log.warning("%s", line)
            return
        if entries:
            with self._lock:
                was = self._problems.pop("state", None)
            if was is not None:
                log.info("the lowered volumes are saved again in %s", self.state_path)
