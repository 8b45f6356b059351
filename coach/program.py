"""The program format: YAML text in, validated dataclasses out (pure: no clock, no audio).

Only ``load_program`` touches the file system; ``parse_program`` takes the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

TEMPO_PHASES = ("eccentric", "bottom_pause", "concentric", "top_pause")
EXPLOSIVE_MS = 1000  # an "X" in a tempo is a 1 s phase spoken "explode"


@dataclass(frozen=True)
class Tempo:
    code: str  # as written, separators removed, upper-case X: "31X0"
    phases_ms: tuple[int, int, int, int]  # eccentric, bottom pause, concentric, top pause
    explosive: tuple[bool, bool, bool, bool]


@dataclass(frozen=True)
class Pose:
    name: str
    hold_ms: int


@dataclass(frozen=True)
class Schedule:
    text: str  # as written: "mon,wed,fri 07:00"
    days: tuple[int, ...]  # 0 = Monday ... 6 = Sunday, sorted, unique
    hour: int
    minute: int


@dataclass(frozen=True)
class VoiceSettings:
    engine: str = "espeak"  # "espeak" or "piper"
    voice: str | None = None  # espeak voice id/name; None = the language's default
    model: str | None = None  # piper model name or path
    rate: int = 170  # words per minute
    volume: float = 0.9  # 0..1


Kind = Literal["tempo", "cadence", "hold", "poses"]


@dataclass(frozen=True)
class Exercise:
    name: str
    kind: Kind
    sets: int = 1
    reps: int | None = None  # tempo and cadence kinds
    tempo: Tempo | None = None
    cadence_ms: int | None = None
    hold_ms: int | None = None  # hold kind; for poses, the default hold (already applied to poses)
    poses: tuple[Pose, ...] = ()
    eyes_closed: bool = False
    sides: tuple[str | None, ...] = (None,)  # ("left", "right") for `sides: both`
    focus: str | None = None
    rest_ms: int = 60_000
    lead_in_ms: int = 5_000
    switch_ms: int = 5_000
    announce_ms: int | None = None  # None: estimated from the words and the voice rate
    words: Mapping[str, str] = field(default_factory=dict)  # this exercise's overrides only
    line: int = 0  # 1-based line of the exercise in its file (for messages)


@dataclass(frozen=True)
class Program:
    name: str
    exercises: tuple[Exercise, ...]
    schedules: tuple[Schedule, ...] = ()
    language: str = "en"
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    words: Mapping[str, str] = field(default_factory=dict)  # program-level overrides
    path: str = "<program>"
