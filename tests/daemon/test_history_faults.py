"""Acknowledged means stored (issue 19), in-process: the real session thread, real SQLite on a
real tmpfs (filled, or read-only), the clip worker (espeak-ng), the DummyPlayer on a clock the test
moves (a SimClock: the writer's back-off runs on it). A rating or a session's end the history
cannot take is answered "not saved: history is off: <cause>" (and the echo of taps says "not
saved"); `status` says what is off; the writes are held and written once the cause is gone."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from coach.core.navigation import rating_words
from coach.store.history import History
from tests.support.audio import find_clip
from tests.support.fs import Tmpfs
from tests.support.rig import Rig, SimClock

# Row set 1: announce 0-3, lead-in 3-6, work 6-10, then the feel question and its answer
# phase; set 2 after a 40 s rest.
ROWS = """\
program: Rows
defaults: {rest: 40s, lead_in: 3s, announce: 3s}
rate: feel
exercises:
  - name: Row
    sets: 2
    reps: 2
    cadence: 2s
"""


@pytest.fixture
def data(tmp_path: Path):
    with Tmpfs(tmp_path / "data") as fs:
        yield fs


def start(rig: Rig) -> None:
    (rig.programs / "rows.yaml").write_text(ROWS)
    rig.call("reload")
    rig.start("rows")


def test_a_full_disk_mid_session_is_said_spoken_and_what_was_held_written_once_it_has_room(
        tmp_path: Path, data: Tmpfs, espeak: None) -> None:
    db = data.path / "history.sqlite3"
    History(db).close()
    clock = SimClock()
    with Rig(tmp_path, history_path=db, monotonic=clock) as rig:
        start(rig)
        # The echo is said from the session's clips as they are at the rating; the clip worker
        # may still be making the later ones (a rating's words among them) when the session
        # plays: at load 8 the echo came without "not saved" (session 6, twice). Wait for them.
        s = rig.d.controller.session
        assert s is not None
        words = rating_words(s.resolved.timeline, 3, 0, None, s.resolved.program.words,
                             saved=False)
        deadline = time.monotonic() + 30
        while not all(t in s.clips for t in words.texts) and time.monotonic() < deadline:
            time.sleep(0.05)
        answer = rig.answer_phases()[0]
        rig.play_to(answer.t_ms / 1000 + 0.5)
        assert rig.status()["problems"] == []
        # A reader (`coach history`) holds the file open: the daemon's connection closing
        # after the failed write does not delete the WAL and its index, which would free
        # room by itself.
        reader = sqlite3.connect(db)
        reader.execute("SELECT count(*) FROM sessions").fetchone()
        data.fill()
        for _ in range(3):  # taps in the answer window: the rating, then its echo
            assert rig.call("toggle")["state"] == "playing"
        time.sleep(2.3)
        assert words.texts == ("Row, set 1 of 2", "3", "not saved")
        rig.play_s(0.1)
        n = len(rig.player.heard)
        rig.play_s(6.0)
        heard = rig.player.heard[n - 4800:]
        at = [find_clip(heard, s.clips[t]) for t in words.texts]
        assert None not in at and at == sorted(at), f"the echo says it was not saved: {at}"
        assert rig.status()["problems"] == ["history not saving: disk full"]
        assert rig.call("rate", value=4) == {"ok": False,
                                             "error": "not saved: history is off: disk full"}
        assert rig.call("stop") == {"ok": True, "state": "idle",
                                    "not_saved": "history is off: disk full"}
        data.free()
        reader.close()
        clock.advance(31)  # past the longest back-off
        rig.wait_for(lambda st: st["problems"] == [], "history saving again")
        [session] = rig.history.recent(1)
        assert (session.program, session.status) == ("Rows", "stopped")
        assert rig.stored_ratings() == [(1, None, "feel", 4)], "the last answer, held, then written"


def test_history_off_from_the_start_says_so_and_keeps_what_happens_meanwhile(
        tmp_path: Path, data: Tmpfs, espeak: None) -> None:
    db = data.path / "history.sqlite3"
    History(db).close()
    data.remount("ro")
    clock = SimClock()
    with Rig(tmp_path, history_path=db, monotonic=clock) as rig:
        assert rig.status()["problems"] == ["history not saving: read-only file system"]
        start(rig)
        rig.play_to(10.3)  # set 1's work just ended
        assert rig.call("rate", value=4) == {
            "ok": False, "error": "not saved: history is off: read-only file system"}
        data.remount("rw")
        clock.advance(31)
        rig.wait_for(lambda st: st["problems"] == [], "history saving again")
        reply = rig.call("rate", value=5)
        assert reply["ok"] and reply["was"] == 4, "the rating given while it was off, kept"
        assert rig.call("stop") == {"ok": True, "state": "idle"}
        [session] = rig.history.recent(1)
        assert (session.program, session.status) == ("Rows", "stopped")
        assert [(x.set_no, x.status) for x in session.sets][:1] == [(1, "completed")]
        assert rig.stored_ratings() == [(1, None, "feel", 5)]
