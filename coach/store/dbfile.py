"""The history file on disk, apart from what it holds (HistoryFile, which History extends): its
one connection, to write or only to read; a file that is not coach's (another program's tables)
or is corrupt, moved aside untouched; the read-only way in, where the folder cannot be written;
a retry of a file that could not be written; and why a file cannot be used, in the words of its
real cause ("disk full", never the echo of a rollback that followed it)."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Self

from coach.store.migrations import SCHEMA_VERSION, connect, rollback, schema_columns

logger = logging.getLogger("coach.store.history")  # its warnings are the history's

DEFAULT_BUSY_TIMEOUT = 3.0  # seconds; another coach process (e.g. `coach history`) only reads briefly
PROBE_TIMEOUT_S = 0.1  # a retry waits this long for a write lock held elsewhere (session thread)


class NotCoachs(sqlite3.DatabaseError):
    """A file that is not coach's history, met by a reader (which moves nothing)."""


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or (
        "file is not a database" in str(exc) or "malformed" in str(exc)
    )


def _quoted(name: str) -> str:
    """An SQL identifier, whatever another program named its table."""
    return '"' + name.replace('"', '""') + '"'


def _uri(path: Path, query: str) -> str:
    return f"{path.absolute().as_uri()}?{query}"


def not_coachs(path: Path) -> str | None:
    """Why the SQLite file at ``path`` is not coach's history ("another schema: tables a, b"),
    None when it is (or cannot be read: opening it says why). Looked at through a read-only
    connection, so the file is never written, not even by a checkpoint at close."""
    if not path.is_file():
        return None
    try:  # a lock held elsewhere is not waited for: opening it to write says so
        conn = sqlite3.connect(_uri(path, "mode=ro"), uri=True, timeout=PROBE_TIMEOUT_S)
    except sqlite3.Error:
        return None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {name: {c[1] for c in conn.execute(f"PRAGMA table_info({_quoted(name)})")}
                  for (name,) in conn.execute(
                      "SELECT name FROM sqlite_master WHERE type='table' "
                      "AND name NOT LIKE 'sqlite_%'").fetchall()}
    except sqlite3.Error:
        return None  # corrupt, locked or unreadable: the read-write open tells which
    finally:
        conn.close()
    # A coach file below version 1 is empty (the migrations and user_version commit together);
    # from version 1 on it has its sessions; at this coach's version, every column it reads.
    if version == 0 and tables:
        return "another schema: tables " + ", ".join(sorted(tables)[:6])
    if version > 0 and "sessions" not in tables:
        return f"user_version {version} but no sessions table"
    if version == SCHEMA_VERSION:
        for table, columns in schema_columns().items():
            missing = sorted(columns - tables.get(table, set()))
            if missing:
                return f"another schema: table {table} lacks {', '.join(missing[:6])}"
    return None


def move_aside(path: Path, kind: str) -> Path:
    """Rename the file at ``path`` to ``PATH.KIND-STAMP`` (never over another), its -wal and -shm
    with it (they belong to it: never replay them into a new file); returns where it went."""
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{kind}-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{kind}-{stamp}-{n}")
        n += 1
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target


def connect_read_only(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """The history at ``path`` for reading only, where it cannot be opened for writing. A WAL
    file needs its -shm, which a read-only folder cannot hold: there it is opened immutable (no
    one can be writing it). Raises sqlite3.Error when it cannot be read, or when it is not at
    this coach's schema (an older file is upgraded only where it can be written)."""
    queries = ["mode=ro"]
    if folder_problem(path.parent) is not None:
        queries.append("mode=ro&immutable=1")
    error: sqlite3.Error = sqlite3.OperationalError(f"cannot open {path}")
    for query in queries:
        try:
            conn = sqlite3.connect(_uri(path, query), uri=True, timeout=busy_timeout,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            error = exc
            continue
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            conn.close()
            error = exc
            continue
        if version != SCHEMA_VERSION:
            conn.close()
            raise sqlite3.OperationalError(
                f"schema version {version}, and this coach reads {SCHEMA_VERSION} (an older "
                "file is upgraded where it can be written)")
        return conn
    raise error


def folder_problem(folder: Path) -> str | None:
    """Why nothing can be written in ``folder`` (None: that is not the problem)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None  # it does not exist (yet): opening it will say so
    if st.f_flag & os.ST_RDONLY:
        return "read-only file system"
    if st.f_bavail == 0:
        return "disk full"
    if not os.access(folder, os.W_OK):
        return f"permission denied: {folder} is not writable"
    return None


def cause(exc: BaseException, path: Path) -> str:
    """Why the history at ``path`` cannot be used, in a few words ("disk full", "read-only file
    system", "database is locked"), from the real error: SQLite says "unable to open database
    file" for a folder it cannot write, so the folder is looked at."""
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "disk full"
        if exc.errno == errno.EROFS:
            return "read-only file system"
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name == "SQLITE_FULL":
        return "disk full"
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_IOERR")):
        return folder_problem(path.parent) or str(exc)
    return str(exc)


def described(exc: BaseException) -> str:
    """The error as raised, with SQLite's code ("database or disk is full, SQLITE_FULL")."""
    name = getattr(exc, "sqlite_errorname", None)
    return f"{exc}, {name}" if name else str(exc)


class HistoryFile:
    """The history's file and its one connection (behind a lock), opened to write (the daemon)
    or to read (``read_only``: `coach history`, `coach plan`; a reader creates nothing, and
    where the file cannot be written it is read as it is). A file that cannot be written reads
    where it can, its writes write nothing (and say so: ``_write`` returns None), and it says
    why once (``disabled_reason``); the daemon's HistoryWriter tries again (``reopen``)."""

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                 read_only: bool = False):
        self.path = path
        self.read_only = read_only
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._writable = False
        self._closed = False
        self._quiet = False  # a retry's failures are not news: the first one was said
        self.disabled_reason: str | None = None  # why it cannot be written (None: it can)
        if read_only and not self.path.exists():
            return  # nothing recorded yet: a reader creates nothing
        error = self._open(busy_timeout)
        if error is not None:
            self._fall_back(error, busy_timeout)

    @property
    def enabled(self) -> bool:
        """It can be written (a history that can only be read is not enabled)."""
        return self._conn is not None and self._writable

    # -- opening ---------------------------------------------------------------------------
    def _open(self, busy_timeout: float) -> BaseException | None:
        """Open the file to write, as coach keeps it; one that is not coach's, or is corrupt, is
        moved aside and a new one started. Returns why it cannot be opened (None: it is)."""
        try:
            why = not_coachs(self.path)
            if why is not None and self.read_only:  # a reader moves nothing: the daemon will
                raise NotCoachs(f"not coach's history ({why})")
            if why is not None:
                target = move_aside(self.path, "foreign")
                logger.warning("history database %s is not coach's (%s); kept it, untouched, "
                               "as %s and started a new one", self.path, why, target)
            try:
                conn = connect(self.path, busy_timeout)
            except sqlite3.DatabaseError as exc:
                if not is_corrupt(exc):
                    raise
                target = move_aside(self.path, "corrupt")
                logger.warning("history database %s is corrupt (%s); moved it to %s and "
                               "started a new one", self.path, exc, target)
                conn = connect(self.path, busy_timeout)
        except (sqlite3.Error, OSError) as exc:  # e.g. an unwritable data dir: the player plays
            return exc
        self._conn, self._writable, self.disabled_reason = conn, True, None
        return None

    def _fall_back(self, error: BaseException, busy_timeout: float) -> None:
        """It cannot be written (``error``): read it where it can be read, and say why once."""
        read_error: BaseException = error
        try:
            self._conn = (connect_read_only(self.path, busy_timeout) if self.path.is_file()
                          else None)
        except sqlite3.Error as exc:
            self._conn, read_error = None, exc
        self._writable = False
        self.disabled_reason = cause(error, self.path)
        if self._quiet:
            return
        if not self.read_only:
            logger.warning("history database %s: %s; not recording history until it can be "
                           "written again", self.path, self._why(error))
        elif self._conn is None:
            logger.warning("cannot read history database %s: %s", self.path,
                           self._why(error if isinstance(error, NotCoachs) else read_error))

    def reopen(self) -> bool:
        """Try again to write a history that could not be written (the writer's retry): the
        write lock is waited for briefly, and failing again is quiet. True once it can."""
        with self._lock:
            if self._closed or self.read_only:
                return False
            if self._writable:
                return True
            self._close_conn()
            self._quiet = True
            try:
                error = self._open(PROBE_TIMEOUT_S)
                if error is None:
                    assert self._conn is not None
                    try:
                        self._conn.execute("BEGIN IMMEDIATE")  # the write lock can be had
                        self._conn.execute("ROLLBACK")
                        self._conn.execute(
                            f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
                    except sqlite3.Error as exc:
                        error = exc
                if error is None:
                    return True
                self._close_conn()
                self._fall_back(error, PROBE_TIMEOUT_S)
                return False
            finally:
                self._quiet = False

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Writes that fail inside are not warned of (the writer's replay: said once already)."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _disable(self, exc: BaseException) -> None:
        self.disabled_reason = cause(exc, self.path)
        if not self._quiet:
            if self.read_only:
                logger.warning("cannot read history database %s: %s", self.path, self._why(exc))
            else:
                logger.warning("history database %s: %s; not recording history until it can be "
                               "written again", self.path, self._why(exc))
        self._close_conn()

    def _why(self, exc: BaseException) -> str:
        """The cause in a few words, and the error as raised when that says more."""
        short = cause(exc, self.path)
        return described(exc) if short == str(exc) else f"{short} ({described(exc)})"

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn, self._writable = None, False

    # -- plumbing: every call goes through here, so no sqlite error ever reaches the player --
    def _write(self, *statements: tuple[str, tuple]) -> list[int | None] | None:
        """``statements`` as one transaction: each one's row id, or None when nothing was
        written (the error said once, the history then off until ``reopen``)."""
        with self._lock:
            conn = self._conn
            if conn is None or not self._writable:
                return None
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    ids = [conn.execute(sql, args).lastrowid for sql, args in statements]
                    conn.execute("COMMIT")
                except BaseException:
                    rollback(conn)  # unless SQLite did (a full disk): its error is the one
                    raise
                return ids
            except sqlite3.Error as exc:
                self._disable(exc)
                return None

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            if self._conn is None:
                return []
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                self._disable(exc)
                return []

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                try:
                    self._conn.close()
                except sqlite3.Error as exc:
                    logger.warning("closing history database %s: %s", self.path, exc)
            self._conn, self._writable = None, False
            self.disabled_reason = self.disabled_reason or "the history database was closed"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
