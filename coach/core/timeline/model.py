"""The timeline's data: the Cue and Phase events a session is made of, the SetSpans, the
Timeline that holds them (and its JSON), and ``locate`` (where a time falls).

Pure: no clock, no I/O, no audio. Times are integer milliseconds from session start, so
nothing drifts over a 2-hour program.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from coach.core.program import VoiceSettings
from coach.core.types import CueKind, PhaseKind, Question, Side


@dataclass(frozen=True)
class Cue:
    """Something said (or a tick played) at ``t_ms``."""

    t_ms: int
    text: str  # what is spoken; for kind "tick" a label only
    phrase: str  # phrase id (see phrases.PHRASE_IDS), or "announce", "pose", "tick"
    exercise: str
    exercise_index: int
    set: int
    side: Side | None
    kind: CueKind = "speech"
    question: Question | None = None  # a rating prompt (phrase rate_feel / rate_effort)

    def to_json(self) -> dict[str, Any]:
        return {"type": "cue", "t": round(self.t_ms / 1000, 3), "text": self.text,
                "phrase": self.phrase, "kind": self.kind, "exercise": self.exercise,
                "exercise_index": self.exercise_index, "set": self.set, "side": self.side,
                "question": self.question}


@dataclass(frozen=True)
class Phase:
    """A span of the session: announce, lead_in, a tempo phase, a hold, a rep, a pose, rest...

    ``answer``: the window in which the rating ``question`` of this set (and ``side``) is
    awaited; it lies inside the set's rest or switch, which it splits (phases never overlap)."""

    t_ms: int
    duration_ms: int
    phase: PhaseKind
    exercise: str
    exercise_index: int
    set: int
    rep: int | None
    side: Side | None
    pose: str | None
    question: Question | None = None  # the answer phase's question

    @property
    def end_ms(self) -> int:
        return self.t_ms + self.duration_ms

    def to_json(self) -> dict[str, Any]:
        return {"type": "phase", "t": round(self.t_ms / 1000, 3),
                "duration": round(self.duration_ms / 1000, 3), "phase": self.phase,
                "exercise": self.exercise, "exercise_index": self.exercise_index,
                "set": self.set, "rep": self.rep, "side": self.side, "pose": self.pose,
                "question": self.question}


Event = Cue | Phase

TICK_KEY = "\x00tick"  # a NUL can never be in spoken text, so it cannot collide with a phrase


def clip_key(cue: Cue) -> str:
    """The key of a cue's clip: its text for speech, one shared key for every tick."""
    return TICK_KEY if cue.kind == "tick" else cue.text


@dataclass(frozen=True)
class SetSpan:
    """One set of one exercise (both sides of a unilateral set), from its announce to its rest."""

    exercise: str
    exercise_index: int
    set: int
    sets: int
    start_ms: int  # start of the announce phase
    work_end_ms: int  # end of the last work phase (before rest)
    end_ms: int  # start of the next set's announce (or the session end)


@dataclass(frozen=True)
class Timeline:
    program: str
    duration_ms: int
    events: tuple[Event, ...]  # sorted by t_ms; at equal times phases come before cues
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    language: str = "en"
    sets: tuple[SetSpan, ...] = ()

    # Computed once per timeline (the daemon asks ten times a second).
    @cached_property
    def cues(self) -> tuple[Cue, ...]:
        return tuple(e for e in self.events if isinstance(e, Cue))

    @cached_property
    def phases(self) -> tuple[Phase, ...]:
        return tuple(e for e in self.events if isinstance(e, Phase))

    @cached_property
    def _phase_starts(self) -> list[int]:
        return [p.t_ms for p in self.phases]

    @cached_property
    def _cue_starts(self) -> list[int]:
        return [c.t_ms for c in self.cues]

    @cached_property
    def _set_starts(self) -> list[int]:
        return [s.start_ms for s in self.sets]

    def to_json(self) -> dict[str, Any]:
        return {"program": self.program, "duration": round(self.duration_ms / 1000, 3),
                "events": [e.to_json() for e in self.events]}


def locate(timeline: Timeline, t_ms: int) -> tuple[int | None, Phase | None]:
    """Where ``t_ms`` falls: the index into ``timeline.sets`` and the phase playing then
    (None between phases or past the end)."""
    idx = None
    i = bisect_right(timeline._set_starts, t_ms) - 1
    if i >= 0:
        idx = i  # sets tile the session: past the last set's end is still the last set
    phase = None
    j = bisect_right(timeline._phase_starts, t_ms) - 1
    # Phases never overlap, but a zero-gap neighbour may start exactly at t_ms: look back a few.
    for p in timeline.phases[max(0, j - 2):j + 1][::-1]:
        if p.t_ms <= t_ms < p.end_ms:
            phase = p
            break
    return idx, phase


def question_of(timeline: Timeline, answer: Phase) -> Cue | None:
    """The cue that asks ``answer``'s question: the last cue before the answer phase (nothing
    lies between a question and its answer phase), if it asks that question of that set."""
    k = bisect_left(timeline._cue_starts, answer.t_ms) - 1
    if k < 0:
        return None
    q = timeline.cues[k]
    if (q.question != answer.question or q.set != answer.set or q.side != answer.side
            or q.exercise_index != answer.exercise_index):
        return None
    return q


def answer_open(timeline: Timeline, t_ms: int, heard_ms: Callable[[Cue], int | None],
                after_ms: int = 0) -> Phase | None:
    """The answer phase a spoken answer at ``t_ms`` is for: the phase playing or the next one,
    from ``after_ms`` after its question has been heard to the end (``heard_ms``: a cue's real
    length; None while not known: then from the phase's start). The timeline places an answer
    phase at its question's estimated length rounded up to whole seconds (for espeak-ng's "How
    well did you feel it? Tap one to five." 1.24 s after its last sample): a lifter answers
    sooner than that; and a voice slower than the estimate is still talking there."""
    _, phase = locate(timeline, t_ms)
    if phase is None or phase.phase != "answer":
        j = bisect_right(timeline._phase_starts, t_ms)
        if j >= len(timeline.phases):
            return None
        phase = timeline.phases[j]
        if phase.phase != "answer" or phase.question is None:
            return None
    q = question_of(timeline, phase)
    length = heard_ms(q) if q is not None else None
    if q is None or length is None:
        return phase if phase.t_ms <= t_ms else None
    return phase if q.t_ms + length + after_ms <= t_ms else None
