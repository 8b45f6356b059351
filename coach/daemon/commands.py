"""The daemon's commands: one typed request per verb, in one table shared by the control socket,
the CLI, the headset keys, the GPIO button and the scheduler.

A request is a frozen dataclass; ``parse_request`` turns a JSON object into one (or says in a
line what is wrong), ``request_json`` turns one back. Replies are JSON objects
(``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``): the socket contract in DESIGN.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, cast

from coach.core.types import QUESTIONS, RATING_MAX, RATING_MIN, Question, is_rating

Reply = dict[str, Any]


class CommandError(ValueError):
    """A request the daemon cannot take: unknown verb, missing or mistyped field."""


@dataclass(frozen=True)
class Ping:
    verb: ClassVar[str] = "ping"
    help: ClassVar[str] = "is the daemon there (its pid)"


@dataclass(frozen=True)
class Status:
    verb: ClassVar[str] = "status"
    help: ClassVar[str] = "what the daemon is doing"


@dataclass(frozen=True)
class Start:
    verb: ClassVar[str] = "start"
    help: ClassVar[str] = "start a program (a name in the programs dir, or a file)"
    program: str
    force: bool = False
    # Set by the scheduler: the slot's scheduled time, so one slot never starts twice.
    slot: str | None = None


@dataclass(frozen=True)
class Pause:
    verb: ClassVar[str] = "pause"
    help: ClassVar[str] = "pause the session"


@dataclass(frozen=True)
class Resume:
    verb: ClassVar[str] = "resume"
    help: ClassVar[str] = "resume where it paused (or an interrupted session at its set)"


@dataclass(frozen=True)
class Toggle:
    verb: ClassVar[str] = "toggle"
    help: ClassVar[str] = "pause or resume (a headset's play/pause key)"


@dataclass(frozen=True)
class Skip:
    verb: ClassVar[str] = "skip"
    help: ClassVar[str] = "to the next set or rest"


@dataclass(frozen=True)
class Back:
    verb: ClassVar[str] = "back"
    help: ClassVar[str] = "to the start of this set (or the previous, within 3 s)"


@dataclass(frozen=True)
class Extend:
    verb: ClassVar[str] = "extend"
    help: ClassVar[str] = "add 30 s to this rest"


@dataclass(frozen=True)
class Stop:
    verb: ClassVar[str] = "stop"
    help: ClassVar[str] = "stop the session"


@dataclass(frozen=True)
class Reload:
    verb: ClassVar[str] = "reload"
    help: ClassVar[str] = "re-read the programs directory"


@dataclass(frozen=True)
class Rate:
    verb: ClassVar[str] = "rate"
    help: ClassVar[str] = "rate the set just done, 1-5 (until the next set starts)"
    value: int
    question: Question | None = None  # default: the first question the set asks


@dataclass(frozen=True)
class Programs:
    verb: ClassVar[str] = "programs"
    help: ClassVar[str] = "each program's name, path and last error"


Request = (Ping | Status | Start | Pause | Resume | Toggle | Skip | Back | Extend | Stop | Reload
           | Rate | Programs)

# The one table: every input reaches the daemon through it.
COMMANDS: dict[str, type[Request]] = {
    c.verb: c for c in (Ping, Status, Start, Pause, Resume, Toggle, Skip, Back, Extend, Stop,
                        Reload, Rate, Programs)
}
# Verbs that act on a running session (answered "no session is running" without one).
SESSION_VERBS = frozenset({"pause", "resume", "toggle", "skip", "back", "extend", "stop",
                           "rate"})


def parse_request(obj: Any) -> Request:
    """A JSON request object → its typed request; CommandError says what is wrong."""
    if not isinstance(obj, dict):
        raise CommandError("request must be a JSON object")
    verb = obj.get("cmd")
    if not isinstance(verb, str):
        raise CommandError('request has no "cmd" string')
    cls = COMMANDS.get(verb)
    if cls is None:
        raise CommandError(f"unknown command {verb!r}")
    if cls is Start:
        program = obj.get("program")
        if not isinstance(program, str) or not program:
            raise CommandError("start needs a program name or path")
        if "\x00" in program:
            raise CommandError("start: a program name cannot contain a NUL byte")
        slot = obj.get("slot")
        return Start(program=program, force=bool(obj.get("force")),
                     slot=slot if isinstance(slot, str) else None)
    if cls is Rate:
        value = obj.get("value")
        if not is_rating(value):
            raise CommandError(f"rate needs a value from {RATING_MIN} to {RATING_MAX}, got {value!r}")
        question = obj.get("question")
        if question is not None and question not in QUESTIONS:
            raise CommandError(f"rate: question must be one of {', '.join(QUESTIONS)}, "
                               f"got {question!r}")
        return Rate(value=value, question=question)
    return cast(Callable[[], Request], cls)()  # every other request has no fields


def request_json(req: Request) -> dict[str, Any]:
    """The JSON object of a request (what the CLI sends)."""
    out: dict[str, Any] = {"cmd": req.verb}
    out.update({k: v for k, v in asdict(req).items() if v is not None})
    return out


def ok(**values: Any) -> Reply:
    return {"ok": True, **values}


def error(message: str) -> Reply:
    return {"ok": False, "error": message}
