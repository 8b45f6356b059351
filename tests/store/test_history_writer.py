"""The daemon's history writes while the database cannot take them (issue 19): held in memory,
in order, and written when a retry finds it writable again; retried with back-off (1 s,
doubling, at most 30 s), at once when a lifter waits for the answer; a write is acknowledged
only once it is in the database. Real SQLite on a real tmpfs (full, read-only) or a lock held by
another connection; the writer's clock is the test's (the daemon passes its monotonic clock)."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coach.store.history import History
from coach.store.writer import HistoryWriter
from tests.support.fs import Tmpfs

T0 = datetime(2026, 11, 5, 7, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


class Clock:
    """Monotonic seconds that only the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def tmpfs(tmp_path: Path):
    with Tmpfs(tmp_path / "mnt") as fs:
        yield fs


def rows(db: Path) -> dict[str, list[tuple]]:
    """What another process reads in the file."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            "sessions": conn.execute("SELECT id, program, status, position_ms, coached_ms "
                                     "FROM sessions ORDER BY id").fetchall(),
            "sets": conn.execute("SELECT id, session_id, set_no, status FROM sets "
                                 "ORDER BY id").fetchall(),
            "ratings": conn.execute("SELECT session_id, set_id, set_no, question, value "
                                    "FROM ratings ORDER BY id").fetchall(),
        }
    finally:
        conn.close()


def test_writes_held_on_a_full_disk_are_written_in_order_once_it_has_room(
        tmpfs: Tmpfs, caplog: pytest.LogCaptureFixture) -> None:
    db = tmpfs.path / "history.sqlite3"
    History(db).close()
    clock = Clock()
    h = History(db)
    w = HistoryWriter(h, clock)
    sid = w.start_session("Rows", "rows.yaml", at(0))
    first = w.start_set(sid, "Row", 0, 1, 2, None, 0, at(1))
    assert sid > 0 and first > 0 and w.saving and w.problem is None
    # Another process reading (`coach history`) holds the file open: when the writer's
    # connection lets go after the failure, the WAL and its index stay (the last connection's
    # close would delete them and so free room by itself).
    reader = sqlite3.connect(db)
    reader.execute("SELECT count(*) FROM sessions").fetchone()
    tmpfs.fill()
    with caplog.at_level(logging.WARNING):
        assert not w.end_set(first, "completed", at(10), 2, 2, "reps")
    assert (w.reason, w.problem) == ("disk full", "history not saving: disk full")
    assert not w.rate(sid, first, "Row", 0, 1, None, "feel", 4, at(11)), "not acknowledged"
    second = w.start_set(sid, "Row", 0, 2, 2, None, 40_000, at(40))
    assert second < 0, "a stand-in for the row it will be"
    for pos in (41_000, 46_000, 51_000):  # positions merge: the newest wins
        w.update_position(sid, pos, at(pos / 1000), coached_ms=pos - 1000)
    assert w.rating(sid, 0, 1, None, "feel") == 4, "what is held is what the set has"
    assert not w.rate(sid, first, "Row", 0, 1, None, "feel", 3, at(52))  # a correction
    assert not w.end_session(sid, "stopped", at(60))
    assert w.held == 6
    [said] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "disk full" in said, said  # once, however many writes wait
    tmpfs.free()
    reader.close()
    assert not w.retry(), "not before its back-off"
    assert rows(db)["sets"] == [(first, sid, 1, "running")]
    clock.t += 30
    assert w.retry() and w.saving and w.problem is None and w.held == 0
    got = rows(db)
    assert got["sessions"] == [(sid, "Rows", "stopped", 51_000, 50_000)]
    assert [(s[1], s[2], s[3]) for s in got["sets"]] == [(sid, 1, "completed"),
                                                          (sid, 2, "interrupted")]
    assert got["ratings"] == [(sid, first, 1, "feel", 3)]
    # Written, the stand-in is its row: later writes go straight to the database.
    assert w.end_set(second, "skipped", at(61)) and w.saving
    assert rows(db)["sets"][1][3] == "skipped"
    h.close()


def test_history_off_from_the_start_is_held_and_written_once_the_folder_can_be(
        tmpfs: Tmpfs) -> None:
    db = tmpfs.path / "history.sqlite3"
    with History(db) as h:
        old = h.start_session("Old", "old.yaml", at(-86400))
    tmpfs.remount("ro")
    clock = Clock()
    h = History(db)
    w = HistoryWriter(h, clock)
    assert w.problem == "history not saving: read-only file system"
    assert [s.id for s in h.recent()] == [old], "reads go on"
    sid = w.start_session("Rows", "rows.yaml", at(0))
    row = w.start_set(sid, "Row", 0, 1, 1, None, 0, at(1))
    assert sid < 0 and row < 0
    assert not w.rate(sid, row, "Row", 0, 1, None, "feel", 5, at(11))
    tmpfs.remount("rw")
    clock.t += 1
    assert w.retry()
    got = rows(db)
    assert [s[:3] for s in got["sessions"]] == [(old, "Old", "interrupted"),
                                                (old + 1, "Rows", "running")]
    assert got["ratings"] == [(old + 1, got["sets"][0][0], 1, "feel", 5)]
    h.close()


def test_retries_back_off_from_1_s_to_at_most_30_s_and_a_lifter_waiting_tries_at_once(
        tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    History(db).close()
    clock = Clock()
    h = History(db, busy_timeout=0.05)
    w = HistoryWriter(h, clock)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    start = clock.t
    sid = w.start_session("Rows", "rows.yaml", at(0))
    assert sid < 0 and w.reason == "database is locked"
    # Tried at 1, 3, 7, 15, 31 s (each failure doubles the wait), then every 30 s.
    for due in (1, 3, 7, 15, 31):
        clock.t = start + due - 0.01
        assert not w.retry()
        clock.t = start + due
        assert not w.retry()
    other.execute("ROLLBACK")  # the lock is gone at 31.5 s
    clock.t = start + 60.9
    assert not w.retry() and w.held == 1, "not tried before its time"
    clock.t = start + 61
    assert w.retry() and w.saving
    [(real, program)] = sqlite3.connect(db).execute("SELECT id, program FROM sessions")
    assert program == "Rows"
    # Locked again: a rating (a lifter waits for its answer) tries again at once, 1 s on.
    other.execute("BEGIN IMMEDIATE")
    assert not w.update_position(real, 5000, at(5))
    clock.t += 1
    other.execute("ROLLBACK")
    assert w.rate(real, None, "Row", 0, 1, None, "feel", 4, at(6)), "stored: acknowledged"
    assert w.saving
    other.close()
    h.close()


def test_what_cannot_be_written_by_the_time_the_daemon_stops_is_said(
        tmpfs: Tmpfs, caplog: pytest.LogCaptureFixture) -> None:
    db = tmpfs.path / "history.sqlite3"
    History(db).close()
    h = History(db)
    w = HistoryWriter(h, Clock())
    reader = sqlite3.connect(db)  # another process reading: the WAL stays when h lets go
    reader.execute("SELECT count(*) FROM sessions").fetchone()
    tmpfs.fill()
    w.start_session("Rows", "rows.yaml", at(0))
    with caplog.at_level(logging.ERROR, logger="coach.store.writer"):
        w.close()
    reader.close()
    [said] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "1 writes not saved (disk full)" in said, said
    h.close()
