"""The control protocol's messages and their wire codec: every request and reply type survives
JSON both ways (hypothesis draws each), the wire keeps its shape, and every way a request can be
wrong is said in its own words."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coach.core.types import PHASE_KINDS, QUESTIONS, RATINGS, SESSION_STATES, SIDES
from coach.protocol.codec import (
    COMMANDS,
    answer_json,
    parse_reply,
    parse_request,
    request_json,
    request_verb,
)
from coach.protocol.messages import (
    AskStop,
    Back,
    CommandError,
    Extend,
    Failed,
    GetStatus,
    HowLong,
    Interrupted,
    Listen,
    NotNow,
    OneToFive,
    Pause,
    Ping,
    Pong,
    ProgramInfo,
    ProgramList,
    Programs,
    Rate,
    Rated,
    Reload,
    Reloaded,
    Repeat,
    Reply,
    Request,
    Resume,
    SayAgain,
    Skip,
    Start,
    Status,
    Stop,
    Stopped,
    Toggle,
)

text = st.text(max_size=30)
count = st.integers(min_value=0, max_value=1000)
seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


def maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | s


REQUESTS: dict[type, st.SearchStrategy[Any]] = {
    **{cls: st.builds(cls) for cls in (Ping, GetStatus, Pause, Resume, Toggle, Skip, Back, Extend,
                                       Stop, Reload, Programs, Listen, Repeat, HowLong,
                                       AskStop, NotNow, SayAgain, OneToFive)},
    Start: st.builds(Start, program=st.text(min_size=1).filter(lambda p: "\x00" not in p),
                     force=st.booleans(), slot=maybe(text)),
    Rate: st.builds(Rate, value=st.sampled_from(RATINGS), question=maybe(st.sampled_from(QUESTIONS))),
}

# Every field of Status drawn (a new field needs its strategy here: see the test below).
STATUS_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "state": st.sampled_from(SESSION_STATES), "program": maybe(text), "exercise": maybe(text),
    "set": maybe(count), "sets": maybe(count), "side": maybe(st.sampled_from(SIDES)),
    "phase": maybe(st.sampled_from(PHASE_KINDS)), "rep": maybe(count), "position": seconds,
    "next": maybe(text), "problems": st.lists(text), "error_last_start": maybe(text),
    "reason": maybe(text),
    "duration": maybe(seconds), "prepared": maybe(count), "needed": maybe(count),
    "exercise_index": maybe(count), "set_start": maybe(seconds), "set_end": maybe(seconds),
    "pose": maybe(text), "phase_end": maybe(seconds), "extended": maybe(seconds),
    "listening": st.booleans(),
    "interrupted": maybe(st.builds(Interrupted, program=text, path=text,
                                   exercise_index=maybe(count), set=maybe(count), hint=text)),
}

REPLIES: dict[type, st.SearchStrategy[Any]] = {
    Failed: st.builds(Failed, text),
    Pong: st.builds(Pong, st.integers(min_value=1, max_value=2**22)),
    Status: st.builds(Status, **STATUS_FIELDS),
    Stopped: st.builds(Stopped, not_saved=maybe(text)),
    Rated: st.builds(Rated, exercise=text, set=count, side=maybe(st.sampled_from(SIDES)),
                     question=st.sampled_from(QUESTIONS), value=st.sampled_from(RATINGS)),
    Reloaded: st.builds(Reloaded, st.lists(text), st.lists(text), st.dictionaries(text, text)),
    ProgramList: st.builds(ProgramList, st.dictionaries(
        text, st.builds(ProgramInfo, name=maybe(text), path=text, error=maybe(text))),
        maybe(text)),
}

# A request each successful reply answers (any request may fail).
ASKED: dict[type, Request] = {Pong: Ping(), Status: GetStatus(), Stopped: Stop(),
                              Rated: Rate(3), Reloaded: Reload(), ProgramList: Programs()}


def test_the_strategies_draw_every_message_type() -> None:
    assert set(REQUESTS) == set(get_args(Request)) == set(COMMANDS.values())
    assert set(REPLIES) == set(get_args(Reply))
    assert set(STATUS_FIELDS) == {f.name for f in fields(Status)}
    assert {cls.reply for cls in COMMANDS.values()} == set(ASKED)


def _wire(obj: dict[str, Any]) -> dict[str, Any]:
    """What the other end reads: one line of JSON."""
    line = json.dumps(obj)
    assert "\n" not in line
    return json.loads(line)


@pytest.mark.parametrize("cls", list(REQUESTS), ids=lambda c: c.__name__)
@given(data=st.data())
def test_every_request_round_trips(cls: type, data: st.DataObject) -> None:
    req = data.draw(REQUESTS[cls])
    assert type(req) is cls
    assert cls.from_json(req.to_json()) == req
    assert _wire(req.to_json()) == req.to_json()
    assert _wire(request_json(req)) == request_json(req)
    assert request_json(req)["cmd"] == cls.verb
    assert parse_request(_wire(request_json(req))) == req


@pytest.mark.parametrize("cls", list(REPLIES), ids=lambda c: c.__name__)
@given(data=st.data())
def test_every_reply_round_trips(cls: type, data: st.DataObject) -> None:
    reply = data.draw(REPLIES[cls])
    assert type(reply) is cls
    assert cls.from_json(reply.to_json()) == reply
    assert _wire(reply.to_json()) == reply.to_json()
    assert reply.to_json()["ok"] is (cls is not Failed)
    asked = ASKED.get(cls, Start("row"))
    assert parse_reply(asked, _wire(reply.to_json())) == reply


# --- the wire as it was -----------------------------------------------------------------------

def test_requests_on_the_wire() -> None:
    assert request_json(GetStatus()) == {"cmd": "status"}
    assert request_json(Start("row")) == {"cmd": "start", "program": "row", "force": False}
    assert request_json(Start("row", force=True, slot="2024-05-01T07:00:00+00:00")) == {
        "cmd": "start", "program": "row", "force": True, "slot": "2024-05-01T07:00:00+00:00"}
    assert request_json(Rate(3)) == {"cmd": "rate", "value": 3}
    assert request_json(Rate(4, "effort")) == {"cmd": "rate", "value": 4, "question": "effort"}
    said = Rate(4, None, "it was a four", 0.91)
    assert request_json(said) == {"cmd": "rate", "value": 4, "heard": "it was a four",
                                  "confidence": 0.91}
    assert parse_request(request_json(said)) == said


def test_replies_on_the_wire() -> None:
    assert Failed("no session is running").to_json() == {"ok": False,
                                                          "error": "no session is running"}
    assert Pong(42).to_json() == {"ok": True, "pid": 42}
    assert Stopped().to_json() == {"ok": True, "state": "idle"}
    assert Rated("Row", 2, None, "feel", 4).to_json() == {
        "ok": True, "exercise": "Row", "set": 2, "side": None, "question": "feel", "value": 4}
    assert Reloaded(["a", "b"], ["b"], {"b": "b.yaml: error"}).to_json() == {
        "ok": True, "programs": ["a", "b"], "changed": ["b"], "errors": {"b": "b.yaml: error"}}
    assert ProgramList({"a": ProgramInfo("A", "/p/a.yaml", None)}).to_json() == {
        "ok": True, "programs": {"a": {"name": "A", "path": "/p/a.yaml", "error": None}}}


def test_status_keeps_its_keys_null_or_absent_as_before() -> None:
    # Always there (null when they do not apply); the others only when they have a value.
    idle = Status().to_json()
    # (problems, issue 19, is always there: empty when all is well; so is listening, issue 22)
    assert list(idle) == ["ok", "state", "program", "exercise", "set", "sets", "side", "phase",
                          "rep", "position", "next", "problems", "listening"]
    assert idle == {"ok": True, "state": "idle", "program": None, "exercise": None,
                    "set": None, "sets": None, "side": None, "phase": None, "rep": None,
                    "position": 0.0, "next": None, "problems": [], "listening": False}
    stuck = Status(error_last_start="no output device",
                   interrupted=Interrupted("Row day", "/p/row.yaml", 0, 2)).to_json()
    assert list(stuck)[-3:] == ["listening", "error_last_start", "interrupted"]
    assert stuck["interrupted"] == {
        "program": "Row day", "path": "/p/row.yaml", "exercise_index": 0, "set": 2,
        "hint": "coach resume (or the headset's play key) restarts it at that set"}
    playing = Status("playing", program="Row day", exercise="Row", set=1, sets=2, phase="rest",
                     position=18.0, next="Row, set 2 of 2", duration=60.0, exercise_index=0,
                     set_start=0.0, set_end=28.0).to_json()
    assert list(playing)[13:] == ["duration", "exercise_index", "set_start", "set_end"]


# --- what is wrong with a request, in its own words ----------------------------------------------

@pytest.mark.parametrize("obj, message", [
    ([1, 2], "request must be a JSON object"),
    ("status", "request must be a JSON object"),
    (None, "request must be a JSON object"),
    ({}, 'request has no "cmd" string'),
    ({"program": "row"}, 'request has no "cmd" string'),
    ({"cmd": 7}, 'request has no "cmd" string'),
    ({"cmd": None}, 'request has no "cmd" string'),
    ({"cmd": "dance"}, "unknown command 'dance'"),
    ({"cmd": "Status"}, "unknown command 'Status'"),
    ({"cmd": "start"}, "start needs a program name or path"),
    ({"cmd": "start", "program": ""}, "start needs a program name or path"),
    ({"cmd": "start", "program": 5}, "start needs a program name or path"),
    ({"cmd": "start", "program": ["row"]}, "start needs a program name or path"),
    ({"cmd": "start", "program": "/tmp/\x00.yaml"},
     "start: a program name cannot contain a NUL byte"),
    ({"cmd": "rate"}, "rate needs a value from 1 to 5, got None"),
    ({"cmd": "rate", "value": 0}, "rate needs a value from 1 to 5, got 0"),
    ({"cmd": "rate", "value": 6}, "rate needs a value from 1 to 5, got 6"),
    ({"cmd": "rate", "value": 3.0}, "rate needs a value from 1 to 5, got 3.0"),
    ({"cmd": "rate", "value": "3"}, "rate needs a value from 1 to 5, got '3'"),
    ({"cmd": "rate", "value": True}, "rate needs a value from 1 to 5, got True"),
    ({"cmd": "rate", "value": 3, "question": "mood"},
     "rate: question must be one of feel, effort, got 'mood'"),
    ({"cmd": "rate", "value": 3, "question": 1},
     "rate: question must be one of feel, effort, got 1"),
    ({"cmd": "rate", "value": 3, "heard": ""}, "rate: heard must be the words heard, got ''"),
    ({"cmd": "rate", "value": 3, "heard": 4}, "rate: heard must be the words heard, got 4"),
    ({"cmd": "rate", "value": 3, "heard": "four", "confidence": 2},
     "rate: confidence must be 0-1, with heard, got 2"),
    ({"cmd": "rate", "value": 3, "confidence": 0.5},
     "rate: confidence must be 0-1, with heard, got 0.5"),
])
def test_a_wrong_request_says_what_is_wrong(obj: Any, message: str) -> None:
    with pytest.raises(CommandError) as e:
        parse_request(obj)
    assert str(e.value) == message
    assert answer_json(_never_called, obj) == {"ok": False, "error": message}


def _never_called(req: Request) -> Reply:
    raise AssertionError(f"the handler got {req!r}")


def test_fields_are_read_leniently_where_they_always_were() -> None:
    # (force is no longer one of them: it must be a JSON boolean, tests/test_fault_messages.py)
    assert parse_request({"cmd": "start", "program": "row", "force": True, "slot": 7}) == \
        Start("row", force=True, slot=None)
    assert parse_request({"cmd": "status", "extra": [1]}) == GetStatus()
    assert parse_request({"cmd": "rate", "value": 5, "question": None}) == Rate(5)


def test_the_verb_is_checked_against_the_verbs_served() -> None:
    assert request_verb({"cmd": "status"}, ("status",)) == "status"
    with pytest.raises(CommandError, match="unknown command 'start'"):
        request_verb({"cmd": "start", "program": "row"}, ("status",))


def test_answer_json_hands_the_typed_request_to_the_handler() -> None:
    got: list[Request] = []

    def handle(req: Request) -> Reply:
        got.append(req)
        return Stopped() if isinstance(req, Stop) else Failed("no")

    assert answer_json(handle, {"cmd": "stop"}) == {"ok": True, "state": "idle"}
    assert answer_json(handle, {"cmd": "start", "program": "row"}) == {"ok": False, "error": "no"}
    assert got == [Stop(), Start("row")]


def test_a_reply_that_is_not_ok_is_failed() -> None:
    assert parse_reply(GetStatus(), {"ok": False, "error": "too many connections"}) == \
        Failed("too many connections")
    assert parse_reply(Ping(), {"error": "request too long"}) == Failed("request too long")


def test_every_verb_says_whether_it_needs_a_session() -> None:
    need = {v for v, cls in COMMANDS.items() if cls.needs_session}
    assert need == {"pause", "resume", "toggle", "skip", "back", "extend", "stop", "rate",
                    "listen", "repeat", "how-long", "ask-stop", "not-now",
                    "say-again", "one-to-five"}
