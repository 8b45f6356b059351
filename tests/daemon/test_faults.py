"""The daemon in-process with a history database it cannot use: a corrupt file is moved aside
and a new one recorded, a database another process holds locked costs a warning and never the
session. The daemon behind its real socket, `coach` verbs in-process (tests/support/served.py);
what needs a real daemon process (another uid, disk full, no sound device) is in
tests/e2e/test_faults.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from coach.daemon.app import RESCAN_S
from tests.support.coachd import ROW_DAY
from tests.support.served import Served

LONG = ROW_DAY


@pytest.fixture
def daemon(served: Served) -> Served:
    (served.programs / "row.yaml").write_text(LONG.format(name="Row day"))
    return served


def assert_clean_log(d: Served) -> None:
    text = d.text()
    assert "Traceback" not in text, text[-4000:]
    assert d.rig is not None and d.rig.thread.is_alive(), "the session thread died"


def test_corrupt_history_is_moved_aside_and_the_session_recorded(daemon: Served) -> None:
    garbage = bytes(range(256)) * 64  # not a database: no SQLite header
    daemon.db.parent.mkdir(parents=True)
    daemon.db.write_bytes(garbage)
    daemon.start()
    daemon.ok("start", "row")
    daemon.wait_for(lambda s: s["state"] == "playing", what="playing")
    daemon.play_s(1.5)
    daemon.ok("stop")
    hist = json.loads(daemon.ok("history", "--json"))
    assert [(h["program"], h["status"]) for h in hist] == [("Row day", "stopped")]
    aside = list(daemon.db.parent.glob("history.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == garbage
    moved = [ln for ln in daemon.text().splitlines() if "is corrupt" in ln]
    assert len(moved) == 1 and str(aside[0]) in moved[0], moved
    assert_clean_log(daemon)


LOCKER = """\
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "rollback":
    con.execute("PRAGMA journal_mode=DELETE")
con.execute("BEGIN EXCLUSIVE")
con.execute("CREATE TABLE IF NOT EXISTS held (x)")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
"""


@pytest.mark.parametrize("journal", ["wal", "rollback"])
def test_locked_history_still_plays_and_warns(daemon: Served, journal: str) -> None:
    """Another process holds BEGIN EXCLUSIVE: on coach's own (WAL) database it blocks writers
    only, so the daemon starts and the session's first write times out; on a rollback-journal
    file it blocks readers too, so history is given up at startup. Either way: it plays. (The
    history's busy timeout is 0.3 s here instead of 3 s: the same path, sooner.)"""
    daemon.db.parent.mkdir(parents=True)
    if journal == "wal":
        from coach.store.history import History
        History(daemon.db).close()  # the database as coach created it
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(daemon.db), journal],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        daemon.start(busy_timeout=0.3)
        daemon.ok("start", "row")
        st = daemon.wait_for(lambda s: s["state"] == "playing", what="playing")
        st = daemon.play_s(1.5)
        assert st["program"] == "Row day"
        daemon.play_s(2.5)  # position updates and a rescan while history is unusable
        daemon.later(RESCAN_S)
        st = daemon.status()
        assert st["state"] == "playing" and st["position"] > 3.0
        text = daemon.text()
        warned = [ln for ln in text.splitlines() if "history database" in ln]
        assert len(warned) == 1 and "locked" in warned[0] and "WARNING" in warned[0], warned
        daemon.ok("stop")
        assert_clean_log(daemon)
    finally:
        assert locker.stdin is not None
        locker.stdin.close()
        locker.wait(timeout=10)
    assert not list(daemon.db.parent.glob("*.corrupt-*")), "locked is not corrupt"
