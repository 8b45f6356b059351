"""Load in the training log, on real SQLite files: each set keeps the load it was lifted with
(`history --json`, the `coach history` table), the session keeps the load each exercise used
(what double progression steps from), a schema-3 history migrates keeping every row, and
`coach plan` / `coach history` show the notes and say what went up and why."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coach.core.program import load_program
from coach.core.timeline import compile_program
from coach.report.views import session_json, session_lines
from coach.store.history import History
from coach.store.programs import Resolved, progressed
from tests.support.cli import coach as run_coach
from tests.support.real import ROOT

T0 = datetime(2026, 3, 2, 7, 0, 0, tzinfo=UTC)

PROGRAM = """\
program: Legs
notes: |
  Bring chalk.
  Belt for the last set.
exercises:
  - name: Goblet squat
    sets: 2
    reps: 8
    tempo: "1010"
    rest: 20s
    load: 24kg
    notes: heels on 2.5 kg plates
    progress: {reps: +1, max: 12, then: {load: +2.5kg, reps: 8}, when: completed}
  - name: Push-up
    reps: 5
    cadence: 1s
    load: bodyweight
"""


def at(day: int, seconds: float = 0) -> datetime:
    return T0 + timedelta(days=day, seconds=seconds)


def write_program(folder: Path) -> Path:
    path = folder / "legs.yaml"
    path.write_text(PROGRAM)
    return path.resolve()


def log_session(h: History, path: Path, day: int, completed: bool = True) -> list[str]:
    """One session of the program as it plays that day (progression applied), every set
    logged as the session controller logs it; returns the loads of its sets."""
    program, _ = progressed(load_program(path), h, path)
    sid = h.start_session(program.name, str(path), at(day))
    for i, ex in enumerate(program.exercises):
        h.record_used(sid, i, ex.name, ex.reps, ex.hold_ms, ex.sets,
                      None if ex.load is None else str(ex.load))
    for i, ex in enumerate(program.exercises):
        for n in range(1, ex.sets + 1):
            row = h.start_set(sid, ex.name, i, n, ex.sets, None, 0, at(day, n),
                              None if ex.load is None else str(ex.load))
            h.end_set(row, "completed" if completed else "skipped", at(day, n + 1))
    h.end_session(sid, "completed" if completed else "stopped", at(day, 60))
    return [str(s.load) for s in h.recent(1)[0].sets]


def test_round_trip_of_the_load_of_each_set(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    sid = h.start_session("Legs", "/p/legs.yaml", at(0))
    h.record_used(sid, 0, "Goblet squat", 8, None, 2, "24.5kg")
    h.record_used(sid, 1, "Push-up", 5, None, 1, "bodyweight")
    h.record_used(sid, 2, "Plank", None, 30_000, 1)
    for idx, name, load in ((0, "Goblet squat", "24.5kg"), (1, "Push-up", "bodyweight"),
                            (2, "Plank", None)):
        row = h.start_set(sid, name, idx, 1, 1, None, 0, at(0, idx), load)
        h.end_set(row, "completed", at(0, idx + 1))
    h.end_session(sid, "completed", at(0, 9))
    [s] = h.recent(1)
    assert [x.load for x in s.sets] == ["24.5kg", "bodyweight", None]
    assert [u.load for u in s.used] == ["24.5kg", "bodyweight", None]
    doc = session_json(s)
    assert [e["load"] for e in doc["sets"]] == ["24.5kg", "bodyweight", None]
    assert [u["load"] for u in doc["used"]] == ["24.5kg", "bodyweight", None]
    assert session_lines(s) == ["Goblet squat set 1 of 1, 24.5kg: completed",
                                "Push-up set 1 of 1, bodyweight: completed",
                                "Plank set 1 of 1: completed"]
    summary = h.last_session_summary("/p/legs.yaml")
    assert [summary[i].load for i in range(3)] == ["24.5kg", "bodyweight", None]
    h.close()
    # written to the file, not kept in memory
    conn = sqlite3.connect(tmp_path / "h.sqlite3")
    assert conn.execute("SELECT load FROM sets ORDER BY id").fetchall() == [
        ("24.5kg",), ("bodyweight",), (None,)]
    conn.close()


def test_a_unilateral_set_lists_its_load_on_both_sides(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    sid = h.start_session("Split", "/p/split.yaml", at(0))
    row = h.start_set(sid, "Split squat", 0, 1, 1, "both", 0, at(0), "50lb")
    h.end_set(row, "completed", at(0, 5))
    entries = session_json(h.recent(1)[0])["sets"]
    assert [(e["side"], e["load"]) for e in entries] == [("left", "50lb"), ("right", "50lb")]
    h.close()


def _schema_3_db(db: Path) -> None:
    """A database exactly as the schema-3 coach wrote it: its three migrations, its rows."""
    from coach.store.migrations import MIGRATIONS
    conn = sqlite3.connect(db)
    for sql in MIGRATIONS[:3]:
        conn.executescript(sql)
    conn.execute("INSERT INTO sessions(program, program_path, started_at, ended_at, status, "
                 "position_ms, updated_at) VALUES ('Legs', '/p/legs.yaml', "
                 "'2026-11-01T07:00:00+00:00', '2026-11-01T07:40:00+00:00', 'completed', "
                 "600000, '2026-11-01T07:40:00+00:00')")
    for set_no in (1, 2):
        conn.execute("INSERT INTO sets(session_id, exercise, exercise_index, set_no, sets, side, "
                     "started_at, ended_at, status, start_ms) VALUES (1, 'Goblet squat', 0, ?, "
                     "2, NULL, '2026-11-01T07:01:00+00:00', '2026-11-01T07:02:00+00:00', "
                     "'completed', 1000)", (set_no,))
    conn.execute("INSERT INTO ratings(session_id, set_id, exercise, exercise_index, set_no, "
                 "side, question, value, rated_at) VALUES (1, 1, 'Goblet squat', 0, 1, NULL, "
                 "'feel', 4, '2026-11-01T07:03:00+00:00')")
    conn.execute("INSERT INTO session_exercises VALUES (1, 0, 'Goblet squat', 12, NULL, 2)")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()


def test_a_schema_3_history_migrates_in_place_and_keeps_every_row(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    _schema_3_db(db)
    tables = ("sessions", "sets", "ratings", "session_exercises")
    before = sqlite3.connect(db)
    rows = {t: before.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    before.close()
    h = History(db)
    assert h.enabled
    [old] = h.recent(1)
    assert [x.load for x in old.sets] == [None, None] and old.used[0].load is None
    # A session before loads: double progression steps from the program's own load.
    assert h.last_session_summary("/p/legs.yaml")[0].load is None
    sid = h.start_session("Legs", "/p/legs.yaml", at(1))
    h.start_set(sid, "Goblet squat", 0, 1, 2, None, 0, at(1), "26.5kg")
    h.close()
    after = sqlite3.connect(db)
    from coach.store.migrations import SCHEMA_VERSION
    assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    for t in tables:
        kept = after.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()[:len(rows[t])]
        width = len(rows[t][0])
        assert [r[:width] for r in kept] == rows[t], t
        assert all(v is None for r in kept for v in r[width:]), t  # added columns are NULL
    assert after.execute("SELECT load FROM sets ORDER BY id").fetchall() == [
        (None,), (None,), ("26.5kg",)]
    after.close()


def test_the_last_load_comes_from_history_even_after_a_session_that_never_reached_it(
        tmp_path: Path) -> None:
    path = write_program(tmp_path)
    h = History(tmp_path / "h.sqlite3")
    for day in range(5):
        log_session(h, path, day)  # 8, 9, 10, 11, 12 reps at 24kg
    program, notes = progressed(load_program(path), h, path)
    assert (program.exercises[0].reps, str(program.exercises[0].load)) == (8, "26.5kg")
    # That session is stopped before the squat is reached: the load it had earned stays.
    sid = h.start_session(program.name, str(path), at(5))
    for i, ex in enumerate(program.exercises):
        h.record_used(sid, i, ex.name, ex.reps, ex.hold_ms, ex.sets,
                      None if ex.load is None else str(ex.load))
    h.end_session(sid, "stopped", at(5, 3))
    program, notes = progressed(load_program(path), h, path)
    assert (program.exercises[0].reps, str(program.exercises[0].load)) == (8, "26.5kg")
    assert notes[0].reason == "0 of 2 sets completed; skipped and partial sets do not count"
    # Where the session's own record has no load (written before it kept one): its sets'.
    assert log_session(h, path, 6) == ["26.5kg", "26.5kg", "bodyweight"]
    conn = sqlite3.connect(tmp_path / "h.sqlite3")
    conn.execute("UPDATE session_exercises SET load=NULL")
    conn.commit()
    conn.close()
    assert h.last_session_summary(str(path))[0].load == "26.5kg"
    h.close()


def test_the_session_controller_logs_the_load_of_every_set(tmp_path: Path) -> None:
    from coach.daemon.record import SessionRecord
    path = write_program(tmp_path)
    h = History(tmp_path / "h.sqlite3")
    program = load_program(path)
    timeline = compile_program(program)
    rec = SessionRecord(h, lambda: at(0))
    rec.begin(Resolved("legs", path, program, timeline), None, 0, 0.0)
    for span in timeline.sets:  # the position walks through every set
        rec.observe(span.start_ms + 10)
    rec.end(timeline.duration_ms, "completed")
    [s] = h.recent(1)
    assert [(x.exercise, x.load) for x in s.sets] == [
        ("Goblet squat", "24kg"), ("Goblet squat", "24kg"), ("Push-up", "bodyweight")]
    assert [u.load for u in s.used] == ["24kg", "bodyweight"]
    h.close()


# ---- the command line --------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"),
                XDG_CONFIG_HOME=str(tmp_path / "config"), PYTHONPATH=str(ROOT))


def coach(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    r = run_coach(*args, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def test_plan_and_history_show_load_notes_and_the_double_progression(
        tmp_path: Path, env: dict[str, str]) -> None:
    path = write_program(tmp_path)
    db = Path(env["XDG_DATA_HOME"]) / "coach" / "history.sqlite3"
    first = coach(env, "plan", str(path)).stdout.splitlines()
    assert first[1:4] == ["notes: Bring chalk. Belt for the last set.",
                          "notes: Goblet squat: heels on 2.5 kg plates",
                          "progress: Goblet squat: reps 8 stays at 24kg (no previous session)"]
    assert any(line.endswith("Goblet squat, 24 kilos. Set 1 of 2. 8 reps, tempo 1 0 1 0.")
               for line in first)
    h = History(db)
    loads = [log_session(h, path, day) for day in range(5)]
    h.close()
    assert loads[0] == ["24kg", "24kg", "bodyweight"]
    today = coach(env, "plan", str(path)).stdout
    assert "progress: Goblet squat: load 24kg → 26.5kg, reps 12 → 8 (reps reached 12)" in today
    assert "Goblet squat, 26.5 kilos today, up from 24. Set 1 of 2. 8 reps" in today
    doc = json.loads(coach(env, "plan", "--json", str(path)).stdout)
    assert doc["progress"] == [{"exercise": "Goblet squat", "exercise_index": 0,
                                "target": "reps", "old": 12, "new": 8,
                                "reason": "reps reached 12",
                                "load": {"old": "24kg", "new": "26.5kg"}}]
    table = coach(env, "history", "--limit", "1").stdout.splitlines()
    assert table[1:] == ["    notes: Bring chalk. Belt for the last set.",
                         "    Goblet squat set 1 of 2, 24kg: completed",
                         "      notes: heels on 2.5 kg plates",
                         "    Goblet squat set 2 of 2, 24kg: completed",
                         "    Push-up set 1 of 1, bodyweight: completed"]
    sessions = json.loads(coach(env, "history", "--json").stdout)
    assert [e["load"] for e in sessions[0]["sets"]] == ["24kg", "24kg", "bodyweight"]
    assert [u["load"] for u in sessions[0]["used"]] == ["24kg", "bodyweight"]
    # a program file gone since: its sessions are still listed, without notes
    path.unlink()
    table = coach(env, "history", "--limit", "1").stdout.splitlines()
    assert table[1:] == ["    Goblet squat set 1 of 2, 24kg: completed",
                         "    Goblet squat set 2 of 2, 24kg: completed",
                         "    Push-up set 1 of 1, bodyweight: completed"]
