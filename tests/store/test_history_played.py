"""Schema 6 (issue 20): each set row keeps the tempo or hold it actually played and why a
remedy changed it; a schema-5 history migrates in place, its sets keeping every value with
the new columns NULL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from coach.store.history import History
from tests.support.history import migrated

NOW = datetime(2026, 12, 6, 7, 0)


def test_a_set_keeps_what_it_played(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as h:
        sid = h.start_session("Row day", "/p/row.yaml", NOW)
        h.start_set(sid, "Row", 0, 1, 3, None, 0, NOW, None, ("3010", None, None))
        h.start_set(sid, "Row", 0, 2, 3, None, 74_000, NOW, None,
                    ("4012", 5000, "feel 2 on set 1"))
        h.start_set(sid, "Wall sit", 1, 1, 1, None, 200_000, NOW, "bodyweight")
        (rec,) = h.recent(1)
    assert [(s.tempo, s.hold, s.adapted) for s in rec.sets] == [
        ("3010", None, None), ("4012", 5, "feel 2 on set 1"), (None, None, None)]


def test_a_schema_5_history_migrates_keeping_its_sets(tmp_path: Path) -> None:
    rec = migrated(tmp_path / "h.sqlite3", 5,
                   "INSERT INTO sets(id, session_id, exercise, exercise_index, set_no, sets, "
                   "started_at, status, start_ms, load, done, planned, unit) VALUES (1, 1, 'Row', "
                   "0, 1, 1, '2026-12-01T07:00:00', 'completed', 0, '24kg', 8, 8, 'reps')")
    (s,) = rec.sets
    assert (s.load, s.done, s.planned, s.unit, s.status) == ("24kg", 8, 8, "reps", "completed")
    assert (s.tempo, s.hold, s.adapted) == (None, None, None)
