"""The daemon's verbs as a user types them: `coach start/pause/resume/skip/back/extend/stop/
history` run in-process against the daemon behind its real control socket (tests/support/
served.py), the session thread real, the output a DummyPlayer whose clock the test moves. The
real `coach daemon` process is tested in tests/e2e/test_daemon.py for what is about processes."""

from __future__ import annotations

import json

import pytest

from tests.support.coachd import write_program
from tests.support.served import Served


def test_start_pause_resume_skip_back_stop(served: Served) -> None:
    daemon = served
    write_program(daemon.programs / "row.yaml")
    daemon.start()
    assert daemon.status()["state"] == "idle"
    r = daemon.cli("start", "row", check=True)
    assert r.stdout.startswith(("preparing:", "playing:")), r.stdout  # it answers at once
    daemon.wait_for(lambda s: s["state"] == "playing", what="the voice ahead")
    daemon.play_s(0.6)
    st = daemon.wait_for(lambda s: s["position"] > 0.5, what="playback")
    assert (st["state"], st["program"], st["exercise"], st["set"], st["sets"]) == \
        ("playing", "Row day", "Row", 1, 2)
    assert st["phase"] == "announce" and st["next"] == "Row, set 2 of 2"

    daemon.cli("pause", check=True)
    p1 = daemon.status()
    daemon.play_s(1.5)
    p2 = daemon.status()
    assert p1["state"] == p2["state"] == "paused"
    assert p2["position"] == p1["position"], "position must freeze while paused"

    daemon.cli("resume", check=True)  # "resuming. Row, set 1 of 2. 3, 2, 1", then the paused frame
    st = daemon.status()
    assert st["state"] == "playing" and st["position"] == pytest.approx(p2["position"], abs=0.3)
    daemon.play_s(7.0)
    daemon.wait_for(lambda s: s["position"] > p2["position"] + 0.5, timeout=20, what="resume")

    st = json.loads(daemon.ok("skip", "--json"))  # set 1 work -> its rest
    assert st["phase"] == "rest" and st["position"] == pytest.approx(18.0, abs=0.2)
    st = json.loads(daemon.ok("extend", "--json"))
    assert st["phase"] == "rest"
    st = json.loads(daemon.ok("skip", "--json"))  # rest -> set 2
    assert (st["set"], st["phase"]) == (2, "announce") and st["position"] == pytest.approx(28, abs=0.2)
    st = json.loads(daemon.ok("back", "--json"))  # within 3 s of set 2: to set 1
    assert st["set"] == 1 and st["position"] == pytest.approx(0, abs=0.2)
    st = json.loads(daemon.ok("skip", "--json"))
    assert st["position"] == pytest.approx(18, abs=0.2), st
    st = json.loads(daemon.ok("skip", "--json"))
    assert st["position"] == pytest.approx(28, abs=0.2), st
    daemon.play_s(3.5)
    st = json.loads(daemon.ok("back", "--json"))  # past 3 s: start of this set
    assert st["set"] == 2 and st["position"] == pytest.approx(28, abs=0.2)

    r = daemon.cli("start", "row")
    assert r.returncode == 1 and "running" in r.stderr
    daemon.cli("stop", check=True)
    assert daemon.status()["state"] == "idle"
    r = daemon.cli("pause")
    assert r.returncode == 1 and "no session" in r.stderr

    hist = json.loads(daemon.ok("history", "--json"))
    assert hist[0]["program"] == "Row day" and hist[0]["status"] == "stopped"
    statuses = [(s["set_no"], s["status"]) for s in hist[0]["sets"]]
    # Every attempt was skipped before its work began (set 1 from its announcement: the resume
    # words held the position): skipped, never "completed" (issue "an honest training log").
    assert all(isinstance(n, int) for n, _ in statuses), statuses
    assert statuses == [(1, "skipped"), (2, "skipped"), (1, "skipped"), (2, "skipped"),
                        (2, "skipped")], statuses
