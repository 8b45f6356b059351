"""A history written by the schema-3 coach (issue 18's base), or by the schema-4 one (loads),
migrates in place to schema 5 (the honest log): every row kept with its id and values, ratings
still pointing at their sets (the tables are rebuilt, and a DROP must not cascade), a completed
session with a set that was not completed marked partial, and the file then takes the new
outcomes. A migration that fails changes nothing."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from coach.report.views import session_json, sets_count
from coach.store.history import History
from coach.store.migrations import MIGRATIONS, SCHEMA_VERSION
from tests.support.cli import coach

T = "2026-11-0{}T07:{:02d}:00+00:00"

# What the schema-3 coach wrote: sessions (position 0 when stopped or completed: its bug),
# one sets row per set (side "both" for a unilateral set), ratings naming their sets row (or
# none), and the values each exercise used.
SESSIONS = [  # id, program, path, started, ended, status, position, updated, resumed_from
    (1, "Legs", "/p/legs.yaml", T.format(1, 0), T.format(1, 40), "completed", 0, T.format(1, 40),
     None),
    (2, "Legs", "/p/legs.yaml", T.format(2, 0), T.format(2, 13), "completed", 0, T.format(2, 13),
     None),
    (3, "Row day", "/p/row.yaml", T.format(3, 0), T.format(3, 5), "stopped", 0, T.format(3, 5),
     None),
    (4, "Legs", "/p/legs.yaml", T.format(4, 0), T.format(4, 20), "interrupted", 600000,
     T.format(4, 10), None),
    (5, "Legs", "/p/legs.yaml", T.format(4, 30), None, "running", 90000, T.format(4, 33), 4),
]
SETS = [  # id, session, exercise, index, set_no, sets, side, started, ended, status, start_ms
    (1, 1, "Bulgarian split squat", 0, 1, 2, "both", T.format(1, 1), T.format(1, 5),
     "completed", 0),
    (2, 1, "Bulgarian split squat", 0, 2, 2, "both", T.format(1, 6), T.format(1, 10),
     "completed", 90000),
    (3, 1, "Wall sit", 1, 1, 1, None, T.format(1, 11), T.format(1, 12), "completed", 180000),
    (4, 2, "Bulgarian split squat", 0, 1, 2, "both", T.format(2, 1), T.format(2, 2),
     "skipped", 0),
    (5, 2, "Bulgarian split squat", 0, 2, 2, "both", T.format(2, 3), T.format(2, 4),
     "completed", 90000),
    (6, 2, "Wall sit", 1, 1, 1, None, T.format(2, 5), T.format(2, 6), "completed", 180000),
    (7, 3, "Row", 0, 1, 3, None, T.format(3, 1), T.format(3, 5), "skipped", 0),
    (8, 4, "Bulgarian split squat", 0, 1, 2, "both", T.format(4, 1), T.format(4, 5),
     "completed", 0),
    (9, 4, "Bulgarian split squat", 0, 2, 2, "both", T.format(4, 6), T.format(4, 20),
     "interrupted", 90000),
    (10, 5, "Bulgarian split squat", 0, 2, 2, "both", T.format(4, 31), None, "running", 90000),
]
RATINGS = [  # id, session, set_id, exercise, index, set_no, side, question, value, rated_at
    (1, 1, 1, "Bulgarian split squat", 0, 1, "left", "feel", 4, T.format(1, 2)),
    (2, 1, 1, "Bulgarian split squat", 0, 1, "right", "feel", 2, T.format(1, 3)),
    (3, 1, 3, "Wall sit", 1, 1, None, "effort", 5, T.format(1, 12)),
    (4, 2, None, "Bulgarian split squat", 0, 2, "left", "feel", 3, T.format(2, 4)),
]
USED = [(1, 0, "Bulgarian split squat", 8, None, 2), (1, 1, "Wall sit", None, 45000, 1),
        (2, 0, "Bulgarian split squat", 8, None, 2), (2, 1, "Wall sit", None, 45000, 1),
        (5, 0, "Bulgarian split squat", 8, None, 2)]
COLUMNS = {
    "sessions": "id, program, program_path, started_at, ended_at, status, position_ms, "
                "updated_at, resumed_from",
    "sets": "id, session_id, exercise, exercise_index, set_no, sets, side, started_at, "
            "ended_at, status, start_ms",
    "ratings": "id, session_id, set_id, exercise, exercise_index, set_no, side, question, "
               "value, rated_at",
    "session_exercises": "session_id, exercise_index, exercise, reps, hold_ms, sets",
}
ROWS = {"sessions": SESSIONS, "sets": SETS, "ratings": RATINGS, "session_exercises": USED}


def schema_3_db(db: Path) -> None:
    """The database as the schema-3 coach left it: its three migrations, foreign keys on (as
    it ran), its rows."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for sql in MIGRATIONS[:3]:
        conn.executescript(sql)
    conn.execute("PRAGMA foreign_keys = ON")
    for table, rows in ROWS.items():
        marks = ", ".join("?" * len(rows[0]))
        conn.executemany(f"INSERT INTO {table}({COLUMNS[table]}) VALUES ({marks})", rows)
    conn.execute("PRAGMA user_version = 3")
    conn.close()


def read(db: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT {COLUMNS[t]} FROM {t} ORDER BY rowid").fetchall()
                for t in ROWS}
    finally:
        conn.close()


def test_a_schema_3_history_migrates_in_place_keeping_every_row(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    schema_3_db(db)
    h = History(db)
    assert h.enabled, h.disabled_reason
    h.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    after = read(db)
    # Every row, id and value; the one change: a completed session with a skipped set.
    want = dict(ROWS, sessions=[s[:5] + ("partial",) + s[6:] if s[0] == 2 else s
                                for s in SESSIONS])
    assert after == want


def test_the_migrated_history_reads_back_right(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    schema_3_db(db)
    h = History(db)
    s5, s4, s3, s2, s1 = h.recent(None)
    assert [s.status for s in (s1, s2, s3, s4, s5)] == [
        "completed", "partial", "stopped", "interrupted", "running"]
    assert (s1.coached_ms, s1.paused_ms) == (None, None), "not measured before schema 5"
    assert all(x.done is None and x.planned is None and x.unit is None for x in s1.sets)
    j = session_json(s1)
    assert (j["coached_s"], j["paused_s"], j["sets_completed"], j["sets_planned"]) == (
        None, None, 3, 3)
    assert [(e["exercise"], e["set"], e["side"], e["status"], e["ratings"]) for e in j["sets"]] \
        == [("Bulgarian split squat", 1, "left", "completed", {"feel": 4}),
            ("Bulgarian split squat", 1, "right", "completed", {"feel": 2}),
            ("Bulgarian split squat", 2, "left", "completed", {}),
            ("Bulgarian split squat", 2, "right", "completed", {}),
            ("Wall sit", 1, None, "completed", {"effort": 5})]
    assert sets_count(s2) == (2, 3) and sets_count(s3) == (0, 1)
    assert [(r.set_id, r.side, r.value) for r in s1.ratings] == [(1, "left", 4), (1, "right", 2),
                                                                 (3, None, 5)]
    assert [(r.set_id, r.value) for r in s2.ratings] == [(None, 3)]
    # The crash it left is still found, at its set.
    i = h.interrupted()
    assert i is not None and (i.session_id, i.set_no, i.start_ms, i.resumed_from) == (
        5, 2, 90000, 4)
    # Progression reads it: the newest finished session is the interrupted one.
    summary = h.last_session_summary("/p/legs.yaml")
    assert (summary[0].session_id, summary[0].completed, summary[0].sets_completed) == (4, False, 1)
    h.close()


def test_the_migrated_file_takes_the_new_outcomes_and_keeps_its_checks(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    schema_3_db(db)
    h = History(db)
    now = datetime(2026, 11, 5, 7, 0, tzinfo=UTC)
    sid = h.start_session("Legs", "/p/legs.yaml", now)  # closes the crashed one
    x = h.start_set(sid, "Bulgarian split squat", 0, 1, 2, "left", 0, now)
    h.end_set(x, "partial", now, 5, 8, "reps")
    h.end_session(sid, "partial", now, coached_ms=61_000, paused_ms=5_000)
    new = h.recent(1)[0]
    assert (new.status, new.coached_ms, new.paused_ms) == ("partial", 61_000, 5_000)
    assert [(s.side, s.status, s.done, s.planned, s.unit) for s in new.sets] == [
        ("left", "partial", 5, 8, "reps")]
    h.close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = ON")
    for sql in ("UPDATE sets SET status='bogus' WHERE id=1",
                "UPDATE sessions SET status='bogus' WHERE id=1",
                "UPDATE sets SET unit='kg' WHERE id=1",
                "INSERT INTO sets(session_id, exercise, exercise_index, set_no, sets, started_at, "
                "start_ms) VALUES (99, 'X', 0, 1, 1, 't', 0)"):
        try:
            conn.execute(sql)
        except sqlite3.IntegrityError:
            continue
        raise AssertionError(f"the migrated schema took {sql!r}")
    # The references survived the rebuild: a rating follows its set, a set its session.
    conn.execute("DELETE FROM sets WHERE id=3")
    assert conn.execute("SELECT set_id FROM ratings WHERE id=3").fetchone()[0] is None
    assert conn.execute("SELECT set_id FROM ratings WHERE id=1").fetchone()[0] == 1
    conn.execute("DELETE FROM sessions WHERE id=1")
    assert conn.execute("SELECT count(*) FROM sets WHERE session_id=1").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM ratings WHERE session_id=1").fetchone()[0] == 0
    conn.close()


def test_a_migration_that_fails_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    schema_3_db(db)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE sets_v5 (x)")  # in the way of the rebuild
    conn.commit()
    conn.close()
    h = History(db)
    assert not h.enabled and "sets_v5" in (h.disabled_reason or "")
    h.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.close()
    assert read(db) == ROWS



def test_a_schema_4_history_keeps_its_loads_through_the_rebuild(tmp_path: Path) -> None:
    # Schema 4 added sets.load and session_exercises.load; schema 5 rebuilds sets: the loads
    # (and every other row) must come through it.
    db = tmp_path / "history.sqlite3"
    schema_3_db(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(MIGRATIONS[3])
    loads = {1: "24kg", 2: "24.5kg", 4: "50lb", 8: "bodyweight"}
    for set_id, load in loads.items():
        conn.execute("UPDATE sets SET load=? WHERE id=?", (load, set_id))
    conn.execute("UPDATE session_exercises SET load='24kg' WHERE session_id=1")
    conn.execute("PRAGMA user_version = 4")
    conn.close()
    h = History(db)
    assert h.enabled, h.disabled_reason
    s5, s4, s3, s2, s1 = h.recent(None)
    assert [x.load for x in s1.sets] == ["24kg", "24.5kg", None]
    assert [u.load for u in s1.used] == ["24kg", "24kg"]
    assert [x.load for x in s4.sets] == ["bodyweight", None]
    h.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT id, load FROM sets WHERE load IS NOT NULL ORDER BY id"
                        ).fetchall() == sorted(loads.items())
    conn.close()
    want = dict(ROWS, sessions=[s[:5] + ("partial",) + s[6:] if s[0] == 2 else s
                                for s in SESSIONS])
    assert read(db) == want

def test_coach_history_shows_an_old_session_with_its_wall_clock_length(tmp_path: Path) -> None:
    db = tmp_path / "data" / "coach" / "history.sqlite3"
    db.parent.mkdir(parents=True)
    schema_3_db(db)
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), TZ="UTC")
    out = coach("history", "--limit", "5", env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    heads = [ln.split("  ", 1)[1] for ln in out.stdout.splitlines() if not ln.startswith(" ")]
    # Lengths before schema 5 are the wall clock's span ("~"): pauses were not kept apart.
    assert heads == ["Legs  running  0/2 sets  1:30  #5",
                     "Legs  interrupted  1/2 sets  ~20:00  #4",
                     "Row day  stopped  0/1 sets  ~5:00  #3",
                     "Legs  partial  2/3 sets  ~13:00  #2",
                     "Legs  completed  3/3 sets  ~40:00  #1"]
