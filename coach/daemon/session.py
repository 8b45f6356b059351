"""The session controller: the one running session, its output and its history, moved only by
the session thread. Its parts: the start rule and the clips' order (prepare.py), its history
rows (record.py), its rating window (rating.py), its status (status.py), ducking (ducking.py).

A start answers at once: the session is ``preparing`` while its clips are made (by the clip
worker, in the order they are heard) and starts playing as soon as what lies ahead is ready
and the worker, at the speed it has shown, stays ahead of the play head. A cue is never played
late or skipped to catch up: when synthesis cannot keep up, the session waits before it
starts, never during it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

import numpy as np

from coach.audio.pipeline import SpokenInsert, build_mixer, first_use_ms, spoken_insert
from coach.audio.player import Output
from coach.core.duckplan import DuckPlan
from coach.core.mixer import Mixer
from coach.core.navigation import (
    EXTEND_MS,
    back_target,
    can_extend,
    cue_start_at_or_before,
    extend_words,
    rating_words,
    resume_words,
    skip_target,
)
from coach.core.types import RATING_MAX, Question, SessionEnd, SessionState
from coach.daemon.clips import ClipJob, ClipPreparer, ClipReady, JobDone
from coach.daemon.ducking import DuckerFactory, Ducking, duck_plan
from coach.daemon.prepare import can_start, clip_order
from coach.daemon.protocol import Failed, Rated, Status
from coach.daemon.rating import Rateable, RatingWindow
from coach.daemon.record import SessionRecord
from coach.daemon.schedules import system_clock
from coach.daemon.status import session_status
from coach.store.history import History
from coach.store.programs import Resolved

log = logging.getLogger(__name__)

OutputFactory = Callable[[], Output]

RECONNECT_S = 2.0  # how often a lost audio output is tried again


@dataclass
class Session:
    resolved: Resolved
    start_ms: int  # where playback begins in the timeline
    job: ClipJob
    mixer: Mixer
    record: SessionRecord  # its rows in the history, the set the position is in
    clips: dict[str, np.ndarray] = field(default_factory=dict)
    per_char_s: float | None = None  # the worker's measured cost, None until a clip was made
    output: Output | None = None  # opened at start; playing once the clips allow
    playing: bool = False  # play() was called
    pause_asked: bool = False  # paused while preparing: plays paused
    insert_on_play: Literal["resume", None] = None
    lost_at_ms: int | None = None  # the audio output died here; the session waits to resume
    next_retry: float = 0.0
    clips_done: bool = False
    rating: RatingWindow = field(default_factory=RatingWindow)
    first: frozenset[str] = frozenset()  # words said before the timeline (resume): waited for
    ducker: Ducking | None = None  # lowers other streams under cues while playing

    @property
    def name(self) -> str:
        return self.resolved.program.name


class SessionController:
    """Owned by the session thread: every method is called from it, none blocks on synthesis."""

    def __init__(self, output_factory: OutputFactory, preparer: ClipPreparer,
                 history: History | None = None, rate: int = 48000,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = system_clock,
                 ducker_factory: DuckerFactory | None = None) -> None:
        self.output_factory = output_factory
        self.ducker_factory = ducker_factory
        self.preparer = preparer
        self.history = history
        self.rate = rate
        self.monotonic = monotonic
        self.wall = wall
        self.session: Session | None = None
        self.last_error: str | None = None  # why the last start did not play

    # --- start and stop ---------------------------------------------------------------------

    def start(self, resolved: Resolved, at_ms: int = 0, force: bool = False,
              resumed: bool = False, resumed_from: int | None = None) -> Status | Failed:
        if self.session is not None and not force:
            return Failed(f"a session of {self.session.name!r} is running; "
                         "stop it first or use --force")
        tl = resolved.timeline
        at_ms = max(0, min(at_ms, tl.duration_ms))
        # The output first: a missing device is the answer to this start, and a Bluetooth
        # headset wakes up while the clips are made.
        output = self.output_factory()
        try:
            output.open()
        except Exception as e:  # NoOutputDevice, PortAudioError
            output.stop()
            log.error("cannot start %s: %s", resolved.program.name, e)
            return Failed(str(e))
        if self.session is not None:
            self.stop("stopped")
        first, texts = clip_order(tl, at_ms, resolved.program.words, resumed)
        job = ClipJob(resolved.stem, tl, texts, "session")
        mixer = build_mixer(tl, {}, rate=self.rate, pending=True)
        s = Session(resolved, at_ms, job, mixer, SessionRecord(self.history, self.wall),
                    output=output, insert_on_play="resume" if resumed else None,
                    first=frozenset(first))
        self.session = s
        self.last_error = None
        self.preparer.set_busy(True)
        self.preparer.submit(job)
        s.record.begin(resolved, resumed_from)
        log.info("session: %s from %.3f s: preparing %d clips", s.name, at_ms / 1000,
                 len(job.texts))
        return self.status()

    def stop(self, status: SessionEnd) -> None:
        s = self.session
        if s is None:
            return
        self.session = None
        self.preparer.cancel(s.job)
        self.preparer.set_busy(False)
        pos = self.position_ms()
        if s.ducker is not None:
            s.ducker.stop()  # every lowered stream back at once
        try:
            if s.output is not None:
                s.output.stop()
        finally:
            s.record.end(pos, status)
        log.info("session: %s %s", s.name, status)

    # --- clips arriving from the worker ---------------------------------------------------

    def on_clip(self, msg: ClipReady) -> None:
        s = self.session
        if s is None or msg.job_id != s.job.id:
            return
        s.clips[msg.text] = msg.samples
        if msg.text in s.mixer.missing:
            s.mixer.fill(msg.text, msg.samples)
        if not msg.cached:
            per_char = msg.seconds / max(4, len(msg.text))
            s.per_char_s = max(per_char, s.per_char_s or 0.0)
        if not s.playing and self._can_play(s):
            self._play(s)
        elif s.ducker is not None:
            s.ducker.plan = self._duck_plan(s)

    def on_job_done(self, msg: JobDone) -> None:
        s = self.session
        if s is None or msg.job_id != s.job.id:
            return
        s.clips_done = True
        if s.ducker is not None:
            s.ducker.plan = self._duck_plan(s)
        if msg.error is not None:
            log.error("%s: the voice failed: %s", s.name, msg.error)
            if not s.playing:
                self.last_error = f"voice: {msg.error}"
                self.stop("stopped")
                return
        if not s.playing:
            self._play(s)

    def _can_play(self, s: Session) -> bool:
        missing = [t for t in s.job.texts if t in s.mixer.missing or
                   (t in s.first and t not in s.clips)]
        return can_start(missing, first_use_ms(s.resolved.timeline, s.start_ms), s.start_ms,
                         int(getattr(s.output, "preroll_ms", 0)), s.per_char_s, s.first)

    def _play(self, s: Session) -> None:
        assert s.output is not None
        insert = None
        if s.insert_on_play == "resume":
            insert = self._resume_insert(s, s.start_ms)
        try:
            s.output.play(s.mixer, start_frame=s.start_ms * self.rate // 1000,
                          insert=insert.samples if insert is not None else None)
        except Exception as e:  # the device went away while the clips were made
            log.error("cannot play %s: %s", s.name, e)
            self.last_error = str(e)
            self.stop("stopped")
            return
        s.playing = True
        if self.ducker_factory is not None:
            s.ducker = self.ducker_factory(self._duck_plan(s))
            if insert is not None:
                s.ducker.said(insert.duck)
        if s.pause_asked:
            s.output.pause()
        elif s.ducker is not None:
            s.ducker.start(s.output)
        missing = len(s.mixer.missing)
        log.info("session: %s playing from %.3f s (%d clips still being made)", s.name,
                 s.start_ms / 1000, missing)
        self._track(s, s.start_ms)

    def _duck_plan(self, s: Session) -> DuckPlan:
        return duck_plan(s.resolved.timeline, s.mixer, self.rate)

    # --- the tick: end of session, history, lost output --------------------------------------

    def tick(self) -> None:
        s = self.session
        if s is None or not s.playing or s.output is None:
            return
        if s.lost_at_ms is not None or s.output.lost.is_set():
            self._recover(s)
            return
        out = s.output
        if out.state == "idle" and out.wait(0):
            # Played out: the sets up to the end are recorded before the session closes (a
            # tick may not have seen the last set start).
            self._track(s, self.position_ms())
            if out.error is not None:
                log.error("%s: playback failed: %s", s.name, out.error)
            self.stop("completed")
            return
        pos = self.position_ms()
        self._track(s, pos)
        self._answer_windows(s, pos)
        self._watch_deadlines(s, pos)
        s.record.save_position(pos, self.monotonic())

    def _watch_deadlines(self, s: Session, pos: int) -> None:
        # The start rule keeps every clip ahead of the play head; if a machine slowed down
        # so much that one is still missing when its cue is rendered, say so once.
        if not s.mixer.missing or s.clips_done:
            return
        uses = first_use_ms(s.resolved.timeline, pos)
        late = [t for t in s.mixer.missing if uses.get(t, -1) < pos + 1000 and t in uses]
        for t in late:
            log.warning("clip %r not ready for its cue at %.1f s: the voice is slower than it "
                        "was when the session started", t[:40], uses[t] / 1000)
            s.mixer.missing.discard(t)  # once

    def _recover(self, s: Session) -> None:
        """The audio output died (server restarted, headset gone): hold the session where it
        was, try a new stream every RECONNECT_S, and go on from the cue that was cut."""
        t = self.monotonic()
        assert s.output is not None
        if s.lost_at_ms is None:
            s.lost_at_ms = self._frame_ms(s.output.position)
            s.next_retry = t + RECONNECT_S
            log.warning("audio output lost at %.1f s of %s; the session waits and retries every "
                        "%g s", s.lost_at_ms / 1000, s.name, RECONNECT_S)
            s.record.position(s.lost_at_ms)
            if s.ducker is not None:
                s.ducker.stop()
            s.output.stop()
            return
        if t < s.next_retry:
            return
        s.next_retry = t + RECONNECT_S
        target = cue_start_at_or_before(s.resolved.timeline, s.lost_at_ms)
        output = self.output_factory()
        words = self._resume_insert(s, target)
        try:
            output.open()
            output.play(s.mixer, start_frame=target * self.rate // 1000, insert=words.samples)
        except Exception as e:  # NoOutputDevice, PortAudioError: still gone
            log.debug("audio output still unavailable: %s", e)
            output.stop()
            return
        log.info("audio output back: resuming %s at %.1f s", s.name, target / 1000)
        s.output, s.lost_at_ms = output, None
        if s.ducker is not None:
            s.ducker.said(words.duck)
            s.ducker.start(output)

    # --- commands ---------------------------------------------------------------------------

    def pause(self) -> Status | Failed:
        s = self._need()
        if s.lost_at_ms is not None:
            return self.status()
        if not s.playing:
            s.pause_asked = True
        elif s.output is not None and s.output.state == "playing":
            s.output.pause()
            if s.ducker is not None:
                s.ducker.stop()  # paused: the music comes back at once
        return self.status()

    def resume(self) -> Status | Failed:
        s = self._need()
        if s.lost_at_ms is not None:
            s.next_retry = 0.0  # try the output again now
            self._recover(s)
            return self.status()
        if not s.playing:
            s.pause_asked = False
        elif s.output is not None and s.output.state == "paused":
            self._say(s, self._resume_insert(s, self.position_ms()))
            if s.ducker is not None:
                s.ducker.start(s.output)
        return self.status()

    def toggle(self) -> Status | Failed:
        s = self._need()
        if s.playing and s.lost_at_ms is None and \
                s.rating.tap(s.resolved.timeline, self.position_ms(), self.monotonic()):
            return self.status()
        paused = s.pause_asked if not s.playing else (
            s.output is not None and s.output.state == "paused")
        return self.resume() if paused or s.lost_at_ms is not None else self.pause()

    def skip(self) -> Status | Failed:
        s = self._need()
        return self._seek(s, skip_target(s.resolved.timeline, self.position_ms()), "skip")

    def back(self) -> Status | Failed:
        s = self._need()
        return self._seek(s, back_target(s.resolved.timeline, self.position_ms()), "back")

    def extend(self) -> Status | Failed:
        s = self._need()
        if s.lost_at_ms is not None:
            return self.status()
        if not s.playing or not can_extend(s.resolved.timeline, self.position_ms()):
            return Failed("extend works during a rest")
        assert s.output is not None
        words = extend_words(s.resolved.timeline, s.resolved.program.words)
        insert = spoken_insert(words, s.clips, s.resolved.timeline, self.rate, min_ms=EXTEND_MS)
        if s.output.state != "paused":
            s.output.pause()
        self._say(s, insert)
        return self.status()

    # --- ratings ----------------------------------------------------------------------------

    def _answer_windows(self, s: Session, pos: int) -> None:
        """Open a window when an answer phase plays; close one 2 s after its last tap."""
        taps = s.rating.closed(self.monotonic())
        if taps is not None:
            self._record(s, taps.target, taps.question, min(taps.count, RATING_MAX), echo=True)
        s.rating.follow(s.resolved, s.record.set_row, pos)

    def rate_set(self, value: int, question: Question | None = None) -> Rated | Failed:
        s = self._need()
        answer = s.rating.answer(question)
        if answer is None:
            return Failed("no set is waiting for a rating (a set is rated from its rating "
                         "question until the next set starts)")
        target, q = answer
        self._record(s, target, q, value, echo=False)
        return Rated(target.exercise, target.set_no, target.side, q, value)

    def _record(self, s: Session, target: Rateable, question: Question, value: int,
                echo: bool) -> None:
        s.record.rate(target, question, value)
        if echo and s.output is not None and s.output.state == "playing":
            # "four": said at once, in the rest (the rest lasts that much longer).
            insert = spoken_insert(rating_words(s.resolved.timeline, value), s.clips,
                                   s.resolved.timeline, self.rate)
            s.output.pause()
            self._say(s, insert)

    def _seek(self, s: Session, target_ms: int, why: Literal["skip", "back"]) -> Status:
        target_ms = min(target_ms, s.resolved.timeline.duration_ms)
        if not s.playing:
            s.start_ms = target_ms  # a session still preparing starts there
        elif s.lost_at_ms is not None:
            s.lost_at_ms = target_ms  # where the session goes on once the output is back
        elif s.output is not None:
            s.output.seek(target_ms * self.rate // 1000)
            if s.ducker is not None:
                s.ducker.said(None)  # a jump drops what was being inserted
        if s.playing:
            self._track(s, target_ms, why)
        return self.status()

    def _need(self) -> Session:
        if self.session is None:
            raise LookupError("no session is running")
        return self.session

    def _resume_insert(self, s: Session, pos_ms: int) -> SpokenInsert:
        words = resume_words(s.resolved.timeline, pos_ms, s.resolved.program.words)
        return spoken_insert(words, s.clips, s.resolved.timeline, self.rate,
                             beat_after_last_ms=1000)

    def _say(self, s: Session, insert: SpokenInsert) -> None:
        """Play ``insert`` from the paused output, the music lowered under its words."""
        assert s.output is not None
        s.output.resume(insert=insert.samples)
        if s.ducker is not None:
            s.ducker.said(insert.duck)

    # --- position, history, status ----------------------------------------------------------

    def _frame_ms(self, frame: int) -> int:
        return frame * 1000 // self.rate

    def position_ms(self) -> int:
        s = self.session
        if s is None:
            return 0
        if s.lost_at_ms is not None:
            return s.lost_at_ms
        if not s.playing or s.output is None:
            return s.start_ms
        return self._frame_ms(s.output.position)

    def state(self) -> SessionState:
        s = self.session
        if s is None:
            return "idle"
        if s.lost_at_ms is not None:
            return "paused"
        if not s.playing or s.output is None:
            return "preparing"
        return "paused" if s.output.state == "paused" else "playing"

    def _track(self, s: Session, pos_ms: int, why: str = "") -> None:
        """Keep history's current set in step with the position; a set's rating window
        closes when the next set starts."""
        if s.record.track(s.resolved, pos_ms, why):
            s.rating.next_set(s.record.set_index)

    def status(self) -> Status:
        """The session's status (when idle, the daemon adds its own parts: Daemon.status)."""
        s = self.session
        if s is None:
            return Status(self.state(), error_last_start=self.last_error or None)
        prepared = (None if s.playing else
                    (sum(1 for t in s.job.texts if t in s.clips), len(s.job.texts)))
        st = session_status(self.state(), s.name, s.resolved.timeline, self.position_ms(),
                            s.lost_at_ms is not None, prepared)
        return replace(st, problems=self.problems())

    def problems(self) -> list[str]:
        """The session's parts that are off or degraded, a line each (`status`'s problems)."""
        s = self.session
        problem = s.ducker.problem if s is not None and s.ducker is not None else None
        return [problem] if problem else []
