"""The format's key tables: every key of every mapping, what its value must be, and its doc."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coach.core.phrases import PACKS
from coach.core.types import QUESTIONS, RATING_RANGE

# One table per mapping of the format: key -> what its value must be. The loader reads every
# value through these specs (``walker._Walker.read``) and ``coach.core.schema`` turns the same
# tables into the JSON Schema editors use, so a key, a type or a range lives in exactly one place.


@dataclass(frozen=True)
class Spec:
    """What a key's value must be. ``type`` is one of: text, int, number, bool, duration (lo/hi
    in ms), choice (``choices``), load (a weight with its unit, or bodyweight), tempo,
    schedule, sides, language, words, poses, voice, defaults, exercises (the last six are read
    by their own code, described by the schema's)."""

    type: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""


ENGINES = ("espeak", "piper")

SETS_RANGE = (1, 20)
REPS_RANGE = (1, 200)
CADENCE_RANGE_MS = (500, 10_000)
HOLD_RANGE_MS = (1_000, 600_000)
PAUSE_RANGE_MS = (0, 900_000)  # rest, lead_in, switch, announce
RATE_RANGE = (80, 400)
VOLUME_RANGE = (0.0, 1.0)

_PAUSE_DOCS = {
    "rest": "rest after each set (default 60s)",
    "lead_in": "get-ready time before each set, with a 3-2-1 (default 5s)",
    "switch": "time to switch sides in a unilateral set (default 5s)",
    "announce": "time for the set announcement (default: estimated from its words)",
}
PAUSE_FIELDS: Mapping[str, Spec] = {
    k: Spec("duration", *PAUSE_RANGE_MS, doc=doc) for k, doc in _PAUSE_DOCS.items()}
SETS_SPEC = Spec("int", *SETS_RANGE, doc="sets of the exercise (default 1)")
RATE_SPEC = Spec("rate", choices=QUESTIONS,
                 doc="ratings asked after each set, answered 1-5: feel, effort, [feel, effort] "
                     "or false (default: none)")
LOAD_SPEC = Spec("load", doc="the weight lifted: 24kg, 24.5 kg or 50lb (kept in its unit, "
                              "spoken at each set start and logged per set), or bodyweight "
                              "(logged, not spoken)")
NOTES_SPEC = Spec("text", doc="your own notes (seat height, grip...): shown by `coach plan` and "
                              "`coach history`, never spoken")
# `then:` of a progress rule: the load it adds at max, and the floor the target returns to.
THEN_FIELDS: Mapping[str, Spec] = {
    "load": Spec("load_step", doc="load added once the rule's target is at its max: +2.5kg "
                                  "(the exercise's load unit)"),
    "reps": Spec("int", *REPS_RANGE, doc="reps return to this after the load goes up "
                                         "(default: the exercise's own)"),
    "hold": Spec("duration", *HOLD_RANGE_MS, doc="hold returns to this after the load goes up "
                                                 "(default: the exercise's own)"),
    "sets": Spec("int", *SETS_RANGE, doc="sets return to this after the load goes up "
                                         "(default: the exercise's own)"),
}
# One progress rule: exactly one target (reps, hold or sets) whose value is the step.
PROGRESS_FIELDS: Mapping[str, Spec] = {
    "reps": Spec("step", 1, REPS_RANGE[1], doc="reps added after a session that met `when`: +1"),
    "hold": Spec("duration_step", 1, HOLD_RANGE_MS[1],
                 doc="hold time added after a session that met `when`: +5s"),
    "sets": Spec("step", 1, SETS_RANGE[1], doc="sets added after a session that met `when`: +1"),
    "max": Spec("max", doc="the most reps or sets, or the longest hold, it goes up to"),
    "when": Spec("when", doc='completed (default: every set done), "feel >= N" or '
                             '"effort <= N" (N 1-5, the last session\'s mean rating)'),
    "then": Spec("then", doc="double progression: at max, add load and return the target to a "
                             "floor: {load: +2.5kg, reps: 8}"),
}

# `remedy:` as a mapping: its thresholds and which remedies, each off at 0 (or false).
REMEDY_FIELDS: Mapping[str, Spec] = {
    "low": Spec("int", *RATING_RANGE, doc="a feel at or below this brings the remedy (default 2)"),
    "high": Spec("int", *RATING_RANGE, doc="a feel at or above this returns a remedied exercise "
                                           "to the program's own values (default 4)"),
    "eccentric": Spec("duration", 0, 5_000, doc="seconds added to the eccentric of a tempo "
                                                "(X stays explosive; default +1s)"),
    "peak": Spec("duration", 0, 5_000, doc="seconds added to the pause at the peak contraction "
                                           "(the tempo's top pause; default +2s)"),
    "hold": Spec("duration", 0, 60_000, doc="an isometric hold at the peak closing each remaining "
                                            "set (tempo and cadence sets; default off)"),
    "flex": Spec("duration", 0, 60_000, doc="a flex cue in the rest before the next set, eyes "
                                            "closed (default 10s)"),
    "weaker_first": Spec("bool", doc="a unilateral exercise starts its next sets with the side "
                                     "felt worse (default true)"),
}
REMEDY_SPEC = Spec("remedy", doc="what the next sets become when a set's feel is low: true "
                                 "(the method's defaults), false, or {low, high, eccentric, "
                                 "peak, hold, flex, weaker_first}")

VOICE_FIELDS: Mapping[str, Spec] = {
    "engine": Spec("choice", choices=ENGINES, doc="espeak (default) or piper"),
    "voice": Spec("text", doc="espeak-ng voice id or name (`coach voices`)"),
    "model": Spec("text", doc="Piper model: an installed name or a path to NAME.onnx "
                              "(relative to the program's folder)"),
    "rate": Spec("int", *RATE_RANGE, doc="words per minute (default 170)"),
    "volume": Spec("number", *VOLUME_RANGE, doc="0 to 1 (default 0.9)"),
}
DEFAULT_FIELDS: Mapping[str, Spec] = {**PAUSE_FIELDS, "sets": SETS_SPEC, "load": LOAD_SPEC}
POSE_FIELDS: Mapping[str, Spec] = {
    "name": Spec("text", doc="the pose, spoken at its start"),
    "hold": Spec("duration", *HOLD_RANGE_MS, doc="how long this pose is held"),
}
EXERCISE_FIELDS: Mapping[str, Spec] = {
    "name": Spec("text", doc="the exercise, spoken at each set start"),
    "focus": Spec("text", doc="the mind-muscle cue, spoken at each set start"),
    "sets": SETS_SPEC,
    "reps": Spec("int", *REPS_RANGE, doc="reps per set (with tempo or cadence)"),
    "tempo": Spec("tempo", doc='eccentric, bottom pause, concentric, top pause in seconds, '
                                'X = explosive: "4040", "3-1-X-1"'),
    "cadence": Spec("duration", *CADENCE_RANGE_MS, doc="one rep every this long (high reps)"),
    "hold": Spec("duration", *HOLD_RANGE_MS, doc="an isometric hold; with poses, each pose's "
                                                  "default hold"),
    "poses": Spec("poses", doc="pose names, or {name, hold}"),
    "eyes_closed": Spec("bool", doc="say 'eyes closed' at the start of the set"),
    "sides": Spec("sides", choices=("both",), doc="both: every set left, then right"),
    **PAUSE_FIELDS,
    "words": Spec("words", doc="this exercise's phrase overrides (phrase id -> text)"),
    "rate": RATE_SPEC,
    "progress": Spec("progress", doc="progression: a rule {reps|hold|sets: step, max, when, "
                                     "then} or a list of them"),
    "load": LOAD_SPEC,
    "notes": NOTES_SPEC,
    "remedy": REMEDY_SPEC,
}
TOP_FIELDS: Mapping[str, Spec] = {
    "program": Spec("text", doc="the program's name"),
    "schedule": Spec("schedule", doc='"DAYS HH:MM" or a list of them: "mon,wed,fri 07:00"'),
    "language": Spec("language", doc="phrase pack: " + ", ".join(sorted(PACKS))),
    "voice": Spec("voice", doc="the voice: engine, voice or model, rate, volume"),
    "defaults": Spec("defaults", doc="values every exercise gets unless it says otherwise"),
    "words": Spec("words", doc="phrase overrides (phrase id -> text)"),
    "rate": RATE_SPEC,
    "exercises": Spec("exercises", doc="the exercises, in order"),
    "notes": NOTES_SPEC,
    "remedy": REMEDY_SPEC,
}
# The kinds of exercise: the key that makes each kind, the keys it needs and forbids.
KINDS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required keys, forbidden keys)
    "tempo": (("tempo", "reps"), ("cadence", "hold", "poses")),
    "cadence": (("cadence", "reps"), ("tempo", "hold", "poses")),
    "hold": (("hold",), ("tempo", "cadence", "poses", "reps")),
    "poses": (("poses",), ("tempo", "cadence", "reps")),
}

TOP_KEYS = tuple(TOP_FIELDS)
EXERCISE_KEYS = tuple(EXERCISE_FIELDS)
POSE_KEYS = tuple(POSE_FIELDS)
VOICE_KEYS = tuple(VOICE_FIELDS)
DEFAULT_KEYS = tuple(DEFAULT_FIELDS)
PROGRESS_KEYS = tuple(PROGRESS_FIELDS)
THEN_KEYS = tuple(THEN_FIELDS)
REMEDY_KEYS = tuple(REMEDY_FIELDS)
# Unknown keys that name an allowed one in other words: one of these, or a typo of one, is
# pointed at its key ("weigth" is the load, never "switch"; a top-level "name" is `program`).
KEY_HINTS: Mapping[str, str] = {"weight": "load", "weights": "load", "kg": "load",
                                "lbs": "load", "lb": "load", "note": "notes", "comment": "notes",
                                "comments": "notes", "name": "program", "title": "program"}
PAUSE_KEYS = tuple(PAUSE_FIELDS)
BUILTIN_PAUSES_MS: Mapping[str, int | None] = {
    "rest": 60_000, "lead_in": 5_000, "switch": 5_000, "announce": None}
