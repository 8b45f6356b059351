"""The session controller: the one running session, its output and its history, moved only by
the session thread. Its parts: prepare.py, record.py, rating.py, status.py, ducking.py.

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
from dataclasses import replace
from datetime import datetime
from typing import Literal

from coach.audio.pipeline import SpokenInsert, build_mixer, first_use_ms, spoken_insert
from coach.core.duckplan import DuckPlan
from coach.core.navigation import (
    Spoken,
    back_target,
    rating_words,
    resume_words,
    skip_target,
)
from coach.core.records import SENT, TAPPED, RatedBy
from coach.core.timeline import Phase, answer_open, locate
from coach.core.types import RATING_MAX, Question, SessionEnd, SessionState
from coach.daemon.clips import ClipJob, ClipPreparer, ClipReady, JobDone
from coach.daemon.ducking import DuckerFactory, duck_plan
from coach.daemon.prepare import can_start, clip_order, late_clips
from coach.daemon.rating import (
    QUESTION_TAIL_MS,
    Rateable,
    asked_now,
    nothing_to_rate,
    rateable,
)
from coach.daemon.record import NotSaved, Saved, SessionRecord
from coach.daemon.recover import OutputFactory, recover
from coach.daemon.remedy import Change, KeptRemedies, Switchable, ahead_job, replan
from coach.daemon.running import Session
from coach.daemon.schedules import system_clock
from coach.daemon.status import Extension, session_status
from coach.protocol.messages import Failed, Rated, SetEnded, Status
from coach.store.programs import Resolved
from coach.store.writer import HistoryWriter

log = logging.getLogger(__name__)


class SessionController:
    """Owned by the session thread: every method is called from it, none blocks on synthesis."""

    def __init__(self, output_factory: OutputFactory, preparer: ClipPreparer,
                 history: HistoryWriter | None = None, rate: int = 48000,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = system_clock,
                 ducker_factory: DuckerFactory | None = None,
                 kept: KeptRemedies | None = None, listen_ms: int = 0) -> None:
        self.output_factory = output_factory
        self.kept = kept or KeptRemedies(None)  # the remedies on disk, for a crash resume
        self.ducker_factory = ducker_factory
        self.listen_ms = listen_ms  # the mic's answer windows (0: off; "how long" made too)
        self.preparer = preparer
        self.history = history
        self.rate = rate
        self.monotonic = monotonic
        self.wall = wall
        self.session: Session | None = None
        self.last_error: str | None = None  # why the last start did not play
        self.on_set_ended: Callable[[SetEnded], None] | None = None  # never blocks
        # each insert's words' length (s) as it is said, for the mic's Listener; never blocks
        self.on_said: Callable[[float], None] | None = None

    # --- start and stop ---------------------------------------------------------------------

    def start(self, resolved: Resolved, at_ms: int = 0, force: bool = False,
              resumed: bool = False, resumed_from: int | None = None,
              changes: tuple[Change, ...] = ()) -> Status | Failed:
        """``changes``: remedies already in force (a resumed session's; in its timeline)."""
        if self.session is not None and not force:
            return Failed(f"a session of {self.session.name!r} is running; "
                         "stop it first or use --force")
        tl = resolved.timeline
        at_ms = max(0, min(at_ms, tl.duration_ms))
        # The output first: a missing device answers this start; a Bluetooth headset wakes meanwhile.
        output = self.output_factory()
        try:
            output.open()
        except Exception as e:  # NoOutputDevice, PortAudioError
            output.stop()
            log.error("cannot start %s: %s", resolved.program.name, e)
            return Failed(str(e))
        if self.session is not None:
            self.stop("stopped")
        first, texts = clip_order(tl, at_ms, resolved.program.words, resumed, self.listen_ms > 0)
        job = ClipJob(resolved.stem, tl, texts, "session")
        mixer = build_mixer(tl, {}, rate=self.rate, pending=True)
        s = Session(resolved, at_ms, job, mixer, SessionRecord(self.history, self.wall),
                    Switchable(mixer), output=output, first=frozenset(first),
                    insert_on_play="resume" if resumed else None, changes=changes,
                    ahead=ahead_job(resolved, changes, at_ms))
        self.session = s
        self.last_error = None
        self.preparer.set_busy(True)
        self.preparer.submit(job)
        if s.ahead is not None:  # its remedies' clips: after its own, while it plays
            self.preparer.submit(s.ahead)
        s.record.begin(resolved, resumed_from, at_ms, self.monotonic())
        if changes:
            s.record.replan(tl, changes)
            self.kept.keep(s.record.session_id, changes)
        log.info("session: %s from %.3f s: preparing %d clips", s.name, at_ms / 1000, len(job.texts))
        return self.status()

    def stop(self, how: SessionEnd) -> str | None:
        """End the session, played out ("completed") or stopped; why its end is not saved."""
        s = self.session
        if s is None:
            return None
        pos = self.position_ms()  # where it ended: read while the session is still current
        self._account(s)
        self.session = None
        self.preparer.cancel(s.job, s.ahead)
        self.preparer.set_busy(False)
        if s.ducker is not None:
            s.ducker.stop()  # every lowered stream back at once
        try:
            if s.output is not None:
                s.output.stop()
        finally:
            status = s.record.end(pos, how)
            self.kept.ended()
            self._ended(s)
        not_saved = s.record.not_saved()
        log.info("session: %s %s%s", s.name, status, f" (not saved: {not_saved})"
                 if not_saved else "")
        return not_saved

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
        self._account(s)
        insert = None
        if s.insert_on_play == "resume":
            insert = self._resume_insert(s, s.start_ms)
        try:
            s.output.play(s.source, start_frame=s.start_ms * self.rate // 1000,
                          insert=insert.samples if insert is not None else None,
                          silence=insert.silence if insert is not None else 0)
        except Exception as e:  # the device went away while the clips were made
            log.error("cannot play %s: %s", s.name, e)
            self.last_error = str(e)
            self.stop("stopped")
            return
        s.playing = True
        self._account(s)
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
        return duck_plan(s.resolved.timeline, s.mixer, self.rate, self.listen_ms)

    def hold_music(self, on: bool) -> None:
        """The music kept down while a command window's mic is open (``on``), or let go."""
        if self.session is not None and self.session.ducker is not None:
            self.session.ducker.hold(on)

    # --- the tick: end of session, history, lost output --------------------------------------

    def tick(self) -> None:
        s = self.session
        if s is None or not s.playing or s.output is None:
            return
        self._account(s)
        if s.lost_at_ms is not None or s.output.lost.is_set():
            self._recover(s)
            self._account(s)
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
        if s.extension is not None:
            s.extension.follow(out.insert_position)
        self._track(s, pos)
        self._answer_windows(s, pos)
        if s.mixer.missing and not s.clips_done:
            late_clips(s.mixer, s.resolved.timeline, pos)
        self._account(s)
        s.record.save_position(pos, self.monotonic())

    def _recover(self, s: Session) -> None:
        recover(s, self.monotonic(), self.rate, self.output_factory,
                lambda target: self._resume_insert(s, target))

    # --- commands ---------------------------------------------------------------------------

    def pause(self) -> Status | Failed:
        s = self._need()
        if s.lost_at_ms is not None:
            return self.status()
        self._account(s)
        if not s.playing:
            s.pause_asked = True
        elif s.output is not None and s.output.state == "playing":
            s.output.pause()
            if s.ducker is not None:
                s.ducker.stop()  # paused: the music comes back at once
        self._account(s)
        return self.status()

    def resume(self) -> Status | Failed:
        s = self._need()
        self._account(s)
        if s.lost_at_ms is not None:
            s.next_retry = 0.0  # try the output again now
            self._recover(s)
        elif not s.playing:
            s.pause_asked = False
        elif s.output is not None and s.output.state == "paused":
            self.say(s, self._resume_insert(s, self.position_ms()))
            if s.ducker is not None:
                s.ducker.start(s.output)
        self._account(s)
        return self.status()

    def toggle(self) -> Status | Failed:
        s = self._need()
        if s.playing and s.lost_at_ms is None and \
                s.rating.tap(s.answering(self.position_ms()), self.monotonic()):
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

    # --- ratings ----------------------------------------------------------------------------

    def _rateable(self, s: Session) -> Rateable | None:
        """Where a rating given now goes: the set or side whose work ended last, till the next."""
        a = s.record.rateable()
        return rateable(s.resolved, a.unit, a.row) if a is not None else None

    def _answer_windows(self, s: Session, pos: int) -> None:
        """Open a tap window when an answer phase plays; close one 2 s after its last tap."""
        taps = s.rating.closed(self.monotonic())
        if taps is not None:
            self._record(s, taps.target, taps.question, min(taps.count, RATING_MAX), TAPPED)
        s.rating.follow(s.answering(pos), self._rateable(s))

    def rate_set(self, value: int, question: Question | None = None,
                 by: RatedBy = SENT) -> Rated | Failed:
        """A rating sent on the socket (not read back) or heard by the mic (read back: "four")."""
        s = self._need()
        if s.playing:
            self._track(s, self.position_ms())  # a side that ended since the last tick
        target = self._rateable(s)
        if target is None:
            a = s.record.current()
            return Failed(nothing_to_rate(a.unit if a is not None else None))
        asked = asked_now(s.answering(self.position_ms()), target)
        q = question or asked or next(iter(target.questions), None)
        if q is None:
            return Failed(f"{target.exercise} asks no rating (its program has no rate: key); "
                          "give the question: coach rate N --question feel")
        s.rating.answered(target, q)
        saved = self._record(s, target, q, value, by)
        if isinstance(saved, NotSaved):
            return Failed(f"not saved: {saved.reason}")
        return Rated(target.exercise, target.set_no, target.side, q, value, saved.was)

    def _record(self, s: Session, target: Rateable, question: Question, value: int,
                by: RatedBy, say: bool = True) -> Saved | NotSaved:
        saved = s.record.rate(target, question, value, by)
        if say and (echo := by.echo) and s.output is not None and s.output.state == "playing":
            # "Split squat, set 1 of 2. left side. four" ("four. left side" when heard; "not
            # saved" when it was not): said at once, in the rest (the rest lasts that much
            # longer), from clips prepared with the session.
            self.say_now(s, rating_words(s.resolved.timeline, value, target.set_index,
                                         target.side, s.resolved.program.words,
                                         isinstance(saved, Saved), echo))
        if isinstance(saved, Saved) and question == "feel" and s.playing:
            self._remedy(s, target, value)
        return saved

    def _remedy(self, s: Session, target: Rateable, feel: int) -> None:
        """A feel that brings (or ends) a remedy: the plan recompiled, its source swapped."""
        r = replan(s.resolved, s.changes, s.clips, target, feel, self.position_ms(), self.rate)
        if r is None:
            return
        self.preparer.cancel(s.job)
        s.job, s.clips_done, s.changes, s.resolved, s.mixer = r.job, False, r.changes, \
            r.resolved, r.mixer
        s.source.swap(r.mixer)
        s.record.replan(r.resolved.timeline, r.changes)
        self.kept.keep(s.record.session_id, r.changes)
        self.preparer.submit(r.job)
        if s.ducker is not None:
            s.ducker.plan = self._duck_plan(s)
        log.info("session: %s: %s", s.name, r.change.words)

    def _seek(self, s: Session, target_ms: int, why: Literal["skip", "back"]) -> Status:
        target_ms = min(target_ms, s.resolved.timeline.duration_ms)
        before = self.position_ms()  # where the set playing was cut
        if not s.playing:
            s.start_ms = target_ms  # a session still preparing starts there
        elif s.lost_at_ms is not None:
            s.lost_at_ms = target_ms  # where the session goes on once the output is back
        elif s.output is not None:
            s.output.seek(target_ms * self.rate // 1000)
            if s.ducker is not None:
                s.ducker.said(None)  # a jump drops what was being inserted
        if s.playing and s.record.seek(before, target_ms, why):
            self._next_unit(s)
        self._ended(s)
        return self.status()

    def _need(self) -> Session:
        if self.session is None:
            raise LookupError("no session is running")
        return self.session

    def _resume_insert(self, s: Session, pos_ms: int) -> SpokenInsert:
        words = resume_words(s.resolved.timeline, pos_ms, s.resolved.program.words)
        return spoken_insert(words, s.clips, s.resolved.timeline, self.rate,
                             beat_after_last_ms=1000)

    def say_now(self, s: Session, words: Spoken) -> bool:
        """Say ``words`` now (the timeline holds); an extended rest keeps what is left of its
        extra time after them (a read-back dropped it). False: no clip of them is made."""
        assert s.output is not None
        pos = self.position_ms()
        idx, _ = locate(s.resolved.timeline, pos)
        held_ms = 0
        if s.extension is not None:
            s.extension.follow(s.output.insert_position)
            held_ms = s.extension.left_ms(idx, pos)
        insert = spoken_insert(words, s.clips, s.resolved.timeline, self.rate, min_ms=held_ms)
        if not insert.samples.size:
            return False
        before = s.output.insert_position
        s.output.pause()
        self.say(s, insert)
        if held_ms and idx is not None:
            s.extension = Extension(idx, pos, len(insert.samples) + insert.silence, self.rate,
                                    before)
        return True

    def said(self, insert: SpokenInsert) -> None:
        """``insert``'s words begin now (for the mic: ``on_said``)."""
        if self.on_said is not None and insert.samples.size:
            self.on_said(insert.samples.size / self.rate)

    def say(self, s: Session, insert: SpokenInsert) -> None:
        """Play ``insert`` from the paused output, the music lowered under its words."""
        assert s.output is not None
        s.extension = None  # any insert replaces the one playing, an extension's too
        s.output.resume(insert=insert.samples, silence=insert.silence)
        self.said(insert)
        if s.ducker is not None:
            s.ducker.said(insert.duck)

    # --- position, history, status ----------------------------------------------------------

    def position_ms(self) -> int:
        s = self.session
        if s is None:
            return 0
        if s.lost_at_ms is not None:
            return s.lost_at_ms
        if not s.playing or s.output is None:
            return s.start_ms
        return s.output.position * 1000 // self.rate

    def state(self) -> SessionState:
        s = self.session
        if s is None:
            return "idle"
        if s.lost_at_ms is not None:
            return "paused"
        if not s.playing or s.output is None:
            return "preparing"
        return "paused" if s.output.state == "paused" else "playing"

    def _track(self, s: Session, pos_ms: int) -> None:
        """Keep history's current set (side) in step with the position as played."""
        if s.record.observe(pos_ms):
            self._next_unit(s)
        self._ended(s)

    def _ended(self, s: Session) -> None:
        """Each set (side) closed, to the listener (after _next_unit: its taps are rated)."""
        for ev in s.record.take_closed(s.name):
            if self.on_set_ended is not None:
                self.on_set_ended(ev)

    def _next_unit(self, s: Session) -> None:
        """A new set or side began: the last one's rating window closed (its taps rate it)."""
        taps = s.rating.next_unit()
        if taps is not None:
            self._record(s, taps.target, taps.question, min(taps.count, RATING_MAX), TAPPED, say=False)

    def _account(self, s: Session) -> None:
        """The time coached and paused: looked at before and after every change of state."""
        s.record.account(self.monotonic(), self.state())

    def phase_now(self) -> tuple[Phase | None, bool]:
        """The phase playing now (an answer phase from its question's last sample as heard),
        and whether the output plays the timeline (not paused, preparing or lost): for the mic."""
        s = self.session
        if s is None or not s.playing or s.output is None or s.lost_at_ms is not None:
            return None, False
        phase = answer_open(s.resolved.timeline, self.position_ms(), s.heard_ms, QUESTION_TAIL_MS)
        return phase, s.output.state == "playing"

    def status(self) -> Status:
        """The session's status (when idle, the daemon adds its own parts: Daemon.status)."""
        s = self.session
        if s is None:
            return Status(self.state(), error_last_start=self.last_error or None)
        prepared = (None if s.playing else
                    (sum(1 for t in s.job.texts if t in s.clips), len(s.job.texts)))
        stalled = s.output.stalled_s if s.output is not None and s.playing else 0.0
        if s.extension is not None and s.output is not None:
            s.extension.follow(s.output.insert_position)
        st = session_status(self.state(), s.name, s.resolved.timeline, self.position_ms(),
                            s.lost_at_ms is not None, prepared, stalled, s.extension)
        return replace(st, problems=[*st.problems, *self.problems()])

    def problems(self) -> list[str]:
        """The session's parts that are off or degraded, a line each (`status`'s problems)."""
        s = self.session
        problem = s.ducker.problem if s is not None and s.ducker is not None else None
        return [problem] if problem else []
