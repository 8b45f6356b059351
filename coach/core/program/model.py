"""The program as data: frozen dataclasses of a validated program, its exercises and their parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from coach.core.types import Kind, Question, Side


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
    # The keys the file said (the rest are the built-in defaults): config.yaml's voice
    # defaults fill in only the others (coach.store.config.with_voice_defaults).
    given: frozenset[str] = field(default=frozenset(), compare=False)


LoadUnit = Literal["kg", "lb"]
LOAD_UNITS: tuple[LoadUnit, ...] = ("kg", "lb")


@dataclass(frozen=True)
class Load:
    """An exercise's load: ``amount`` hundredths of ``unit`` (2450 = 24.5 kg; whole hundredths
    keep every step exact), or the lifter's bodyweight (``unit`` None). Units are never
    converted: what the lifter wrote in lb stays lb. ``str()`` is the normalised form history
    keeps: "24kg", "24.5kg", "50lb", "bodyweight"."""

    amount: int = 0
    unit: LoadUnit | None = None

    @property
    def bodyweight(self) -> bool:
        return self.unit is None

    @property
    def number(self) -> int | float:
        """The amount as it is said: 24 or 24.5."""
        return self.amount // 100 if self.amount % 100 == 0 else self.amount / 100

    def __str__(self) -> str:
        return "bodyweight" if self.unit is None else format_amount(self.amount) + self.unit


def format_amount(hundredths: int) -> str:
    """2450 -> "24.5", 2400 -> "24", 125 -> "1.25"."""
    whole, frac = divmod(hundredths, 100)
    return f"{whole}" + (f".{frac:02d}".rstrip("0") if frac else "")


ProgressTarget = Literal["reps", "hold", "sets"]
PROGRESS_TARGETS: tuple[ProgressTarget, ...] = ("reps", "hold", "sets")
# What progression can raise: a rule's target, or the load its `then:` adds.
Raised = Literal["reps", "hold", "sets", "load"]
ConditionKind = Literal["completed", "feel", "effort"]


@dataclass(frozen=True)
class Condition:
    """When a progress rule applies: ``completed`` (every set of the exercise done, in a
    completed session), ``feel`` (and the mean feel >= threshold), ``effort`` (and the mean
    effort <= threshold). A rating condition also needs the sets completed."""

    kind: ConditionKind = "completed"
    threshold: int | None = None  # 1-5 for feel and effort; None for completed

    def __str__(self) -> str:
        if self.kind == "completed":
            return "completed"
        return f"{self.kind} {'>=' if self.kind == 'feel' else '<='} {self.threshold}"


@dataclass(frozen=True)
class Then:
    """``then:`` of a progress rule (double progression): after a session that met ``when``
    with the target already at its max, add ``load`` (hundredths of ``unit``, the exercise's
    load unit) and return the target to ``floor`` (None: the exercise's own value)."""

    load: int
    unit: LoadUnit
    floor: int | None = None


@dataclass(frozen=True)
class ProgressRule:
    """``progress:`` of an exercise: add ``step`` to ``target`` after a session that met
    ``when``, up to ``max``; at ``max``, ``then`` (if any) adds load instead. Steps and max are
    counts for reps and sets, milliseconds for hold."""

    target: ProgressTarget
    step: int
    max: int
    when: Condition = field(default_factory=Condition)
    then: Then | None = None


@dataclass(frozen=True)
class Remedy:
    """``remedy:`` (issue "the coach answers the answer"): what the remaining sets of an
    exercise become when a set's (or side's) feel is at or below ``low``, and ``high``, the
    feel at or above which a remedied exercise returns to the program's own values. Each
    remedy is off at 0/False: the eccentric and the pause at the peak contraction (the top
    pause) lengthened by ms (an explosive X stays explosive), an isometric hold at the peak
    closing each remaining set (ms; tempo and cadence sets), a flex cue in the rest before the
    next set (ms, eyes closed), and the weaker side first (unilateral)."""

    low: int = 2
    high: int = 4
    eccentric_ms: int = 1000
    peak_ms: int = 2000
    hold_ms: int = 0
    flex_ms: int = 10_000
    weaker_first: bool = True


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
    sides: tuple[Side | None, ...] = (None,)  # ("left", "right") for `sides: both`
    focus: str | None = None
    rest_ms: int = 60_000
    lead_in_ms: int = 5_000
    switch_ms: int = 5_000
    announce_ms: int | None = None  # None: estimated from the words and the voice rate
    words: Mapping[str, str] = field(default_factory=dict)  # this exercise's overrides only
    line: int = 0  # 1-based line of the exercise in its file (for messages)
    # The ratings asked after each set (empty: none), from the exercise's `rate` or the
    # program's; ``rate_at`` is where that `rate` key is written (line, col) for messages.
    rate: tuple[Question, ...] = ()
    rate_at: tuple[int, int] = (0, 0)
    progress: tuple[ProgressRule, ...] = ()
    # Values raised today by progression (coach.core.progression.apply_progress): (target,
    # the last session's value) for each; the first set's announcement says "9 reps today,
    # up from 8". Values are counts, ms for hold, hundredths of the load's unit for load.
    up_from: tuple[tuple[Raised, int], ...] = ()
    load: Load | None = None  # None: not given (nothing said, nothing logged)
    notes: str | None = None  # the lifter's own text: shown by plan and history, never spoken
    remedy: Remedy | None = None  # None: no remedy (the default, or `remedy: false`)
    remedy_at: tuple[int, int] = (0, 0)  # where that `remedy` key is written (messages)
    # A remedy in play (coach.core.remedy): an isometric hold closing each set (ms).
    closing_hold_ms: int = 0
    # A side that lagged in past sessions (coach.core.remedy.lagging_first): it goes first
    # today, and the first set says why ("Left side first today: it has lagged 3 sessions").
    lagging: tuple[Side, int] | None = None


@dataclass(frozen=True)
class Program:
    name: str
    exercises: tuple[Exercise, ...]
    schedules: tuple[Schedule, ...] = ()
    language: str = "en"
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    words: Mapping[str, str] = field(default_factory=dict)  # program-level overrides
    path: str = "<program>"
    exercises_at: tuple[int, int] = (0, 0)  # 1-based line, col of the `exercises` key (messages)
    notes: str | None = None  # the program's own text: shown by plan and history, never spoken
