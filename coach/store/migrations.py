"""The history database's schema, as the migrations that build it, and how a file is opened
(``connect``): a database at version i is brought up to date by running the migrations from
index i on, in one transaction, with foreign keys off while they run (a table rebuilt to change
a CHECK must not cascade its DROP into the rows that refer to it) and checked before it commits."""

from __future__ import annotations

import sqlite3
from functools import cache
from pathlib import Path

SCHEMA_VERSION = 7

# Migrations, index i takes the schema from version i to i+1. Append, never edit a shipped one.
MIGRATIONS = [
    """
    CREATE TABLE sessions (
        id           INTEGER PRIMARY KEY,
        program      TEXT NOT NULL,
        program_path TEXT NOT NULL,
        started_at   TEXT NOT NULL,
        ended_at     TEXT,
        status       TEXT NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'completed', 'stopped', 'interrupted')),
        position_ms  INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sets (
        id             INTEGER PRIMARY KEY,
        session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        exercise       TEXT NOT NULL,
        exercise_index INTEGER NOT NULL,
        set_no         INTEGER NOT NULL,
        sets           INTEGER NOT NULL,
        side           TEXT,
        started_at     TEXT NOT NULL,
        ended_at       TEXT,
        status         TEXT NOT NULL DEFAULT 'running'
                       CHECK (status IN ('running', 'completed', 'skipped', 'interrupted')),
        start_ms       INTEGER NOT NULL
    );
    CREATE INDEX sets_by_session ON sets(session_id, id);
    CREATE INDEX sessions_by_status ON sessions(status);
    """,
    # 2: when the session last wrote its position (how recent an interruption is: a restarted
    # daemon resumes a fresh one by itself), and which interrupted session it resumes (a crash
    # loop never resumes the same interruption twice).
    """
    ALTER TABLE sessions ADD COLUMN updated_at TEXT;
    ALTER TABLE sessions ADD COLUMN resumed_from INTEGER;
    """,
    # 3: the lifter's ratings of a set (per side of a unilateral one), and the values each
    # exercise actually used in a session (what progression steps from). A rating is one per
    # logical set (session, exercise, set number), side and question: a later one replaces it,
    # so a lifter can correct a slip. A set done twice (`back`) is still one set to rate.
    """
    CREATE TABLE ratings (
        id             INTEGER PRIMARY KEY,
        session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        set_id         INTEGER REFERENCES sets(id) ON DELETE SET NULL,
        exercise       TEXT NOT NULL,
        exercise_index INTEGER NOT NULL,
        set_no         INTEGER NOT NULL,
        side           TEXT CHECK (side IN ('left', 'right')),
        question       TEXT NOT NULL CHECK (question IN ('feel', 'effort')),
        value          INTEGER NOT NULL
                       CHECK (typeof(value) = 'integer' AND value BETWEEN 1 AND 5),
        rated_at       TEXT NOT NULL
    );
    CREATE UNIQUE INDEX ratings_one_per_set_side_question
        ON ratings(session_id, exercise_index, set_no, coalesce(side, ''), question);
    CREATE TABLE session_exercises (
        session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        exercise_index INTEGER NOT NULL,
        exercise       TEXT NOT NULL,
        reps           INTEGER,
        hold_ms        INTEGER,
        sets           INTEGER NOT NULL,
        PRIMARY KEY (session_id, exercise_index)
    );
    """,
    # 4: the load of each set as the program wrote it, normalised ("24kg", "24.5kg", "50lb",
    # "bodyweight"; NULL: none given, or logged before loads), and the load each exercise used
    # in a session (what double progression steps from, like its reps: a session stopped before
    # an exercise still carries the load it had earned).
    """
    ALTER TABLE sets ADD COLUMN load TEXT;
    ALTER TABLE session_exercises ADD COLUMN load TEXT;
    """,
    # 5: an honest log. A set (one side of a unilateral set, each its own row from now on) is
    # `partial` when it was cut in its work, with how much was `done` beside what was
    # `planned` (in reps, seconds of a hold, or poses: `unit`); a session that played out is
    # `partial` unless every set was completed (older completed sessions with a set that was
    # not are marked so); a session keeps the time actually coached and the time paused. SQLite
    # cannot change a CHECK in place: both tables are rebuilt (the documented way, foreign keys
    # off), every row and id kept.
    """
    CREATE TABLE sessions_v5 (
        id           INTEGER PRIMARY KEY,
        program      TEXT NOT NULL,
        program_path TEXT NOT NULL,
        started_at   TEXT NOT NULL,
        ended_at     TEXT,
        status       TEXT NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'completed', 'partial', 'stopped',
                                       'interrupted')),
        position_ms  INTEGER NOT NULL DEFAULT 0,
        updated_at   TEXT,
        resumed_from INTEGER,
        coached_ms   INTEGER,
        paused_ms    INTEGER
    );
    INSERT INTO sessions_v5(id, program, program_path, started_at, ended_at, status, position_ms,
                            updated_at, resumed_from)
        SELECT id, program, program_path, started_at, ended_at, status, position_ms, updated_at,
               resumed_from FROM sessions;
    DROP TABLE sessions;
    ALTER TABLE sessions_v5 RENAME TO sessions;
    CREATE INDEX sessions_by_status ON sessions(status);
    CREATE TABLE sets_v5 (
        id             INTEGER PRIMARY KEY,
        session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        exercise       TEXT NOT NULL,
        exercise_index INTEGER NOT NULL,
        set_no         INTEGER NOT NULL,
        sets           INTEGER NOT NULL,
        side           TEXT,
        started_at     TEXT NOT NULL,
        ended_at       TEXT,
        status         TEXT NOT NULL DEFAULT 'running'
                       CHECK (status IN ('running', 'completed', 'partial', 'skipped',
                                         'interrupted')),
        start_ms       INTEGER NOT NULL,
        load           TEXT,
        done           REAL,
        planned        REAL,
        unit           TEXT CHECK (unit IN ('reps', 's', 'poses'))
    );
    INSERT INTO sets_v5(id, session_id, exercise, exercise_index, set_no, sets, side, started_at,
                        ended_at, status, start_ms, load)
        SELECT id, session_id, exercise, exercise_index, set_no, sets, side, started_at, ended_at,
               status, start_ms, load FROM sets;
    DROP TABLE sets;
    ALTER TABLE sets_v5 RENAME TO sets;
    CREATE INDEX sets_by_session ON sets(session_id, id);
    UPDATE sessions SET status = 'partial'
        WHERE status = 'completed' AND EXISTS (
            SELECT 1 FROM sets WHERE sets.session_id = sessions.id AND sets.status != 'completed');
    """,
    # 5 -> 6 (issue "the coach answers the answer"): what each set actually played, its tempo
    # (the 4-char code) or hold, and why a remedy changed it ("feel 2 on set 1"); NULL before.
    """
    ALTER TABLE sets ADD COLUMN tempo TEXT;
    ALTER TABLE sets ADD COLUMN hold_ms INTEGER;
    ALTER TABLE sets ADD COLUMN adapted TEXT;
    """,
    # 6 -> 7 (issue "the coach hears you"): how each rating was given, counted taps, said into
    # the mic or sent on the socket, and for one said the words the recogniser heard and its
    # confidence: a near-rhyme taken for a number ("that was hard" as "it was a four") is
    # then a rating the log says it heard. NULL before.
    """
    ALTER TABLE ratings ADD COLUMN given TEXT CHECK (given IN ('taps', 'voice', 'sent'));
    ALTER TABLE ratings ADD COLUMN heard TEXT;
    ALTER TABLE ratings ADD COLUMN confidence REAL;
    """,
]


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """The history database at ``path``, opened as coach uses it (WAL, autocommit, foreign keys
    on) and brought up to SCHEMA_VERSION. Raises sqlite3.DatabaseError for a corrupt file or
    one newer than this coach."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: autocommit, each statement commits on its own (no forgotten
    # commit can leave a write in limbo). check_same_thread=False: the daemon's scheduler,
    # control-socket and player threads all log; History's lock serialises them.
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        # Reading the header is what detects a corrupt file ("file is not a database").
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"could not switch to WAL (journal_mode={mode})")
        # WAL + synchronous=NORMAL: a commit is in the WAL (the OS's page cache) before
        # execute() returns, so killing the process loses nothing; only a power cut can drop
        # the last commits, and even then the database stays consistent. FULL would fsync
        # each position update, wearing a Pi's SD card for little gain.
        conn.execute("PRAGMA synchronous = NORMAL")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]  # small DB: cheap
        if check != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {check}")
        if version > SCHEMA_VERSION:
            raise sqlite3.OperationalError(
                f"schema version {version} is newer than this coach ({SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            # Foreign keys are still off (a connection starts so): a table rebuilt by a
            # migration is dropped without its DROP cascading into the rows referring to it;
            # the references are checked before the migration commits.
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = len(conn.execute("PRAGMA foreign_key_check").fetchall())
                for sql in MIGRATIONS[version:]:
                    for stmt in sql.split(";"):
                        if stmt.strip():
                            conn.execute(stmt)
                broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                if len(broken) > before:  # older orphans (a foreign writer) are not ours
                    raise sqlite3.IntegrityError(f"migration broke references: {broken[:3]}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def rollback(conn: sqlite3.Connection) -> None:
    """Undo the transaction in progress, if SQLite has not already: on a full disk it rolls
    back by itself, and a ROLLBACK then fails with "cannot rollback - no transaction is
    active", an error that would hide the real one (the caller re-raises that)."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


@cache
def schema_columns() -> dict[str, frozenset[str]]:
    """Each table of the current schema and its columns, as the migrations build it."""
    conn = sqlite3.connect(":memory:")
    try:
        for sql in MIGRATIONS:
            conn.executescript(sql)
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        return {n: frozenset(c[1] for c in conn.execute(f"PRAGMA table_info('{n}')"))
                for n in names}
    finally:
        conn.close()
