"""Writing a file whole or not at all: every file coach writes in place of another (the clip
cache, the ducked-volumes state, a rendered WAV, the systemd unit) goes through here. A leaf:
it imports nothing of coach, so every layer but the pure core may use it."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_NEW_FILE = 0o666  # what open() asks for: the process's umask decides (UMask=0077 in the unit)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], perm: int | None = None) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into. It is a temporary file in the same
    folder (".NAME.RANDOM.tmp"), flushed and fsynced at the end of the ``with`` block, then
    renamed over ``path`` (the folder fsynced too): a reader, or the disk after a power cut, sees
    the old file or the new one, never half of one. When the block raises, the temporary file
    is removed and ``path`` is left as it was.

    ``perm``: the new file's permission bits, whatever the umask (e.g. 0o644 for a unit the
    user's service manager reads); None: as open() would create it (0o666 less the umask)."""
    path = Path(path)
    tmp, fd = _create_temp(path, _NEW_FILE if perm is None else perm)
    try:
        if perm is not None:
            os.fchmod(fd, perm)  # exactly perm: the umask may have taken bits away
        with os.fdopen(fd, "wb") as f:
            fd = -1  # the file object owns it now (and closes it, also on an error)
            yield f
            f.flush()
            os.fsync(f.fileno())  # the data on disk before the name points at it
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write(path: str | os.PathLike[str], data: bytes, perm: int | None = None) -> None:
    """Replace ``path`` with ``data``, whole or not at all (see atomic_open)."""
    with atomic_open(path, perm) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, perm: int | None = None) -> None:
    """Replace ``path`` with ``text`` in UTF-8, whole or not at all (see atomic_open)."""
    atomic_write(path, text.encode("utf-8"), perm)


def _create_temp(path: Path, mode: int) -> tuple[Path, int]:
    """A new file beside ``path``, opened for writing: a random name, created exclusively, so
    two threads or processes writing the same file never share a temporary one."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            continue


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable. The file is already replaced when this runs, so a
    filesystem that cannot fsync a folder is not an error."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
