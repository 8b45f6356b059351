"""The history file under faults (issue 19), on real files: a full disk said as a full disk, a
file that is not coach's kept aside untouched and a new one started, a read-only folder read as it
is (and never talked of as "not recording" by a reader). The full disk and the read-only folder
are a real tmpfs (tests/support/fs.py): as root, chmod stops nothing."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coach.store.history import History
from coach.store.migrations import MIGRATIONS, SCHEMA_VERSION
from tests.support.fs import Tmpfs

T0 = datetime(2026, 11, 5, 7, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.fixture
def tmpfs(tmp_path: Path):
    with Tmpfs(tmp_path / "mnt") as fs:
        yield fs


def test_a_full_disk_is_said_as_a_full_disk(tmpfs: Tmpfs,
                                            caplog: pytest.LogCaptureFixture) -> None:
    db = tmpfs.path / "coach" / "history.sqlite3"
    with History(db) as h:
        first = h.start_session("A", "a.yaml", at(0))
    h = History(db)  # opened again, as by a new daemon: its WAL starts empty
    tmpfs.fill()
    with caplog.at_level(logging.WARNING, logger="coach.store.history"):
        assert h.start_session("B", "b.yaml", at(60)) == 0
    assert not h.enabled and h.disabled_reason == "disk full"
    [said] = warnings(caplog)
    assert str(db) in said and "disk full" in said and "SQLITE_FULL" in said, said
    assert "cannot rollback" not in said
    h.close()
    tmpfs.free()
    with History(db) as h:  # nothing half-written: the session before the full disk, alone
        assert [(s.id, s.program) for s in h.recent()] == [(first, "A")]


def _created_by_another_program(db: Path) -> None:
    # The repro: `sqlite3 history.sqlite3 'create table sessions(a)'`.
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE sessions(a)")
    conn.execute("INSERT INTO sessions VALUES ('theirs')")
    conn.commit()
    conn.close()


def _another_program_with_a_user_version(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("INSERT INTO notes(text) VALUES ('buy milk')")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()


def _coachs_version_but_not_its_tables(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE sessions(a)")
    conn.execute("CREATE TABLE sets(b)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("make", [_created_by_another_program,
                                  _another_program_with_a_user_version,
                                  _coachs_version_but_not_its_tables],
                         ids=["sessions(a)", "notes-at-version-3", "coach-version-other-tables"])
def test_a_file_that_is_not_coachs_is_kept_aside_untouched_and_a_new_one_started(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, make) -> None:
    db = tmp_path / "history.sqlite3"
    make(db)
    theirs = db.read_bytes()
    with caplog.at_level(logging.WARNING, logger="coach.store.history"):
        h = History(db)
    assert h.enabled, h.disabled_reason
    [aside] = list(tmp_path.glob("history.sqlite3.foreign-*"))
    assert aside.read_bytes() == theirs, "kept aside, never written into"
    [said] = warnings(caplog)
    assert str(db) in said and str(aside) in said, said
    sid = h.start_session("A", "a.yaml", at(0))  # the new file is coach's and works
    assert [s.id for s in h.recent()] == [sid]
    h.close()
    assert aside.read_bytes() == theirs


def test_coachs_own_files_are_never_taken_for_another_programs(tmp_path: Path) -> None:
    # An empty file, and a file at every older version (its migrations run in place).
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    with History(empty) as h:
        assert h.enabled
    for version in range(1, SCHEMA_VERSION + 1):
        db = tmp_path / f"v{version}.sqlite3"
        conn = sqlite3.connect(db)
        for sql in MIGRATIONS[:version]:
            conn.executescript(sql)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.commit()
        conn.close()
        with History(db) as h:
            assert h.enabled, (version, h.disabled_reason)
    assert not list(tmp_path.glob("*.foreign-*"))


def test_a_read_only_folder_is_read_and_a_reader_never_talks_of_recording(
        tmpfs: Tmpfs, caplog: pytest.LogCaptureFixture) -> None:
    db = tmpfs.path / "coach" / "history.sqlite3"
    with History(db) as h:
        ids = [h.start_session(p, f"{p}.yaml", at(i * 60)) for i, p in enumerate("AB")]
    tmpfs.remount("ro")
    with caplog.at_level(logging.WARNING, logger="coach.store.history"):
        with History(db, read_only=True) as reader:
            assert [s.id for s in reader.recent()] == ids[::-1]
    assert warnings(caplog) == [], "a reader that can read says nothing"
    with caplog.at_level(logging.WARNING, logger="coach.store.history"):
        with History(db) as daemons:  # the daemon's: it cannot write, and says why, once
            assert not daemons.enabled
            assert daemons.disabled_reason == "read-only file system"
            assert [s.id for s in daemons.recent()] == ids[::-1], "it still reads"
            assert daemons.start_session("C", "c.yaml", at(600)) == 0
    [said] = warnings(caplog)
    assert "read-only file system" in said and str(db) in said, said


def test_a_reader_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "data" / "coach" / "history.sqlite3"
    with History(db, read_only=True) as h:
        assert h.recent() == [] and h.last_session_summary("A") == {}
    assert not (tmp_path / "data").exists()


def test_a_reader_leaves_a_file_that_is_not_coachs_where_it_is_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "history.sqlite3"
    _created_by_another_program(db)
    theirs = db.read_bytes()
    with caplog.at_level(logging.WARNING, logger="coach.store.history"):
        with History(db, read_only=True) as h:
            assert h.recent() == []
    [said] = warnings(caplog)
    assert "cannot read" in said and "not coach's" in said and "recording" not in said, said
    assert db.read_bytes() == theirs and not list(tmp_path.glob("*.foreign-*"))
