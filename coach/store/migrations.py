"""The history database's schema, as the migrations that build it: a database at version i is
brought up to date by running the migrations from index i on, in one transaction."""

from __future__ import annotations

SCHEMA_VERSION = 4

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
]
