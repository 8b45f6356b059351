"""`coach rerate` on a real SQLite history (in-process `main`): a rating the mic misheard
changed or taken back by hand, an unrated set rated, the last finished session by default,
and each user mistake one line with exit 2."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coach.cli import main
from coach.core.records import TAPPED, RatedBy
from coach.store.history import History

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
HEARD = RatedBy("voice", "it was a four", 0.62)


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    db = tmp_path / "data" / "coach" / "history.sqlite3"
    db.parent.mkdir(parents=True)
    # a session's start is said in local time, as `coach history` says it (07:00 UTC is 08:00
    # in Berlin); the process's zone put back after (time.tzset, not only the variable)
    was = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    try:
        yield db
    finally:
        if was is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = was
        time.tzset()


def session(h: History, at: datetime, status: str = "completed") -> int:
    """Split squat (2 sets, per side: set 1 left heard as 4, right tapped 2; set 2 left
    unrated) and a Row rated effort 3."""
    s = h.start_session("Legs", "/p/legs.yaml", at)
    for n, side, feel, by in ((1, "left", 4, HEARD), (1, "right", 2, TAPPED),
                              (2, "left", None, None)):
        x = h.start_set(s, "Split squat", 0, n, 2, side, 0, at)
        h.end_set(x, "completed", at)
        if feel is not None:
            h.rate(s, x, "Split squat", 0, n, side, "feel", feel, at, by)
    row = h.start_set(s, "Row", 1, 1, 1, None, 0, at)
    h.end_set(row, "completed", at)
    h.rate(s, row, "Row", 1, 1, None, "effort", 3, at, TAPPED)
    if status != "running":
        h.end_session(s, status, at + timedelta(minutes=30))  # type: ignore[arg-type]
    return s


def ratings(sid: int) -> list[tuple]:
    with History() as h:
        [s] = [x for x in h.recent(None) if x.id == sid]
    return sorted((r.exercise, r.set_no, r.side, r.question, r.value,
                   r.by.how if r.by else None) for r in s.ratings)


def test_a_misheard_rating_is_changed_and_history_no_longer_says_it_was_heard(
        data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with History() as h:
        sid = session(h, T0)
    assert main(["rerate", "split squat", "1", "2", "--side", "left"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Split squat set 1 (left) feel: 4 (heard 'it was a four') -> 2  "
                          f"(session {sid}, Legs, 2026-12-01 08:00)"), out
    assert ratings(sid) == [("Row", 1, None, "effort", 3, "taps"),
                            ("Split squat", 1, "left", "feel", 2, "sent"),
                            ("Split squat", 1, "right", "feel", 2, "taps")]
    assert main(["history", "--json"]) == 0
    [js] = json.loads(capsys.readouterr().out)
    assert js["sets"][0]["given"] == {"feel": "sent"} and js["sets"][0]["heard"] == {}


def test_none_takes_a_rating_back_and_an_unrated_set_can_be_rated(
        data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with History() as h:
        sid = session(h, T0)
    assert main(["rerate", "Split", "1", "none", "--side", "left"]) == 0
    assert "feel: 4 (heard 'it was a four') -> unrated" in capsys.readouterr().out
    assert main(["rerate", "split squat", "2", "5", "--side", "left"]) == 0
    assert "Split squat set 2 (left) feel: unrated -> 5" in capsys.readouterr().out
    # the Row was rated for effort only: that is the question changed
    assert main(["rerate", "row", "1", "1"]) == 0
    assert "Row set 1 effort: 3 -> 1" in capsys.readouterr().out
    assert ratings(sid) == [("Row", 1, None, "effort", 1, "sent"),
                            ("Split squat", 1, "right", "feel", 2, "taps"),
                            ("Split squat", 2, "left", "feel", 5, "sent")]


def test_the_last_finished_session_by_default_and_another_by_its_id(
        data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with History() as h:
        first = session(h, T0)
        last = session(h, T0 + timedelta(days=2), "stopped")
        running = session(h, T0 + timedelta(days=4), "running")
    assert main(["rerate", "row", "1", "2"]) == 0
    assert f"(session {last}, Legs, 2026-12-03 08:00)" in capsys.readouterr().out
    assert main(["rerate", "row", "1", "4", "--session", str(first)]) == 0
    assert [r[4] for r in ratings(first) if r[0] == "Row"] == [4]
    assert [r[4] for r in ratings(last) if r[0] == "Row"] == [2]
    assert main(["rerate", "row", "1", "4", "--session", str(running)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"coach rerate: error: session {running} (Legs) is still running: `coach rate N` "
        "rates the set just done")
    assert [r[4] for r in ratings(running) if r[0] == "Row"] == [3]


@pytest.mark.parametrize(("argv", "message"), [
    (["squat", "1", "2"], "'squat' is in no set of session 1 (Legs, 2026-12-01 08:00); its "
     "exercises: Split squat, Row"),
    (["split squat", "3", "2", "--side", "left"],
     "Split squat has no set 3 in session 1 (Legs, 2026-12-01 08:00) (its sets there: 1, 2)"),
    (["split squat", "1", "2"], "Split squat is done per side: give --side left or --side right"),
    (["row", "1", "2", "--side", "left"], "Row is not done per side: leave --side out"),
    (["split squat", "2", "2", "--side", "right"],
     "Split squat set 2 has no right side in session 1 (Legs, 2026-12-01 08:00)"),
    (["row", "1", "6"], "VALUE must be 1-5 or none, got '6'"),
    (["row", "0", "2"], "SET must be at least 1, got 0"),
    (["row", "1", "2", "--session", "9"],
     "no session 9 in the history (`coach history` shows each one's #N)"),
])
def test_a_mistake_is_one_line_and_changes_nothing(
        data_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        message: str) -> None:
    with History() as h:
        sid = session(h, T0)
    before = ratings(sid)
    assert main(["rerate", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"coach rerate: error: {message}\n" and captured.out == ""
    assert ratings(sid) == before


def test_an_empty_history_or_only_a_running_session_is_one_line(
        data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rerate", "row", "1", "2"]) == 2
    assert capsys.readouterr().err == "coach rerate: error: no session in the history yet\n"
    with History() as h:
        running = session(h, T0, "running")
    assert main(["rerate", "row", "1", "2"]) == 2
    assert capsys.readouterr().err == (
        f"coach rerate: error: session {running} (Legs) is still running: `coach rate N` rates "
        "the set just done\n")
