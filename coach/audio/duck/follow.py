"""One connection's work for the Ducker: the other playback streams, and the volume steps the
duck plan asks of them, each set when it is due, without polling.

The thread sleeps in the server's ``listen`` until the next step is due (worked out from the
plan and the output's position), a stream appears, changes or goes, or the session thread
wakes it (start, stop, a new plan, an insert). With no other stream playing it waits for one
with no timeout at all: an idle ducker does no periodic work. A fade down is acted on ahead of
the position by how late this thread has lately woken (and ``lead_ms``), so under load the
music is down by the cue's first sample, not some ms after it; a fade up is never early.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from coach.audio.duck.saved import Ducked, forget_lowered
from coach.audio.duck.server import Change, Server, Stream, is_ours, same_volume, scaled

if TYPE_CHECKING:
    from coach.audio.duck.ducker import Ducker

log = logging.getLogger("coach.audio.duck")

# At most one volume step this often: a jump of the whole depth (a start mid-cue) is a click in
# the music, heard in the capture as a broadband onset; the plan's own fades are slower (150 ms
# down in six 2 dB steps: 25 ms each) so this only paces a start mid-cue and a late catch-up.
STEP_GAP_S = 0.015
# While another stream plays, the position is read at least this often: a step is found from it
# ahead of time, and a position that moved in a way nobody said (a test's fake clock) is caught.
MAX_SLEEP_S = 1.0
# While lowered, the thread looks at the server's news at least this often: a stream that
# appears mid-cue is lowered within this (between cues it only matters at the next cue).
DUCKED_SLEEP_S = 0.25
# How late this thread woke, lately: each timed wake's lateness, or the last figure times this
# (per wake: about 3 s to halve in a cue-dense session), never more than LATE_MAX_S.
LATE_DECAY = 0.98
LATE_MAX_S = 0.1
# A stream's volume in its first moments is the server's, not the user's: PipeWire lists a new
# stream at 0 % and WirePlumber's restore sets its saved volume a moment later (found: it was
# then taken for the user's change, kept lowered after the cue); PulseAudio restores it before
# the stream is seen. Until this old, a change gives the stream a new original.
SETTLE_S = 1.0


class Positioned(Protocol):
    """What the ducker reads of an Output (coach.audio.player.Output has all three)."""

    @property
    def position(self) -> int: ...

    @property
    def insert_position(self) -> int | None: ...

    @property
    def state(self) -> str: ...


class Follower:
    """The streams on one connection and the step they are at (0: their own volume); ``run``
    until ``stop`` is set, then ``restore``. Every server call may raise ServerGone."""

    def __init__(self, ducker: Ducker, output: Positioned, stop: threading.Event,
                 server: Server) -> None:
        self.ducker = ducker
        self.output = output
        self.stop = stop
        self.server = server
        self.entries: dict[int, Ducked] = {}  # every other stream, lowered or not
        self.ours: set[int] = set()  # coach's own streams (their changes are no news)
        self.k = 0  # the step applied: 0 (own volume) to ducker.n_steps (the full depth)
        self.moved_at = -math.inf
        self.dirty = True  # the stream list must be read again
        self.late = 0.0  # seconds
        self.young: dict[int, float] = {}  # streams still settling: until when (monotonic)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop.is_set():
            if self.dirty:
                self.refresh()
            wait = self.step(time.monotonic())
            due = None if wait is None else time.monotonic() + wait
            changes = self.server.listen(wait)
            if due is not None and not changes:
                over = time.monotonic() - due
                if over >= 0:  # a timed wake (a session call wakes it early)
                    self.late = min(LATE_MAX_S, max(over, self.late * LATE_DECAY))
            self.take(changes)

    def step(self, now: float) -> float | None:
        """Set the volumes due now; seconds until the next are (None: wait for a stream)."""
        if not self.entries:
            self.k = 0
            return None
        d = self.ducker
        want, frames = 0, None
        if d.held:  # a command window's mic is open: down even while paused
            want = d.n_steps
        elif self.output.state == "playing":
            lead = round((self.late + d.lead_s) * d.plan.rate)
            want, frames = d.wanted(self.output.position, self.output.insert_position, lead)
        # (paused or ended: restored)
        cap = DUCKED_SLEEP_S if self.k > 0 else MAX_SLEEP_S
        if now < d.insert_watch_until:
            cap = STEP_GAP_S  # an insert just said: its position is known once it begins
        wait = cap if frames is None else min(cap, frames / d.plan.rate)
        if want != self.k:
            since = now - self.moved_at
            if since >= STEP_GAP_S:
                self.move(self.k + (1 if want > self.k else -1))
                self.moved_at, since = now, 0.0
            if want != self.k:
                wait = min(wait, STEP_GAP_S - since)
        return max(wait, 1e-4)

    def take(self, changes: Sequence[Change]) -> None:
        """Stream events (our own volume changes are not among them): the list is read again
        before the next step, unless it is a change of coach's own stream."""
        for c in changes:
            if not (c.kind == "change" and c.idx in self.ours):
                self.dirty = True

    # -- the streams ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the stream list: new streams join (lowered at once mid-duck), gone ones are
        forgotten, and a volume that is not the one we set is the user's."""
        d = self.ducker
        live = {s.idx: s for s in self.server.streams()}
        now = time.monotonic()
        self.young = {i: t for i, t in self.young.items() if t > now and i in live}
        self.dirty = False
        self.ours = {i for i, s in live.items() if is_ours(s)}
        changed = False
        gone = []
        for i, was in list(self.entries.items()):
            there = live.get(i)
            if there is None or not was.matches(there):
                del self.entries[i]
                gone.append(was)
                if not same_volume(was.set_to, was.original):
                    forget_lowered(self.server, was)  # vanished while lowered
                changed = True
        for s in live.values():
            if s.idx in self.ours:
                continue
            e = self.entries.get(s.idx)
            if e is None or (s.idx in self.young and not same_volume(s.volume, e.set_to)):
                kin = [k for i, k in self.entries.items() if i != s.idx] + gone
                original = self.original_of(s, kin)
                self.entries[s.idx] = Ducked(s.idx, s.app, s.pid, s.name, original,
                                             scaled(original, d.level_db), s.volume,
                                             restore_id=s.restore_id)
                self.young.setdefault(s.idx, now + SETTLE_S)
                changed = True
            elif not e.held and not same_volume(s.volume, e.set_to):
                if self.k > 0:
                    # The user moved it while ducked: that is the volume they want now, left
                    # alone until this duck ends; the next cue ducks it from there.
                    log.info("stream %d (%s): volume changed by the user while ducked; "
                             "keeping it", s.idx, s.app or s.name)
                    e.held = True
                e.original = e.set_to = s.volume
                e.lowest = scaled(s.volume, d.level_db)
                changed = True
        if changed:
            d.save(list(self.entries.values()))  # before anything is lowered
        if self.k > 0:
            self.apply()  # a stream new mid-duck goes down at once

    @staticmethod
    def original_of(s: Stream, kin: Sequence[Ducked]) -> tuple[float, ...]:
        """A new stream's own volume. The server's stream-restore starts a stream at the last
        volume saved for its key (media role or application), which, while another stream of
        that key is lowered, is the one we set: the next song's stream, made mid-cue, would
        otherwise take the lowered volume for its own and keep it after the duck (found with
        the DummyServer, which keeps the same database; PulseAudio does this)."""
        for e in kin:
            if (s.restore_id and e.restore_id == s.restore_id
                    and not same_volume(e.set_to, e.original) and e.lowered(s.volume)):
                return e.original
        return s.volume

    def move(self, k: int) -> None:
        log.debug("duck: %.1f dB (lateness %.1f ms)", -k * self.ducker.step_db, self.late * 1000)
        self.k = k
        self.apply()
        if k == 0:
            for e in self.entries.values():
                e.held = False  # the duck is over: the next one lowers it from its volume

    def apply(self) -> None:
        """Every stream not held by the user to step ``k`` below its own volume (sent, not
        waited for: a stream gone meanwhile comes back as an event, and is forgotten then)."""
        d = self.ducker
        for e in self.entries.values():
            if e.held:
                continue
            target = e.original if self.k == 0 else scaled(e.original, -self.k * d.step_db)
            if not same_volume(target, e.set_to):
                self.server.send_volume(e.index, target)
                e.set_to = target
                d.steps += 1

    def restore(self) -> None:
        """Every lowered stream back to its own volume now; the saved volumes removed."""
        if self.dirty:
            self.refresh()  # what came meanwhile: a new song's stream is given back too
        for e in self.entries.values():
            e.held = False
        self.k = 0
        self.apply()
        self.entries.clear()
        self.ducker.save([])
