"""The timeline compiler: a Program in, a sorted list of timed cue and phase events out.

Pure: no clock, no I/O, no audio. Times are integer milliseconds from session start, so
nothing drifts over a 2-hour program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .program import Program, VoiceSettings


@dataclass(frozen=True)
class Cue:
    """Something said (or a tick played) at ``t_ms``."""

    t_ms: int
    text: str  # what is spoken; for kind "tick" a label only
    phrase: str  # phrase id (see phrases.PHRASE_IDS), or "announce", "pose", "tick"
    exercise: str
    exercise_index: int
    set: int
    side: str | None
    kind: str = "speech"  # "speech" or "tick" (a soft click, no words)

    def to_json(self) -> dict[str, Any]:
        return {"type": "cue", "t": round(self.t_ms / 1000, 3), "text": self.text,
                "phrase": self.phrase, "kind": self.kind, "exercise": self.exercise,
                "exercise_index": self.exercise_index, "set": self.set, "side": self.side}


@dataclass(frozen=True)
class Phase:
    """A span of the session: announce, lead_in, a tempo phase, a hold, a rep, a pose, rest..."""

    t_ms: int
    duration_ms: int
    phase: str
    exercise: str
    exercise_index: int
    set: int
    rep: int | None
    side: str | None
    pose: str | None

    @property
    def end_ms(self) -> int:
        return self.t_ms + self.duration_ms

    def to_json(self) -> dict[str, Any]:
        return {"type": "phase", "t": round(self.t_ms / 1000, 3),
                "duration": round(self.duration_ms / 1000, 3), "phase": self.phase,
                "exercise": self.exercise, "exercise_index": self.exercise_index,
                "set": self.set, "rep": self.rep, "side": self.side, "pose": self.pose}


Event = Cue | Phase


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

    @property
    def cues(self) -> tuple[Cue, ...]:
        return tuple(e for e in self.events if isinstance(e, Cue))

    @property
    def phases(self) -> tuple[Phase, ...]:
        return tuple(e for e in self.events if isinstance(e, Phase))

    def to_json(self) -> dict[str, Any]:
        return {"program": self.program, "duration": round(self.duration_ms / 1000, 3),
                "events": [e.to_json() for e in self.events]}
