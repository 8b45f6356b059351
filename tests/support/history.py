"""A history file as an older coach left it, opened by this one: for the migration tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from coach.core.records import SessionRecord
from coach.store.history import History
from coach.store.migrations import MIGRATIONS, SCHEMA_VERSION


def migrated(db: Path, version: int, *rows: str) -> SessionRecord:
    """``db`` built by the first ``version`` migrations, with one completed session (id 1,
    "Row day") and ``rows`` (INSERT statements), then opened by this coach: the session as it
    reads it now, the file brought up to SCHEMA_VERSION."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for sql in MIGRATIONS[:version]:
            conn.executescript(sql)
        conn.execute("INSERT INTO sessions(id, program, program_path, started_at, status) "
                     "VALUES (1, 'Row day', '/p', '2026-12-01T07:00:00', 'completed')")
        for sql in rows:
            conn.execute(sql)
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.close()
    with History(db) as h:
        assert h.enabled, h.disabled_reason
        (rec,) = h.recent(1)
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    return rec
