"""The program format: YAML text in, validated dataclasses out (pure: no clock, no audio).

Only ``load_program`` touches the file system; ``parse_program`` takes the text.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import stat
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from coach.core.errors import CoachError
from coach.core.phrases import PACKS, PHRASE_IDS, PLACEHOLDERS, missing_phrases
from coach.core.types import (  # noqa: F401  (re-exported: the program's vocabulary)
    QUESTIONS,
    RATING_RANGE,
    TEMPO_PHASES,
    Kind,
    Question,
    Side,
    TempoPhase,
)
from coach.core.yamlnodes import (
    NodeReader,
    compose,
    describe,
    did_you_mean,
    format_duration,
    is_null,
    parse_bool,
    parse_duration_ms,
    parse_int,
    quote,
    where,
)

logger = logging.getLogger(__name__)

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
    # The keys the file said (the rest are the built-in defaults): config.yaml's voice
    # defaults fill in only the others (coach.daemon.config.with_voice_defaults).
    given: frozenset[str] = field(default=frozenset(), compare=False)


ProgressTarget = Literal["reps", "hold", "sets"]
PROGRESS_TARGETS: tuple[ProgressTarget, ...] = ("reps", "hold", "sets")
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
class ProgressRule:
    """``progress:`` of an exercise: add ``step`` to ``target`` after a session that met
    ``when``, up to ``max``. Steps and max are counts for reps and sets, milliseconds for hold."""

    target: ProgressTarget
    step: int
    max: int
    when: Condition = field(default_factory=Condition)


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
    # up from 8". Values are counts, or ms for hold.
    up_from: tuple[tuple[ProgressTarget, int], ...] = ()


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


# ---- session length ------------------------------------------------------------------------

def work_ms(ex: Exercise) -> int:
    """One side of one set of ``ex``: its reps, hold or poses, as the timeline lays them out."""
    if ex.kind == "tempo":
        assert ex.reps is not None and ex.tempo is not None
        return ex.reps * sum(ex.tempo.phases_ms)  # an X phase is EXPLOSIVE_MS already
    if ex.kind == "cadence":
        assert ex.reps is not None and ex.cadence_ms is not None
        return ex.reps * ex.cadence_ms
    if ex.kind == "hold":
        assert ex.hold_ms is not None
        return ex.hold_ms
    return sum(p.hold_ms for p in ex.poses)


def session_lower_bound_ms(exercises: tuple[Exercise, ...] | list[Exercise]) -> int:
    """A lower bound of the session's length, from the exercises' parameters alone (cheap:
    no events are built). Each set is its announce (when given; an estimated one counts 0),
    lead-in, the work on each side, a switch between sides, and its rest; the last set of the
    session has no rest. The timeline adds only what this leaves out (estimated announcements,
    the gap after an end word, "session complete"), so this is never above its duration."""
    total = 0
    for ex in exercises:
        sides = len(ex.sides)
        per_set = ((ex.announce_ms or 0) + ex.lead_in_ms + sides * work_ms(ex)
                   + (sides - 1) * ex.switch_ms + ex.rest_ms)
        total += ex.sets * per_set
    if exercises:
        total -= exercises[-1].rest_ms
    return total


def _hms(ms: int) -> str:
    s = -(-ms // 1000)  # whole seconds up: the timeline's duration is whole seconds, >= ms
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def session_too_long_message(ms: int, exact: bool = False) -> str:
    """The one message for a session over MAX_SESSION_MS (from the bound, or ``exact``)."""
    return (f"the session would last {'' if exact else 'at least '}{_hms(ms)}; the maximum is "
            f"{_hms(MAX_SESSION_MS)} (fewer sets, reps or shorter holds)")


def check_session_length(program: Program, duration_ms: int | None = None) -> None:
    """CoachError at the `exercises` key when the session is over MAX_SESSION_MS: its lower
    bound, or its exact ``duration_ms`` once compiled (so the two checks never disagree)."""
    ms = session_lower_bound_ms(program.exercises) if duration_ms is None else duration_ms
    if ms > MAX_SESSION_MS:
        raise CoachError.at(program.path, *program.exercises_at,
                            session_too_long_message(ms, exact=duration_ms is not None))


# ---- loading and validation --------------------------------------------------------------

MAX_PROGRAM_BYTES = 1 << 20  # 1 MiB: far beyond any real program; refuse before reading it all

# One table per mapping of the format: key -> what its value must be. The loader reads every
# value through these specs (``_Walker.read``) and ``coach.core.schema`` turns the same tables
# into the JSON Schema editors use, so a key, a type or a range lives in exactly one place.


@dataclass(frozen=True)
class Spec:
    """What a key's value must be. ``type`` is one of: text, int, number, bool, duration (lo/hi
    in ms), choice (``choices``), tempo, schedule, sides, language, words, poses, voice,
    defaults, exercises (the last six are read by their own code, described by the schema's)."""

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
# One progress rule: exactly one target (reps, hold or sets) whose value is the step.
PROGRESS_FIELDS: Mapping[str, Spec] = {
    "reps": Spec("step", 1, REPS_RANGE[1], doc="reps added after a session that met `when`: +1"),
    "hold": Spec("duration_step", 1, HOLD_RANGE_MS[1],
                 doc="hold time added after a session that met `when`: +5s"),
    "sets": Spec("step", 1, SETS_RANGE[1], doc="sets added after a session that met `when`: +1"),
    "max": Spec("max", doc="the most reps or sets, or the longest hold, it goes up to"),
    "when": Spec("when", doc='completed (default: every set done), "feel >= N" or '
                             '"effort <= N" (N 1-5, the last session\'s mean rating)'),
}

VOICE_FIELDS: Mapping[str, Spec] = {
    "engine": Spec("choice", choices=ENGINES, doc="espeak (default) or piper"),
    "voice": Spec("text", doc="espeak-ng voice id or name (`coach voices`)"),
    "model": Spec("text", doc="Piper model: an installed name or a path to NAME.onnx "
                              "(relative to the program's folder)"),
    "rate": Spec("int", *RATE_RANGE, doc="words per minute (default 170)"),
    "volume": Spec("number", *VOLUME_RANGE, doc="0 to 1 (default 0.9)"),
}
DEFAULT_FIELDS: Mapping[str, Spec] = {**PAUSE_FIELDS, "sets": SETS_SPEC}
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
    "progress": Spec("progress", doc="progression: a rule {reps|hold|sets: step, max, when} "
                                     "or a list of them"),
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
PAUSE_KEYS = tuple(PAUSE_FIELDS)
BUILTIN_PAUSES_MS: Mapping[str, int | None] = {
    "rest": 60_000, "lead_in": 5_000, "switch": 5_000, "announce": None}
# The whole session, not only each value: every value in range still allowed 30 exercises x
# 20 sets x 200 reps at tempo 9999, a 1211-hour session whose timeline took 20 s and 2.5 GB to
# build. The longest real session is ~2 h; 6 h is generous.
MAX_SESSION_MS = 6 * 3600 * 1000

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_GROUPS = {"daily": tuple(range(7)), "weekdays": tuple(range(5)), "weekends": (5, 6)}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_tempo(text: str) -> Tempo:
    """'4040', '4-0-4-0', '31X0' (x in any case) -> Tempo. ValueError carries the message."""
    written = text.strip()
    code = written.replace("-", "").upper()
    if len(code) != 4 or any(c not in "0123456789X" for c in code):
        raise ValueError(f"tempo needs 4 symbols of 0-9 or X, got {quote(written)}")
    phases = tuple(EXPLOSIVE_MS if c == "X" else int(c) * 1000 for c in code)
    if not any(phases):
        raise ValueError(f"tempo {quote(written)} has no movement: at least one phase must be "
                         "longer than 0 s")
    return Tempo(code, phases, tuple(c == "X" for c in code))  # type: ignore[arg-type]


DAY_ABBREVIATIONS = {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}


def _day(token: str) -> int:
    if token in DAY_NAMES:
        return DAY_NAMES.index(token)
    if token in DAY_ABBREVIATIONS:
        return DAY_ABBREVIATIONS[token]
    if token in FULL_DAY_NAMES:
        return FULL_DAY_NAMES.index(token)
    choices = DAY_NAMES + tuple(DAY_GROUPS)
    raise ValueError(f"unknown day {quote(token)} in schedule; use daily, weekdays, weekends, "
                     f"mon..sun or a range like mon-fri{did_you_mean(token, choices)}")


def parse_schedule(text: str) -> Schedule:
    """'mon,wed,fri 07:00', 'daily 6:30', 'mon-fri 18:00' -> Schedule. ValueError carries the message."""
    written = text.strip()
    parts = written.rsplit(None, 1)
    if len(parts) != 2:
        raise ValueError(f'schedule must be "DAYS HH:MM" like "mon,wed,fri 07:00", '
                         f"got {quote(written)}")
    days_text, time_text = parts
    m = _TIME.match(time_text)
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"schedule time must be HH:MM between 00:00 and 23:59, "
                         f"got {quote(time_text)}")
    days: set[int] = set()
    for token in re.split(r"\s*,\s*", days_text.strip().lower()):
        if token in DAY_GROUPS:
            days.update(DAY_GROUPS[token])
        elif "-" in token:
            a, _, b = (s.strip() for s in token.partition("-"))
            start, end = _day(a), _day(b)
            # A range may wrap round the week end: fri-mon is fri, sat, sun, mon.
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
        else:
            days.add(_day(token))
    return Schedule(written, tuple(sorted(days)), int(m[1]), int(m[2]))


_WHEN = re.compile(r"^([A-Za-z_][\w-]*)\s*(?:([<>=!]+)\s*(.*))?$")
CONDITION_WORDS = ("completed", "feel", "effort")


def parse_condition(text: str) -> Condition:
    """'completed', 'feel >= 4', 'effort <= 3' -> Condition (strict: feel only with >=,
    effort only with <=, N a whole number 1-5). ValueError carries the message."""
    written = text.strip()
    shape = 'when must be completed, "feel >= N" or "effort <= N" (N 1-5)'
    m = _WHEN.match(written)
    if not m:
        raise ValueError(f"{shape}, got {quote(written)}")
    word, op, rest = m[1], m[2], (m[3] or "").strip()
    if word not in CONDITION_WORDS:
        raise ValueError(f"{shape}, got {quote(written)}{did_you_mean(word, CONDITION_WORDS)}")
    if word == "completed":
        if op is not None:
            raise ValueError(f"completed takes no comparison, got {quote(written)}")
        return Condition()
    want = ">=" if word == "feel" else "<="
    if op is None or not rest:
        raise ValueError(f'{word} needs a threshold: "{word} {want} N" (N 1-5)')
    if op != want:
        meaning = "at least" if word == "feel" else "at most"
        raise ValueError(f'{word} takes {want} (the last mean {word} {meaning} N), '
                         f"got {quote(written)}")
    lo, hi = RATING_RANGE
    if not re.fullmatch(f"[{lo}-{hi}]", rest):
        raise ValueError(f"the threshold of {word} must be a whole number from {lo} to {hi}, "
                         f"got {quote(rest)}")
    return Condition(word, int(rest))  # type: ignore[arg-type]


def _template_problem(phrase_id: str, text: str) -> str | None:
    """Why ``text`` cannot replace phrase ``phrase_id`` (None when it can)."""
    label = f"words.{phrase_id}"
    fields = PLACEHOLDERS.get(phrase_id, ())
    takes = ", ".join("{" + f + "}" for f in fields) if fields else "no {fields}"
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as e:
        return f"{label} is not a valid template ({e}); write {{{{ or }}}} for a literal brace"
    used: set[str] = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        # Only bare known fields: "{n.__class__}", "{0}" or "{n:>9}" could fail or leak later.
        if name not in fields or spec or conversion:
            written = "{" + name + (f"!{conversion}" if conversion else "") + \
                (f":{spec}" if spec else "") + "}"
            # user text: quote() keeps it on one line (a field name may hold a line break)
            return f'{label}: field {quote(written)[1:-1]} is not allowed; "{phrase_id}" takes {takes}'
        used.add(name)
    missing = [f for f in fields if f not in used]
    if missing:
        return f"{label} must keep {takes}; missing " + ", ".join("{" + f + "}" for f in missing)
    return None


def _misspelt(items: list[tuple[str, Node, Node]], allowed: tuple[str, ...]) -> set[str]:
    """Allowed keys that an unknown key of ``items`` looks like a typo of ("tmepo" -> tempo).

    Their absence was already explained by "did you mean"; saying "needs tempo" too is noise.
    """
    out: set[str] = set()
    for key, _, _ in items:
        if key not in allowed:
            out.update(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6))
    return out


def is_model_path(model: str) -> bool:
    """Whether a Piper ``model`` is a file path (else the name of an installed model)."""
    return model.endswith(".onnx") or "/" in model or os.sep in model or model.startswith("~")


def read_value(r: NodeReader, spec: Spec, node: Node, label: str):
    """A scalar value as ``spec`` says (None, with the mistake recorded in ``r``, when not)."""
    if spec.type == "text":
        return r.text(node, label)
    if spec.type == "int":
        return r.integer(node, label, int(spec.lo), int(spec.hi))  # type: ignore[arg-type]
    if spec.type == "number":
        return r.number(node, label, spec.lo, spec.hi)  # type: ignore[arg-type]
    if spec.type == "bool":
        return r.boolean(node, label)
    if spec.type == "duration":
        return r.duration_ms(node, label, int(spec.lo), int(spec.hi))  # type: ignore[arg-type]
    if spec.type == "choice":
        return r.choice(node, label, spec.choices)
    raise AssertionError(f"{spec.type} values are read by their own code")


def read_voice(r: NodeReader, node: Node, base_dir: str = "", label: str = "voice") -> VoiceSettings:
    """A `voice:` mapping (of a program, or config.yaml's defaults) as VoiceSettings whose
    ``given`` names the keys it said. A relative Piper model path is relative to ``base_dir``
    (the folder of the file that says it), never to the working directory. Pure."""
    items = r.mapping(node, label)
    if items is None:
        return VoiceSettings()
    keys = r.known_keys(items, VOICE_KEYS, f"in {label}")
    kw = {k: read_value(r, VOICE_FIELDS[k], n, f"{label}.{k}") for k, n in keys.items()}
    kw = {k: v for k, v in kw.items() if v is not None}
    model = kw.get("model")
    if (model and base_dir and is_model_path(model) and not model.startswith("~")
            and not os.path.isabs(model)):
        kw["model"] = os.path.join(base_dir, model)
    return VoiceSettings(**kw, given=frozenset(kw))


class _Walker:
    """One pass over a program's nodes; mistakes are collected in ``r``."""

    def __init__(self, path: str):
        self.r = NodeReader(path)
        # The program's folder, for relative paths in it ("" when the text has no file).
        self.base_dir = "" if path.startswith("<") else os.path.dirname(path)

    def read(self, spec: Spec, node: Node, label: str):
        return read_value(self.r, spec, node, label)

    def words(self, node: Node, where_text: str) -> dict[str, str]:
        r = self.r
        out: dict[str, str] = {}
        items = r.mapping(node, "words")
        if items is None:
            return out
        ids = [p for p in PHRASE_IDS if p != "numbers"]
        for key, knode, vnode in items:
            if key == "numbers":
                r.error(knode, '"numbers" cannot be changed in words (numbers are spoken by '
                               "the voice or the language pack)")
                continue
            if key not in ids:
                r.error(knode, f"unknown phrase id {quote(key)} in words {where_text}"
                               f"{did_you_mean(key, ids)}")
                continue
            text = r.text(vnode, f"words.{key}")
            if text is None:
                continue
            problem = _template_problem(key, text)
            if problem:
                r.error(vnode, problem)
            else:
                out[key] = text
        return out

    def schedules(self, node: Node) -> tuple[Schedule, ...]:
        r = self.r
        nodes = [node]
        if isinstance(node, SequenceNode):
            nodes = r.sequence(node, "schedule") or []
        out = []
        for n in nodes:
            written = r.text(n, "schedule")
            if written is None:
                continue
            try:
                out.append(parse_schedule(written))
            except ValueError as e:
                r.error(n, str(e))
        return tuple(out)

    def voice(self, node: Node) -> VoiceSettings:
        return read_voice(self.r, node, self.base_dir)

    def defaults(self, node: Node) -> dict[str, int | None]:
        r = self.r
        out: dict[str, int | None] = dict(BUILTIN_PAUSES_MS)
        out["sets"] = 1
        items = r.mapping(node, "defaults")
        if items is None:
            return out
        keys = r.known_keys(items, DEFAULT_KEYS, "in defaults")
        if "sets" in keys:
            sets = self.read(DEFAULT_FIELDS["sets"], keys["sets"], "defaults.sets")
            if sets is not None:
                out["sets"] = sets
        for k in PAUSE_KEYS:
            if k in keys:
                ms = self.read(DEFAULT_FIELDS[k], keys[k], f"defaults.{k}")
                if ms is not None:
                    out[k] = ms
        return out

    def rate(self, node: Node) -> tuple[Question, ...] | None:
        """`rate`: feel, effort, a list of them, or false (no rating); None after a mistake."""
        r = self.r
        shape = "rate must be feel, effort, a list of both ([feel, effort]) or false"
        if isinstance(node, SequenceNode):
            out: list[Question] = []
            ok = True
            for n in r.sequence(node, "rate") or []:
                q = self.question(n, "each rating in the rate list must be feel or effort")
                if q is not None and q in out:
                    r.error(n, f"rate asks {q} twice")
                    q = None
                if q is None:
                    ok = False
                else:
                    out.append(q)
            return tuple(out) if ok and node.value else None
        if isinstance(node, ScalarNode) and not is_null(node):
            try:
                if parse_bool(node.value) is False:
                    return ()
            except ValueError:
                pass
            q = self.question(node, shape)
            return None if q is None else (q,)
        r.error(node, f"{shape}, got {describe(node)}")
        return None

    def question(self, node: Node, shape: str) -> Question | None:
        value = node.value.strip() if isinstance(node, ScalarNode) and not is_null(node) else ""
        if value in QUESTIONS:
            return value
        hint = did_you_mean(value, QUESTIONS) if value else ""
        self.r.error(node, f"{shape}, got {describe(node)}{hint}")
        return None

    def progress(self, node: Node, label: str, kind: Kind | None, own: Mapping[str, int | None],
                 rate: tuple[Question, ...] | None) -> tuple[ProgressRule, ...] | None:
        """`progress`: one rule (a mapping) or a list of them; None after a mistake.
        ``own``: the exercise's own reps, hold (ms) and sets (None when absent or bad)."""
        r = self.r
        if isinstance(node, SequenceNode):
            nodes = r.sequence(node, "progress")
            if nodes is None:
                return None
        elif isinstance(node, MappingNode):
            nodes = [node]
        else:
            r.error(node, "progress must be a rule {reps: +1, max: 12} or a list of rules, "
                          f"got {describe(node)}")
            return None
        before = len(r.diagnostics)
        rules: list[ProgressRule] = []
        first_at: dict[str, int] = {}
        for n in nodes:
            got = self.progress_rule(n, label, kind, own, rate)
            if got is None:
                continue
            rule, target_key = got
            line = target_key.start_mark.line + 1
            if rule.target in first_at:
                r.error(target_key, f"progress has two {rule.target} rules (first at line "
                                    f"{first_at[rule.target]}); give one")
                continue
            first_at[rule.target] = line
            rules.append(rule)
        return tuple(rules) if len(r.diagnostics) == before else None

    def progress_rule(self, node: Node, label: str, kind: Kind | None,
                      own: Mapping[str, int | None], rate: tuple[Question, ...] | None
                      ) -> tuple[ProgressRule, Node] | None:
        """One rule and its target's key node; ``rate`` None: unknown (a mistake of its own)."""
        r = self.r
        before = len(r.diagnostics)
        items = r.mapping(node, "a progress rule")
        if items is None:
            return None
        keys = r.known_keys(items, PROGRESS_KEYS, "in progress")
        typos = _misspelt(items, PROGRESS_KEYS)
        key_nodes = {k: kn for k, kn, _ in items}
        targets = sorted((k for k in PROGRESS_TARGETS if k in keys),
                         key=lambda k: key_nodes[k].start_mark.index)
        if len(targets) > 1:
            r.error(key_nodes[targets[1]], f"a progress rule raises one of reps, hold or sets; "
                                           f"this one has {targets[0]} and {targets[1]} "
                                           "(write a list of rules)")
            return None
        if not targets:
            if not typos & set(PROGRESS_TARGETS):
                r.error(node, "a progress rule needs what it raises: reps, hold or sets, with "
                              "the step (reps: +1, hold: +5s, sets: +1)")
            return None
        target: ProgressTarget = targets[0]
        tnode = key_nodes[target]
        needs = {"reps": ("tempo", "cadence"), "hold": ("hold",)}.get(target)
        if needs is not None and kind is not None and kind not in needs:
            what = "reps (tempo or cadence)" if target == "reps" else "a hold"
            r.error(tnode, f"progress of {target} needs an exercise with {what}; {label} is "
                           f"a {kind} exercise")
        step = self.step(keys[target], target)
        spec = {"reps": EXERCISE_FIELDS["reps"], "hold": EXERCISE_FIELDS["hold"],
                "sets": SETS_SPEC}[target]
        top: int | None = None
        if "max" in keys:
            top = self.read(spec, keys["max"], f"progress max of {target}")
            value = own.get(target)
            if top is not None and value is not None and top < value:
                shown = format_duration if target == "hold" else str
                r.error(keys["max"], f"progress max {shown(top)} is below the exercise's own "
                                     f"{target} ({shown(value)}): it could never go up")
        elif "max" not in typos:
            r.error(node, f"a progress rule needs a max: the most {target} it goes up to "
                          f"(max: {format_duration(60_000) if target == 'hold' else 12})")
        when = Condition()
        if "when" in keys:
            written = r.text(keys["when"], "when")
            if written is not None:
                try:
                    when = parse_condition(written)
                except ValueError as e:
                    r.error(keys["when"], str(e))
                else:
                    if rate is not None and when.kind != "completed" and when.kind not in rate:
                        r.error(keys["when"], f"when: {when} needs {label} to ask {when.kind} "
                                              f"after each set (rate: {when.kind})")
        if len(r.diagnostics) > before or step is None or top is None:
            return None
        return ProgressRule(target, step, top, when), tnode

    def step(self, node: Node, target: str) -> int | None:
        """A progress step: +1 (reps, sets) or +5s (hold); positive, within the key's range."""
        r = self.r
        spec = PROGRESS_FIELDS[target]
        hi = int(spec.hi or 0)
        example = "+5s" if target == "hold" else "+1"
        raw = node.value.strip() if isinstance(node, ScalarNode) and not is_null(node) else None
        if raw is None:
            r.error(node, f"the {target} step must be {example}, got {describe(node)}")
            return None
        if raw.startswith("-") or raw.lstrip("+").strip() in ("0", "0s"):
            r.error(node, f"the {target} step must be positive, like {example}, got {quote(raw)}")
            return None
        body = raw[1:].strip() if raw.startswith("+") else raw
        try:
            value = parse_duration_ms(body) if target == "hold" else parse_int(body)
        except ValueError:
            kind = "a duration" if target == "hold" else "a whole number"
            r.error(node, f"the {target} step must be {kind} like {example}, got {quote(raw)}")
            return None
        if value <= 0:
            r.error(node, f"the {target} step must be positive, like {example}, got {quote(raw)}")
            return None
        if value > hi:
            top = format_duration(hi) if target == "hold" else str(hi)
            r.error(node, f"the {target} step must be at most {top}, got {quote(raw)}")
            return None
        return value

    def poses(self, node: Node, label: str, hold_ms: int | None,
              hold_given: bool) -> tuple[Pose, ...]:
        """``hold_ms``: the exercise's hold (None when absent or bad, ``hold_given`` tells)."""
        r = self.r
        out = []
        for j, pn in enumerate(r.sequence(node, "poses") or [], 1):
            name: str | None = None
            hold = hold_ms
            has_hold = hold_given  # a bad hold was reported already: no "needs a hold" too
            typo = False
            if isinstance(pn, ScalarNode):
                name = r.text(pn, f"pose {j} name")
            elif isinstance(pn, MappingNode):
                pose_label = f"pose {j} of {label}"
                items = r.mapping(pn, pose_label) or []
                keys = r.known_keys(items, POSE_KEYS, f"in {pose_label}")
                typos = _misspelt(items, POSE_KEYS)
                typo = "hold" in typos
                if "name" in keys:
                    name = self.read(POSE_FIELDS["name"], keys["name"], "pose name")
                elif "name" not in typos:
                    r.error(pn, f"{pose_label} needs a name")
                if "hold" in keys:
                    hold = self.read(POSE_FIELDS["hold"], keys["hold"], "hold")
                    has_hold = True
            else:
                r.error(pn, f"pose {j} must be a name or {{name: ..., hold: ...}}, "
                            f"got {describe(pn)}")
                continue
            if not has_hold and not typo:
                shown = f" {quote(name)}" if name else ""
                r.error(pn, f"pose {j}{shown} needs a hold: give the pose "
                            "{name: ..., hold: 10s} or give the exercise a hold")
            if name is not None and hold is not None:
                out.append(Pose(name, hold))
        return tuple(out)

    def exercise(self, node: Node, index: int, dflt: Mapping[str, int | None],
                 top_rate: tuple[tuple[Question, ...] | None, tuple[int, int]] = ((), (0, 0)),
                 ) -> Exercise | None:
        r = self.r
        label = f"exercise {index}"
        before = len(r.diagnostics)
        items = r.mapping(node, label)
        if items is None:
            return None
        keys = r.known_keys(items, EXERCISE_KEYS, f"in {label}")
        typos = _misspelt(items, EXERCISE_KEYS)
        kw: dict = {"line": node.start_mark.line + 1}

        def read(key: str):
            return self.read(EXERCISE_FIELDS[key], keys[key], key)

        if "name" in keys:
            kw["name"] = read("name")
        elif "name" not in typos:
            r.error(node, f"{label} needs a name")
        if "focus" in keys:
            kw["focus"] = read("focus")
        kw["sets"] = read("sets") if "sets" in keys else dflt["sets"]
        if "reps" in keys:
            kw["reps"] = read("reps")
        if "tempo" in keys:
            written = r.text(keys["tempo"], "tempo")
            if written is not None:
                try:
                    kw["tempo"] = parse_tempo(written)
                except ValueError as e:
                    r.error(keys["tempo"], str(e))
        if "cadence" in keys:
            kw["cadence_ms"] = read("cadence")
        if "hold" in keys:
            kw["hold_ms"] = read("hold")
        if "eyes_closed" in keys:
            kw["eyes_closed"] = read("eyes_closed")
        if "sides" in keys:
            sides = keys["sides"]
            if isinstance(sides, ScalarNode) and sides.value.strip() == "both":
                kw["sides"] = ("left", "right")
            else:
                r.error(sides, f'sides must be "both" (every set left, then right), '
                               f"got {describe(sides)}")
        for k in PAUSE_KEYS:
            kw[f"{k}_ms"] = read(k) if k in keys else dflt[k]
        if "words" in keys:
            kw["words"] = self.words(keys["words"], f"of {label}")
        kw["rate"], kw["rate_at"] = top_rate
        if "rate" in keys:
            kw["rate"] = self.rate(keys["rate"])
            kw["rate_at"] = where(next(kn for k, kn, _ in items if k == "rate"))

        kind_typo = bool(typos & {"tempo", "cadence", "hold", "poses", "reps"})
        kind = self.kind(node, label, keys, quiet=kind_typo)
        kw["kind"] = kind
        if "poses" in keys:
            kw["poses"] = self.poses(keys["poses"], label, kw.get("hold_ms"), "hold" in keys)
        if "progress" in keys:
            shown = f"{quote(kw['name'])}" if kw.get("name") else label
            own = {"reps": kw.get("reps"), "hold": kw.get("hold_ms"), "sets": kw.get("sets")}
            kw["progress"] = self.progress(keys["progress"], shown, kind, own, kw["rate"])
        if len(r.diagnostics) > before or kind is None:
            return None
        return Exercise(**kw)

    def kind(self, node: Node, label: str, keys: Mapping[str, Node],
             quiet: bool = False) -> Kind | None:
        """Which kind the present keys say; a key counts even when its value is bad.

        ``quiet``: a near-miss key was already reported; stay silent about what it would fix.
        """
        r = self.r
        kinds = [k for k in ("tempo", "cadence", "poses") if k in keys]
        if "hold" in keys and "poses" not in keys:
            kinds.append("hold")
        if len(kinds) > 1:
            first, second = sorted(kinds, key=lambda k: keys[k].start_mark.index)[:2]
            r.error(keys[second], f"{first} and {second} cannot be used together; an exercise "
                                  "is one of tempo or cadence (with reps), hold, or poses")
            return None
        if not kinds:
            if quiet:
                return None
            if "reps" in keys:
                r.error(keys["reps"], "reps needs tempo or cadence (how each rep is paced)")
            else:
                r.error(node, f"{label} needs one of tempo or cadence (with reps), hold, "
                              "or poses")
            return None
        kind = kinds[0]
        if kind in ("tempo", "cadence") and "reps" not in keys and not quiet:
            r.error(node, f"{kind} needs reps (how many reps per set) in {label}")
            return None
        if kind in ("hold", "poses") and "reps" in keys:
            r.error(keys["reps"], f"reps cannot be used with {kind}; reps go with tempo "
                                  "or cadence")
            return None
        return kind  # type: ignore[return-value]

    def program(self, root: Node) -> Program | None:
        r = self.r
        items = r.mapping(root, "a program")
        if items is None:
            return None
        keys = r.known_keys(items, TOP_KEYS, "at the top level")
        typos = _misspelt(items, TOP_KEYS)
        kw: dict = {"path": r.path}
        if "program" in keys:
            kw["name"] = self.read(TOP_FIELDS["program"], keys["program"], "program")
        elif "program" not in typos:
            r.error(root, "the program needs a name: add `program: NAME`")
        if "schedule" in keys:
            kw["schedules"] = self.schedules(keys["schedule"])
        if "language" in keys:
            lang = r.text(keys["language"], "language")
            if lang is not None and lang not in PACKS:
                r.error(keys["language"], f"language {quote(lang)} is not available; available: "
                                          + ", ".join(sorted(PACKS))
                                          + did_you_mean(lang, PACKS))
            elif lang is not None and missing_phrases(lang):
                # A gap in a shipped pack is an error, never a silent English word.
                r.error(keys["language"], f"language {quote(lang)} pack lacks phrases: "
                                          + ", ".join(missing_phrases(lang)))
            elif lang is not None:
                kw["language"] = lang
        if "voice" in keys:
            kw["voice"] = self.voice(keys["voice"])
        if "words" in keys:
            kw["words"] = self.words(keys["words"], "at the top level")
        dflt = self.defaults(keys["defaults"]) if "defaults" in keys else self.defaults_builtin()
        top_rate: tuple[tuple[Question, ...] | None, tuple[int, int]] = ((), (0, 0))
        if "rate" in keys:
            top_rate = (self.rate(keys["rate"]), where(next(kn for k, kn, _ in items if k == "rate")))
        exercises = []
        knode: Node = root
        if "exercises" in keys:
            for i, en in enumerate(r.sequence(keys["exercises"], "exercises") or [], 1):
                exercises.append(self.exercise(en, i, dflt, top_rate))
            # The key, like other errors about a whole list (a merged key: where it is written).
            knode = next(kn for k, kn, _ in items if k == "exercises")
            kw["exercises_at"] = where(knode)
        elif "exercises" not in typos:
            r.error(root, "the program needs exercises: add `exercises:` with a list of them")
        if r.diagnostics:
            return None
        # Before the timeline builds its events: an absurd session is refused in microseconds.
        valid = [e for e in exercises if e is not None]  # all of them: no diagnostics above
        bound = session_lower_bound_ms(valid)
        if bound > MAX_SESSION_MS:
            r.error(knode, session_too_long_message(bound))
            return None
        return Program(exercises=tuple(valid), **kw)

    @staticmethod
    def defaults_builtin() -> dict[str, int | None]:
        return {**BUILTIN_PAUSES_MS, "sets": 1}


def parse_program(text: str, path: str = "<program>") -> Program:
    """Validate a program's YAML text. Pure. Raises CoachError with every mistake at once."""
    path = str(path)
    root = compose(text, path)
    if root is None or is_null(root):
        raise CoachError.at(path, 1, 1, "the program is empty: it needs `program:` and "
                                        "`exercises:`")
    walker = _Walker(path)
    program = walker.program(root)
    walker.r.raise_if_any()
    assert program is not None  # no diagnostics means every part was built
    return program


def load_program(path: str | os.PathLike) -> Program:
    """Read and validate a program file; every problem is a CoachError, never a traceback."""
    return parse_program(read_program_text(path), _path_name(path))


def _path_name(path: str | os.PathLike) -> str:
    name = os.fspath(path)
    return name.decode(errors="replace") if isinstance(name, bytes) else name


def read_program_text(path: str | os.PathLike, allow_empty: bool = False) -> str:
    """A user's YAML file as text (programs, config.yaml): one-line CoachError (line 0) when it
    is missing, a directory, unreadable, over 1 MiB, binary, not UTF-8 or empty."""
    name = _path_name(path)

    def fail(message: str) -> CoachError:
        return CoachError.at(name, 0, 0, message)

    try:
        # stat first: opening a FIFO or device to find out what it is could block.
        st = os.stat(name)
        if stat.S_ISDIR(st.st_mode):
            raise fail("is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise fail("is not a regular file")
        if st.st_size > MAX_PROGRAM_BYTES:
            raise fail(f"is too large ({st.st_size} bytes; at most 1 MiB)")
        with open(name, "rb") as f:
            data = f.read(MAX_PROGRAM_BYTES + 1)
    except FileNotFoundError:
        raise fail("no such file") from None
    except NotADirectoryError:
        raise fail("no such file (a parent in the path is not a directory)") from None
    except PermissionError:
        raise fail("permission denied: cannot read this file") from None
    except OSError as e:
        raise fail(f"cannot read: {e.strerror or e}") from None
    except ValueError:  # a NUL in the path (possible through the control socket)
        raise fail("is not a valid file path") from None
    if len(data) > MAX_PROGRAM_BYTES:  # grew while we read it
        raise fail("is too large (at most 1 MiB)")
    if b"\0" in data:
        raise fail("is a binary file, not YAML text (it contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise fail(f"is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                   "save it as UTF-8") from None
    if not text.strip() and not allow_empty:
        raise fail("is empty")
    logger.debug("read %s (%d bytes)", name, len(data))
    return text
