"""The control protocol's messages: a frozen dataclass per request (one per verb) and per reply,
each with ``from_json`` and ``to_json`` (as Wyoming's events). JSON objects meet them only in
the wire codec, coach.protocol.codec; DESIGN.md's control-socket contract is their JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Self

from coach.core.types import (
    QUESTIONS,
    RATING_MAX,
    RATING_MIN,
    RATINGS,
    Measure,
    PhaseKind,
    Question,
    SessionState,
    SetOutcome,
    Side,
    is_rating,
)

JsonObject = dict[str, Any]  # one line of the wire, parsed


class CommandError(ValueError):
    """A request the daemon cannot take: unknown verb, missing or mistyped field."""


def _known(cls: Any, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the dataclass ``cls``'s fields that ``obj`` has (the rest keep defaults)."""
    return {f.name: obj[f.name] for f in fields(cls) if f.name in obj}


def omitted() -> Any:
    """A field left out of the JSON while it is None (the reply's key is absent, not null)."""
    return field(default=None, metadata={"omit": True})


def cli(**argparse_kwargs: Any) -> dict[str, Any]:
    """Field metadata: the field is on the command line, with these argparse settings (a
    field without a default is positional, one with a default is ``--NAME``)."""
    return {"cli": argparse_kwargs}


# --- replies --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Failed:
    """Any request the daemon did not carry out, and why (a line for the user)."""

    error: str

    def to_json(self) -> JsonObject:
        return {"ok": False, "error": self.error}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Failed:
        return cls(str(obj.get("error")))


@dataclass(frozen=True)
class _Done:
    """A reply that carried out its request: ``{"ok": true, FIELD: VALUE, ...}``."""

    def to_json(self) -> JsonObject:
        return {"ok": True, **asdict(self)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Self:
        return cls(**_known(cls, obj))


@dataclass(frozen=True)
class Pong(_Done):
    """ping: the daemon is there."""

    pid: int


RESUME_HINT = "coach resume (or the headset's play key) restarts it at that set"


@dataclass(frozen=True)
class Interrupted:
    """A session a crash left unfinished, in an idle status: where ``resume`` restarts it."""

    program: str
    path: str
    exercise_index: int | None
    set: int | None
    hint: str = RESUME_HINT

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Interrupted:
        return cls(**_known(cls, obj))


@dataclass(frozen=True)
class Status(_Done):
    """What the daemon is doing: status's reply, and every verb's that moves a session.

    The first fields are always in the JSON (null when they do not apply); an ``omitted()``
    field's key is left out while it is None. A new field is one line here."""

    state: SessionState = "idle"
    program: str | None = None
    exercise: str | None = None
    set: int | None = None
    sets: int | None = None
    side: Side | None = None
    phase: PhaseKind | None = None
    rep: int | None = None
    position: float = 0.0  # seconds into the session, to the millisecond
    next: str | None = None  # the next set ("done" after the last); idle: the next schedule
    # One line for every part that is off or degraded ("history not saving: disk full").
    problems: list[str] = field(default_factory=list)
    listening: bool = False  # the mic window is open (config `listen:`)
    error_last_start: str | None = omitted()  # idle: why the last start did not play
    reason: str | None = omitted()  # why a session is paused that was not asked to
    duration: float | None = omitted()
    prepared: int | None = omitted()  # preparing: clips made of those needed
    needed: int | None = omitted()
    exercise_index: int | None = omitted()
    set_start: float | None = omitted()
    set_end: float | None = omitted()
    pose: str | None = omitted()
    phase_end: float | None = omitted()  # seconds into the session at which this phase ends
    interrupted: Interrupted | None = omitted()
    extended: float | None = omitted()  # s of `coach extend`'s extra rest still to play

    def to_json(self) -> JsonObject:
        out: JsonObject = {"ok": True}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit"):
                continue
            out[f.name] = value.to_json() if isinstance(value, Interrupted) else value
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Self:
        kw = _known(cls, obj)
        if isinstance(kw.get("interrupted"), Mapping):
            kw["interrupted"] = Interrupted.from_json(kw["interrupted"])
        return cls(**kw)


@dataclass(frozen=True)
class Stopped(_Done):
    """stop: no session runs now; ``not_saved``: why its end is not in the history (the key
    left out when it is)."""

    not_saved: str | None = None

    def to_json(self) -> JsonObject:
        out: JsonObject = {"ok": True, "state": "idle"}
        if self.not_saved is not None:
            out["not_saved"] = self.not_saved
        return out


@dataclass(frozen=True)
class Rated(_Done):
    """rate: the rating as stored, and ``was``, the value it replaced (its key left out when
    it replaced none)."""

    exercise: str
    set: int
    side: Side | None
    question: Question
    value: int
    was: int | None = None

    def to_json(self) -> JsonObject:
        out = super().to_json()
        if self.was is None:
            del out["was"]
        return out


@dataclass(frozen=True)
class Reloaded(_Done):
    """reload: the programs now known, those that changed, and each broken file's error."""

    programs: list[str]
    changed: list[str]
    errors: dict[str, str]


@dataclass(frozen=True)
class ProgramInfo:
    """One program file: its name (None when it does not load), path and last error."""

    name: str | None
    path: str
    error: str | None


@dataclass(frozen=True)
class ProgramList(_Done):
    """programs: each program file by stem, and the directory they are in (``dir``: left out
    of the JSON while None)."""

    programs: dict[str, ProgramInfo]
    dir: str | None = None

    def to_json(self) -> JsonObject:
        out = super().to_json()
        if self.dir is None:
            del out["dir"]
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Self:
        return cls({stem: ProgramInfo(**_known(ProgramInfo, p))
                    for stem, p in obj["programs"].items()}, obj.get("dir"))


Reply = Failed | Pong | Status | Stopped | Rated | Reloaded | ProgramList


# --- events -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SetEnded:
    """A set (or one side of a unilateral set) closed: the next one started or the session
    ended, so its rating window is over. How it went and the ratings it got; the daemon hands
    it to its listeners (MQTT's event entity), never a reply on the socket."""

    program: str
    exercise: str
    exercise_index: int
    set: int
    sets: int
    side: Side | None
    outcome: SetOutcome
    done: float
    planned: float
    measure: Measure
    ratings: dict[Question, int] = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        return asdict(self)


# --- requests -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Request:
    """A request. Each knows its verb, its help line, whether it needs a running session
    (without one it is answered "no session is running") and its reply's type; one without
    fields says nothing on the wire but its verb."""

    needs_session: ClassVar[bool] = False

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Self:
        return cls()

    def to_json(self) -> JsonObject:
        return {}


@dataclass(frozen=True)
class Ping(_Request):
    verb: ClassVar[str] = "ping"
    help: ClassVar[str] = "is the daemon there (its pid)"
    reply: ClassVar[type[Pong]] = Pong


@dataclass(frozen=True)
class GetStatus(_Request):
    verb: ClassVar[str] = "status"
    help: ClassVar[str] = "what the daemon is doing"
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class Start(_Request):
    verb: ClassVar[str] = "start"
    help: ClassVar[str] = "start a program (a name in the programs dir, or a file)"
    reply: ClassVar[type[Status]] = Status
    program: str = field(metadata=cli(metavar="PROGRAM"))
    force: bool = field(default=False, metadata=cli(action="store_true",
                                                     help="stop the running session first"))
    # Set by the scheduler: the slot's scheduled time, so one slot never starts twice.
    slot: str | None = None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Self:
        program = obj.get("program")
        if not isinstance(program, str) or not program:
            raise CommandError("start needs a program name or path")
        if "\x00" in program:
            raise CommandError("start: a program name cannot contain a NUL byte")
        force = obj.get("force", False)
        if not isinstance(force, bool):  # "yes", 0, "false": only a JSON boolean says it
            raise CommandError(f"start: force must be true or false, got {force!r}")
        slot = obj.get("slot")
        return cls(program=program, force=force, slot=slot if isinstance(slot, str) else None)

    def to_json(self) -> JsonObject:
        out: JsonObject = {"program": self.program, "force": self.force}
        if self.slot is not None:
            out["slot"] = self.slot
        return out


@dataclass(frozen=True)
class Pause(_Request):
    verb: ClassVar[str] = "pause"
    help: ClassVar[str] = "pause the session"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class Resume(_Request):
    verb: ClassVar[str] = "resume"
    help: ClassVar[str] = "resume where it paused (or an interrupted session at its set)"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class Toggle(_Request):
    verb: ClassVar[str] = "toggle"
    help: ClassVar[str] = "pause or resume (a headset's play/pause key)"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class Skip(_Request):
    verb: ClassVar[str] = "skip"
    help: ClassVar[str] = "to the next set or rest"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class Back(_Request):
    verb: ClassVar[str] = "back"
    help: ClassVar[str] = "to the start of this set (or the previous, within 3 s)"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class Extend(_Request):
    verb: ClassVar[str] = "extend"
    help: ClassVar[str] = "add 30 s to this rest"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class Listen(_Request):
    verb: ClassVar[str] = "listen"
    help: ClassVar[str] = ("open the mic for a spoken command: pause, resume, skip, back, extend, "
                           "repeat, how long, stop (config listen:)")
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class Repeat(_Request):
    verb: ClassVar[str] = "repeat"
    help: ClassVar[str] = "say the last cue again (an announcement, the rest, a question)"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class HowLong(_Request):
    verb: ClassVar[str] = "how-long"
    help: ClassVar[str] = "say the time left in this set, hold or rest (\"40 seconds left\")"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class AskStop(_Request):
    verb: ClassVar[str] = "ask-stop"
    help: ClassVar[str] = ("say \"stop the session?\" (what a spoken stop asks; its \"yes\" "
                           "then stops)")
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class NotNow(_Request):
    verb: ClassVar[str] = "not-now"
    help: ClassVar[str] = "say \"not now\" (what a spoken command the session refused hears)"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class SayAgain(_Request):
    verb: ClassVar[str] = "say-again"
    help: ClassVar[str] = ("say \"say again?\" (what a command window that heard no command "
                           "asks; it listens once more)")
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class OneToFive(_Request):
    verb: ClassVar[str] = "one-to-five"
    help: ClassVar[str] = ("say \"one to five?\" (what a rating window that heard a number off "
                           "the scale asks)")
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Status]] = Status


@dataclass(frozen=True)
class Stop(_Request):
    verb: ClassVar[str] = "stop"
    help: ClassVar[str] = "stop the session"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Stopped]] = Stopped


@dataclass(frozen=True)
class Reload(_Request):
    verb: ClassVar[str] = "reload"
    help: ClassVar[str] = "re-read the programs directory"
    reply: ClassVar[type[Reloaded]] = Reloaded


@dataclass(frozen=True)
class Rate(_Request):
    verb: ClassVar[str] = "rate"
    help: ClassVar[str] = "rate the set just done, 1-5 (until the next set starts)"
    needs_session: ClassVar[bool] = True
    reply: ClassVar[type[Rated]] = Rated
    value: int = field(metadata=cli(type=int, choices=RATINGS, metavar="N",
                                    help="1-5 (feel: 1 not at all ... 5 fully; effort: 1 easy "
                                         "... 5 nothing left)"))
    question: Question | None = field(default=None, metadata=cli(
        choices=QUESTIONS, help="default: the first question the set asks"))
    # Said aloud: the words the mic heard ("it was a four") and its confidence; read back.
    heard: str | None = None
    confidence: float | None = None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Self:
        value = obj.get("value")
        if not is_rating(value):
            raise CommandError(f"rate needs a value from {RATING_MIN} to {RATING_MAX}, got {value!r}")
        question = obj.get("question")
        if question is not None and question not in QUESTIONS:
            raise CommandError(f"rate: question must be one of {', '.join(QUESTIONS)}, "
                               f"got {question!r}")
        heard, confidence = obj.get("heard"), obj.get("confidence")
        if heard is not None and (not isinstance(heard, str) or not heard.strip()):
            raise CommandError(f"rate: heard must be the words heard, got {heard!r}")
        if confidence is not None and (heard is None or isinstance(confidence, bool)
                                       or not isinstance(confidence, int | float)
                                       or not 0 <= confidence <= 1):
            raise CommandError("rate: confidence must be 0-1, with heard, got "
                               f"{confidence!r}")
        return cls(value=value, question=question, heard=heard,
                   confidence=None if confidence is None else float(confidence))

    def to_json(self) -> JsonObject:
        out: JsonObject = {"value": self.value}
        if self.question is not None:
            out["question"] = self.question
        if self.heard is not None:
            out["heard"] = self.heard
        if self.confidence is not None:
            out["confidence"] = self.confidence
        return out


@dataclass(frozen=True)
class Programs(_Request):
    verb: ClassVar[str] = "programs"
    help: ClassVar[str] = "each program's name, path and last error"
    reply: ClassVar[type[ProgramList]] = ProgramList


Request = (Ping | GetStatus | Start | Pause | Resume | Toggle | Skip | Back | Extend | Stop
           | Reload | Rate | Programs | Listen | Repeat | HowLong | AskStop | NotNow
           | SayAgain | OneToFive)
