"""History on real SQLite files: round trip, kill -9 mid-session, corrupt and locked databases."""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coach.store.history import History
from coach.store.migrations import SCHEMA_VERSION
from tests.support.real import ROOT

T0 = datetime(2024, 3, 4, 7, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    h = History(db)
    s1 = h.start_session("Upper A", "/p/upper.yaml", at(0))
    a = h.start_set(s1, "Lat pulldown", 0, 1, 3, None, 5000, at(5))
    h.end_set(a, "completed", at(60))
    b = h.start_set(s1, "Split squat", 1, 1, 2, "left", 90000, at(90))
    h.end_set(b, "skipped", at(95))
    h.update_position(s1, 123456)
    h.end_session(s1, "completed", at(100))
    s2 = h.start_session("Lower B", "/p/lower.yaml", at(1000))
    h.end_session(s2, "stopped", at(1010))
    h.close()

    h = History(db)  # a new process would see exactly this
    sessions = h.recent()
    assert [s.id for s in sessions] == [s2, s1]  # newest first
    first = sessions[1]
    assert (first.program, first.program_path, first.status) == ("Upper A", "/p/upper.yaml", "completed")
    assert (first.started_at, first.ended_at, first.position_ms) == (at(0), at(100), 123456)
    assert [(x.exercise, x.exercise_index, x.set_no, x.sets, x.side, x.status, x.start_ms)
            for x in first.sets] == [
        ("Lat pulldown", 0, 1, 3, None, "completed", 5000),
        ("Split squat", 1, 1, 2, "left", "skipped", 90000),
    ]
    assert first.sets[0].started_at == at(5) and first.sets[0].ended_at == at(60)
    assert sessions[0].status == "stopped" and sessions[0].sets == []
    assert h.interrupted() is None
    assert len(h.recent(limit=1)) == 1
    h.close()


def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    History(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
    conn.close()


def test_a_schema_1_history_migrates_in_place_and_keeps_every_row(tmp_path: Path) -> None:
    # A database exactly as the schema-1 coach wrote it (its migration, its rows).
    from coach.store.migrations import MIGRATIONS
    db = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO sessions(program, program_path, started_at, status, position_ms) "
                 "VALUES ('Row day', '/p/row.yaml', '2026-11-01T07:00:00+00:00', 'completed', 9)")
    conn.execute("INSERT INTO sessions(program, program_path, started_at, status, position_ms) "
                 "VALUES ('Row day', '/p/row.yaml', '2026-11-02T07:00:00+00:00', 'running', 31000)")
    conn.execute("INSERT INTO sets(session_id, exercise, exercise_index, set_no, sets, side, "
                 "started_at, status, start_ms) VALUES (2, 'Row', 0, 2, 3, NULL, "
                 "'2026-11-02T07:00:28+00:00', 'running', 28000)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    h = History(db)
    [newer, older] = h.recent(2)
    assert (older.program, older.status, older.position_ms) == ("Row day", "completed", 9)
    i = h.interrupted()
    assert i is not None and (i.session_id, i.set_no, i.start_ms) == (2, 2, 28000)
    assert i.updated_at is None and i.resumed_from is None  # unknown age: never auto-resumed
    h.close()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_default_path_is_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    h = History()
    assert h.path == tmp_path / "data" / "coach" / "history.sqlite3"
    assert h.path.exists()
    h.close()


def test_stopping_closes_running_set_and_new_session_closes_stale_one(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    s1 = h.start_session("A", "a.yaml", at(0))
    h.start_set(s1, "Row", 0, 1, 3, None, 0, at(1))
    assert h.interrupted() is not None
    s2 = h.start_session("B", "b.yaml", at(50))  # s1 was never ended: a crash nobody resumed
    got = h.interrupted()
    assert got is not None and got.session_id == s2 and got.set is None
    old = [s for s in h.recent() if s.id == s1][0]
    assert old.status == "interrupted" and old.sets[0].status == "interrupted"
    x = h.start_set(s2, "Curl", 0, 1, 1, None, 7000, at(51))
    h.end_session(s2, "stopped", at(60))
    new = [s for s in h.recent() if s.id == s2][0]
    assert new.sets[0].id == x and new.sets[0].status == "interrupted"
    assert h.interrupted() is None
    with pytest.raises(ValueError):
        h.end_session(s2, "running", at(61))
    h.close()


CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from coach.store.history import History
    h = History(sys.argv[1])
    now = datetime.now(timezone.utc)
    s = h.start_session("Upper A", "/p/upper.yaml", now)
    a = h.start_set(s, "Lat pulldown", 0, 1, 3, None, 5000, now)
    h.end_set(a, "completed", now)
    h.start_set(s, "Lat pulldown", 0, 2, 3, None, 95000, now)
    pos = 95000
    while True:  # the player updating its position until it is killed
        pos += 10
        h.update_position(s, pos)
        print(pos, flush=True)
    """
)


def test_kill_9_mid_session_is_found_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        printed = [int(proc.stdout.readline()) for _ in range(200)]  # 200 commits done
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert Path(str(db) + "-wal").exists()  # killed with its WAL never checkpointed away

    h = History(db)
    got = h.interrupted()
    assert got is not None
    assert (got.program, got.program_path) == ("Upper A", "/p/upper.yaml")
    assert (got.exercise_index, got.set_no, got.start_ms) == (0, 2, 95000)
    assert got.set.exercise == "Lat pulldown" and got.set.status == "running"
    # Every position printed (printed only after its commit) survived the kill.
    assert got.position_ms >= printed[-1]
    h.mark_interrupted(got.session_id, at(0))
    assert h.interrupted() is None
    s = h.recent()[0]
    assert s.status == "interrupted" and [x.status for x in s.sets] == ["completed", "interrupted"]
    h.close()


def test_corrupt_file_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "history.sqlite3"
    junk = b"this is not sqlite at all\n" * 200
    db.write_bytes(junk)
    with caplog.at_level(logging.WARNING, logger="coach.store.history"):
        h = History(db)
    assert h.enabled
    aside = list(tmp_path.glob("history.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == junk
    assert any("corrupt" in r.getMessage() for r in caplog.records)
    sid = h.start_session("A", "a.yaml", at(0))  # the fresh database works
    assert [s.id for s in h.recent()] == [sid]
    h.close()


def test_damaged_pages_are_moved_aside(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    h = History(db)
    s = h.start_session("A", "a.yaml", at(0))
    for i in range(300):
        h.start_set(s, "Row" * 50, i, 1, 1, None, i, at(i))
    h.close()
    data = bytearray(db.read_bytes())
    assert len(data) > 4 * 4096
    data[2 * 4096 : 4 * 4096] = b"\xa5" * (2 * 4096)  # scribble over b-tree pages, keep the header
    db.write_bytes(bytes(data))
    h = History(db)
    assert h.enabled and h.recent() == []
    assert len(list(tmp_path.glob("history.sqlite3.corrupt-*"))) == 1
    h.close()


def test_locked_database_does_not_raise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "h.sqlite3"
    h = History(db, busy_timeout=0.2)
    sid = h.start_session("A", "a.yaml", at(0))
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        with caplog.at_level(logging.WARNING, logger="coach.store.history"):
            set_id = h.start_set(sid, "Row", 0, 1, 3, None, 0, at(1))  # must not raise
            h.end_set(set_id, "completed", at(2))
            h.update_position(sid, 99)
            h.end_session(sid, "completed", at(3))
            assert h.start_session("B", "b.yaml", at(4)) == 0
            assert h.recent() == [] and h.interrupted() is None
        assert not h.enabled
        assert any("not recording history" in r.getMessage() for r in caplog.records)
    finally:
        other.execute("ROLLBACK")
        other.close()
    h.close()
    # Nothing half-written: the session that started before the lock is still intact.
    h = History(db)
    assert [(s.id, s.status, s.sets) for s in h.recent()] == [(sid, "running", [])]
    h.close()


def test_database_locked_before_open(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "h.sqlite3"
    other = sqlite3.connect(db, isolation_level=None)  # rollback journal: locks readers out too
    other.execute("CREATE TABLE t(x)")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO t VALUES (1)")
    try:
        with caplog.at_level(logging.WARNING, logger="coach.store.history"):
            h = History(db, busy_timeout=0.2)
        assert not h.enabled
        assert h.start_session("A", "a.yaml", at(0)) == 0
        h.close()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not list(tmp_path.glob("*.corrupt-*"))  # locked is not corrupt


def test_unusable_location_disables_history(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    h = History(blocker / "coach" / "history.sqlite3")  # mkdir fails: must not raise
    assert not h.enabled and h.disabled_reason
    assert h.start_session("A", "a.yaml", at(0)) == 0
    h.end_session(0, "completed", at(1))
    assert h.recent() == [] and h.interrupted() is None
    h.close()


def test_writes_from_several_threads(tmp_path: Path) -> None:
    import threading

    h = History(tmp_path / "h.sqlite3")
    sid = h.start_session("A", "a.yaml", at(0))

    def worker(k: int) -> None:
        for i in range(50):
            x = h.start_set(sid, f"ex{k}", k, i + 1, 50, None, i, at(i))
            h.end_set(x, "completed", at(i + 1))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sets = h.recent()[0].sets
    assert len(sets) == 200 and all(x.status == "completed" for x in sets)
    h.close()


# --- schema 3: ratings and the values used --------------------------------------------------

def _schema_2_db(db: Path) -> None:
    """A database exactly as the schema-2 coach wrote it: its two migrations, its rows."""
    from coach.store.migrations import MIGRATIONS
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0])
    conn.executescript(MIGRATIONS[1])
    conn.execute("INSERT INTO sessions(program, program_path, started_at, ended_at, status, "
                 "position_ms, updated_at, resumed_from) VALUES ('Legs', '/p/legs.yaml', "
                 "'2026-11-01T07:00:00+00:00', '2026-11-01T07:40:00+00:00', 'interrupted', "
                 "600000, '2026-11-01T07:10:00+00:00', NULL)")
    conn.execute("INSERT INTO sessions(program, program_path, started_at, ended_at, status, "
                 "position_ms, updated_at, resumed_from) VALUES ('Legs', '/p/legs.yaml', "
                 "'2026-11-01T07:12:00+00:00', '2026-11-01T07:50:00+00:00', 'completed', "
                 "2400000, '2026-11-01T07:50:00+00:00', 1)")
    for sid, set_no, status in ((1, 1, "completed"), (1, 2, "interrupted"), (2, 2, "completed")):
        conn.execute("INSERT INTO sets(session_id, exercise, exercise_index, set_no, sets, side, "
                     "started_at, ended_at, status, start_ms) VALUES (?, 'Bulgarian split squat', "
                     "0, ?, 2, 'both', '2026-11-01T07:01:00+00:00', "
                     "'2026-11-01T07:02:00+00:00', ?, 1000)", (sid, set_no, status))
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


def test_a_schema_2_history_migrates_in_place_and_keeps_every_row(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    _schema_2_db(db)
    before = sqlite3.connect(db)
    rows_before = {t: before.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                   for t in ("sessions", "sets")}
    # Later schemas add columns: the old ones must hold the same rows.
    cols = {t: ", ".join(c[1] for c in before.execute(f"PRAGMA table_info({t})"))
            for t in rows_before}
    before.close()
    h = History(db)
    assert h.enabled
    newer, older = h.recent(2)
    assert (older.status, older.position_ms, [x.status for x in older.sets]) == (
        "interrupted", 600000, ["completed", "interrupted"])
    assert newer.resumed_from == 1 and newer.ratings == [] and newer.used == []
    # The new tables work on the migrated file.
    h.rate(2, newer.sets[0].id, "Bulgarian split squat", 0, 2, "left", "feel", 4, at(0))
    h.close()
    after = sqlite3.connect(db)
    assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    for table, rows in rows_before.items():
        assert after.execute(f"SELECT {cols[table]} FROM {table} ORDER BY id").fetchall() == rows
        # Every old column kept; a column added since (schema 4: sets.load; schema 5: the
        # outcomes and coached time) is NULL on them.
        added = ", ".join(c[1] for c in after.execute(f"PRAGMA table_info({table})")
                          if c[1] not in cols[table].split(", "))
        if added:
            assert all(v is None for r in after.execute(f"SELECT {added} FROM {table}")
                       for v in r)
    assert after.execute("SELECT side, question, value FROM ratings").fetchall() == [
        ("left", "feel", 4)]
    after.close()


def test_a_schema_1_history_gets_the_ratings_tables(tmp_path: Path) -> None:
    from coach.store.migrations import MIGRATIONS
    db = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO sessions(program, program_path, started_at, status, position_ms) "
                 "VALUES ('Row day', '/p/row.yaml', '2026-11-01T07:00:00+00:00', 'completed', 9)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    h = History(db)
    h.record_used(1, 0, "Row", 10, None, 3)
    [s] = h.recent()
    assert (s.program, s.position_ms) == ("Row day", 9)
    assert s.used[0].reps == 10
    h.close()


def test_ratings_round_trip_and_a_correction_replaces(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    s = h.start_session("Legs", "/p/legs.yaml", at(0))
    x = h.start_set(s, "Bulgarian split squat", 0, 1, 2, "both", 1000, at(1))
    r1 = h.rate(s, x, "Bulgarian split squat", 0, 1, "left", "feel", 2, at(60))
    h.rate(s, x, "Bulgarian split squat", 0, 1, "right", "feel", 4, at(61))
    h.rate(s, x, "Bulgarian split squat", 0, 1, "left", "effort", 3, at(62))
    r1b = h.rate(s, x, "Bulgarian split squat", 0, 1, "left", "feel", 5, at(63))  # correction
    assert r1b == r1 > 0
    y = h.start_set(s, "Row", 1, 1, 1, None, 9000, at(90))
    h.rate(s, y, "Row", 1, 1, None, "feel", 3, at(120))
    h.rate(s, y, "Row", 1, 1, None, "feel", 4, at(121))  # NULL side still one rating
    h.close()
    h = History(tmp_path / "h.sqlite3")
    [got] = h.recent()
    assert [(r.exercise, r.set_no, r.side, r.question, r.value, r.set_id) for r in got.ratings] == [
        ("Bulgarian split squat", 1, "left", "effort", 3, x),
        ("Bulgarian split squat", 1, "left", "feel", 5, x),
        ("Bulgarian split squat", 1, "right", "feel", 4, x),
        ("Row", 1, None, "feel", 4, y),
    ]
    assert got.ratings[1].rated_at == at(63)
    h.close()


@pytest.mark.parametrize("question, side, value", [
    ("mood", None, 3), ("feel", "both", 3), ("feel", None, 0), ("feel", None, 6),
    ("effort", None, 2.5), ("feel", None, True),
])
def test_a_rating_outside_the_schema_is_refused(tmp_path: Path, question: str, side: str | None,
                                                value: int) -> None:
    h = History(tmp_path / "h.sqlite3")
    s = h.start_session("A", "a.yaml", at(0))
    with pytest.raises(ValueError):
        h.rate(s, None, "Row", 0, 1, side, question, value, at(1))  # type: ignore[arg-type]
    assert h.recent()[0].ratings == []
    h.close()


def test_the_database_itself_refuses_a_bad_rating(tmp_path: Path) -> None:
    # The CHECKs hold even for a writer that skips History's own checks.
    db = tmp_path / "h.sqlite3"
    h = History(db)
    s = h.start_session("A", "a.yaml", at(0))
    h.close()
    conn = sqlite3.connect(db)
    for question, side, value in (("feel", None, 6), ("mood", None, 3), ("feel", "up", 3),
                                  ("feel", None, 2.5)):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO ratings(session_id, exercise, exercise_index, set_no, side, "
                         "question, value, rated_at) VALUES (?, 'Row', 0, 1, ?, ?, ?, 't')",
                         (s, side, question, value))
    conn.close()


def test_last_session_summary(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    assert h.last_session_summary("/p/legs.yaml") == {}
    # An older session, then the latest finished one, then one still running (ignored).
    old = h.start_session("Legs", "/p/legs.yaml", at(0))
    h.record_used(old, 0, "Squat", 8, None, 2)
    h.end_session(old, "completed", at(10))
    s = h.start_session("Legs", "/p/legs.yaml", at(100))
    h.record_used(s, 0, "Squat", 10, None, 2)
    h.record_used(s, 1, "Wall sit", None, 45000, 1)
    h.record_used(s, 2, "Bulgarian split squat", 10, None, 2)
    for n in (1, 2):
        x = h.start_set(s, "Squat", 0, n, 2, None, n * 1000, at(100 + n))
        h.end_set(x, "completed", at(101 + n))
        h.rate(s, x, "Squat", 0, n, None, "feel", 3 + n, at(102 + n))  # 4, 5
        h.rate(s, x, "Squat", 0, n, None, "effort", 2, at(102 + n))
    w = h.start_set(s, "Wall sit", 1, 1, 1, None, 5000, at(110))
    h.end_set(w, "skipped", at(111))
    b = h.start_set(s, "Bulgarian split squat", 2, 1, 2, "both", 9000, at(120))
    h.end_set(b, "completed", at(121))
    h.rate(s, b, "Bulgarian split squat", 2, 1, "left", "feel", 4, at(122))
    h.rate(s, b, "Bulgarian split squat", 2, 1, "right", "feel", 1, at(123))
    h.end_session(s, "completed", at(200))
    h.start_session("Legs", "/p/legs.yaml", at(300))  # running: not finished
    got = h.last_session_summary("/p/legs.yaml")
    assert got == h.last_session_summary("Legs")  # by name too
    assert sorted(got) == [0, 1, 2]
    sq, ws, bss = got[0], got[1], got[2]
    assert (sq.exercise, sq.reps, sq.hold_ms, sq.sets, sq.completed) == ("Squat", 10, None, 2, True)
    assert (sq.feel, sq.effort, sq.session_id, sq.session_status) == (4.5, 2.0, s, "completed")
    assert (ws.hold_ms, ws.completed, ws.feel, ws.effort) == (45000, False, None, None)
    assert (bss.completed, bss.feel) == (False, 2.5)  # set 2 of 2 never done
    assert h.last_session_summary("/p/other.yaml") == {}
    h.close()


def test_last_session_summary_of_a_stopped_session_is_not_completed(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    s = h.start_session("Legs", "/p/legs.yaml", at(0))
    h.record_used(s, 0, "Squat", 10, None, 1)
    x = h.start_set(s, "Squat", 0, 1, 1, None, 0, at(1))
    h.end_set(x, "completed", at(2))
    h.end_session(s, "stopped", at(3))
    [(idx, sq)] = h.last_session_summary("/p/legs.yaml").items()
    assert (idx, sq.completed, sq.session_status) == (0, False, "stopped")
    h.close()


def test_last_session_summary_counts_the_sets_of_the_session_it_resumed(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    s1 = h.start_session("Legs", "/p/legs.yaml", at(0))
    h.record_used(s1, 0, "Squat", 10, None, 2)
    x = h.start_set(s1, "Squat", 0, 1, 2, None, 0, at(1))
    h.end_set(x, "completed", at(2))
    h.rate(s1, x, "Squat", 0, 1, None, "feel", 5, at(3))
    h.start_set(s1, "Squat", 0, 2, 2, None, 100, at(4))  # the crash
    s2 = h.start_session("Legs", "/p/legs.yaml", at(60), resumed_from=s1)
    h.record_used(s2, 0, "Squat", 10, None, 2)
    y = h.start_set(s2, "Squat", 0, 2, 2, None, 100, at(61))
    h.end_set(y, "completed", at(62))
    h.rate(s2, y, "Squat", 0, 2, None, "feel", 3, at(63))
    h.end_session(s2, "completed", at(64))
    sq = h.last_session_summary("/p/legs.yaml")[0]
    assert (sq.completed, sq.feel, sq.session_id) == (True, 4.0, s2)
    h.close()


RATE_CHILD = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from coach.store.history import History
    h = History(sys.argv[1])
    now = datetime.now(timezone.utc)
    s = h.start_session("Legs", "/p/legs.yaml", now)
    x = h.start_set(s, "Bulgarian split squat", 0, 1, 2, "both", 1000, now)
    h.rate(s, x, "Bulgarian split squat", 0, 1, "left", "feel", 4, now)
    print("rated", flush=True)
    sys.stdin.readline()  # waits here, between two ratings, until it is killed
    h.rate(s, x, "Bulgarian split squat", 0, 1, "right", "feel", 2, now)
    """
)


def test_kill_9_between_two_ratings_loses_none_already_written(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", RATE_CHILD, str(db)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "rated"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert Path(str(db) + "-wal").exists()  # the rating is in the WAL, never checkpointed
    h = History(db)
    [s] = h.recent()
    assert [(r.side, r.question, r.value) for r in s.ratings] == [("left", "feel", 4)]
    assert s.sets[0].status == "running"
    h.close()
