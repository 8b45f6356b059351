"""`coach status` names every part that is off or degraded (status's `problems`) on a line of
its own, idle or in a session."""

from __future__ import annotations

from coach.cli.remote import _print_status
from coach.protocol.messages import Status


def test_problems_are_printed_after_the_state(capsys):
    _print_status(Status(problems=["mqtt: cannot connect to pi:1883: [Errno 111] Connection "
                                   "refused"]))
    assert capsys.readouterr().out.splitlines() == [
        "idle", "problem: mqtt: cannot connect to pi:1883: [Errno 111] Connection refused"]
    _print_status(Status("playing", program="Row day", exercise="Row", set=1, sets=2,
                         phase="rest", duration=60.0, problems=["a", "b"]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("playing: Row day") and lines[-2:] == ["problem: a", "problem: b"]
    _print_status(Status())
    assert capsys.readouterr().out.splitlines() == ["idle"]
