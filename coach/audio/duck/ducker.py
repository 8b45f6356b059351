"""The Ducker: a thread of its own follows an Output's position and lowers every other playback
stream under each cue, following a pure DuckPlan (see the package's doc)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from coach.audio.duck.saved import Ducked, forget_lowered, recover, recovery_pending, state_file, write_state
from coach.audio.duck.server import (
    SAME_VOLUME,
    PulseConnection,
    Server,
    ServerGone,
    Stream,
    is_ours,
    same_volume,
    scaled,
)
from coach.core.duckplan import DuckPlan

# The package's lines read "coach.audio.duck: ..." whichever module logs, as they always have.
log = logging.getLogger("coach.audio.duck")

DEFAULT_LEVEL_DB = -12.0
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


class Positioned(Protocol):
    """What the ducker reads of an Output (coach.audio.player.Output has all three)."""

    @property
    def position(self) -> int: ...

    @property
    def insert_position(self) -> int | None: ...

    @property
    def state(self) -> str: ...


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
            pending = recovery_pending(self.state_path)
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
