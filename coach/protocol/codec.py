"""The control protocol's commands: the one table of verbs (shared by the control socket, the
CLI, the headset keys, the GPIO button, MPRIS and the scheduler) and the wire codec between JSON
objects and the typed messages of coach.protocol.messages.

Every input reaches the daemon as a typed request: ``parse_request`` turns a JSON object into
one (or says in a line what is wrong) and ``request_json`` turns one back; a typed reply becomes
JSON by its ``to_json`` and is read back by ``parse_reply``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from coach.protocol.messages import (
    AskStop,
    Back,
    CommandError,
    Extend,
    Failed,
    GetStatus,
    HowLong,
    JsonObject,
    Listen,
    NotNow,
    OneToFive,
    Pause,
    Ping,
    Programs,
    Rate,
    Reload,
    Repeat,
    Reply,
    Request,
    Resume,
    SayAgain,
    Skip,
    Start,
    Stop,
    Toggle,
)

# The one table: every input reaches the daemon through it.
COMMANDS: dict[str, type[Request]] = {
    c.verb: c for c in (Ping, GetStatus, Start, Pause, Resume, Toggle, Skip, Back, Extend, Stop,
                        Reload, Rate, Programs, Listen, Repeat, HowLong, AskStop, NotNow,
                        SayAgain, OneToFive)
}


def request_verb(obj: object, known: Collection[str] = COMMANDS) -> str:
    """The verb of a JSON request object, one of ``known``; CommandError says what is wrong."""
    if not isinstance(obj, dict):
        raise CommandError("request must be a JSON object")
    verb = obj.get("cmd")
    if not isinstance(verb, str):
        raise CommandError('request has no "cmd" string')
    if verb not in known:
        raise CommandError(f"unknown command {verb!r}")
    return verb


def parse_request(obj: object) -> Request:
    """A JSON request object → its typed request; CommandError says what is wrong."""
    cls = COMMANDS[request_verb(obj)]
    assert isinstance(obj, dict)  # request_verb said so
    return cls.from_json(obj)


def request_json(req: Request) -> JsonObject:
    """The JSON object of a request (what the CLI sends)."""
    return {"cmd": req.verb, **req.to_json()}


def parse_reply(req: Request, obj: JsonObject) -> Reply:
    """The daemon's JSON reply to ``req`` → its typed reply (``Failed`` unless it says ok)."""
    if not obj.get("ok"):
        return Failed.from_json(obj)
    return req.reply.from_json(obj)


def answer_json(handle: Callable[[Request], Reply], obj: object) -> JsonObject:
    """The socket's side of the wire: a JSON request object, parsed, answered by ``handle``
    (the daemon's typed handler), and its reply as JSON."""
    try:
        req = parse_request(obj)
    except CommandError as e:
        return Failed(str(e)).to_json()
    return handle(req).to_json()
