"""Schema 7 (issue 22): how each rating was given, counted taps, said into the mic (with the
words heard and their confidence) or sent on the socket; a correction replaces it with the
value. A schema-6 history migrates in place, its ratings kept with the new columns NULL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from coach.core.records import SENT, TAPPED, RatedBy
from coach.store.history import History
from tests.support.history import migrated

NOW = datetime(2026, 12, 8, 7, 0)


def test_each_rating_keeps_how_it_was_given_and_a_correction_replaces_it(
        tmp_path: Path) -> None:
    heard = RatedBy("voice", "it was a four", 0.91)
    with History(tmp_path / "h.sqlite3") as h:
        sid = h.start_session("Split day", "/p/split.yaml", NOW)
        row = h.start_set(sid, "Split squat", 0, 1, 2, "left", 0, NOW)
        h.rate(sid, row, "Split squat", 0, 1, "left", "feel", 4, NOW, heard)
        h.rate(sid, row, "Split squat", 0, 1, "left", "effort", 3, NOW, TAPPED)
        h.rate(sid, row, "Split squat", 0, 1, "right", "feel", 2, NOW, heard)
        h.rate(sid, row, "Split squat", 0, 1, "right", "feel", 3, NOW, SENT)  # corrected
        h.rate(sid, row, "Split squat", 0, 2, "left", "feel", 5, NOW)  # not known
        (rec,) = h.recent(1)
    assert [(r.set_no, r.side, r.question, r.value, r.by) for r in rec.ratings] == [
        (1, "left", "effort", 3, TAPPED), (1, "left", "feel", 4, heard),
        (1, "right", "feel", 3, SENT), (2, "left", "feel", 5, None)]


def test_a_way_outside_the_schema_is_refused(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as h:
        sid = h.start_session("Row day", "/p/row.yaml", NOW)
        with pytest.raises(ValueError, match="bad rating way 'telepathy'"):
            h.rate(sid, None, "Row", 0, 1, None, "feel", 4, NOW,
                   RatedBy("telepathy"))  # type: ignore[arg-type]


def test_a_schema_6_history_migrates_keeping_its_ratings(tmp_path: Path) -> None:
    rec = migrated(tmp_path / "h.sqlite3", 6,
                   "INSERT INTO ratings(session_id, exercise, exercise_index, set_no, question, "
                   "value, rated_at) VALUES (1, 'Row', 0, 1, 'feel', 4, '2026-12-01T07:01:00')")
    (r,) = rec.ratings
    assert (r.exercise, r.question, r.value, r.by) == ("Row", "feel", 4, None)
