"""Reading a program file: the checks on the file (size, kind, encoding), then the walker.

The one module of the program format that touches the file system.
"""

from __future__ import annotations

import logging
import os
import stat

from coach.core.errors import CoachError
from coach.core.program.model import Program
from coach.core.program.walker import parse_program

logger = logging.getLogger(__name__)

MAX_PROGRAM_BYTES = 1 << 20  # 1 MiB: far beyond any real program; refuse before reading it all


def load_program(path: str | os.PathLike) -> Program:
    """Read and validate a program file; every problem is a CoachError, never a traceback."""
    return parse_program(read_program_text(path), _path_name(path))


def _path_name(path: str | os.PathLike) -> str:
    name = os.fspath(path)
    return name.decode(errors="replace") if isinstance(name, bytes) else name


def read_program_text(path: str | os.PathLike, allow_empty: bool = False) -> str:
    """A user's YAML file as text (programs, config.yaml): one-line CoachError (line 0) when it
    is missing, a directory, unreadable, over 1 MiB, binary, not UTF-8 or empty."""
    name = _path_name(path)

    def fail(message: str) -> CoachError:
        return CoachError.at(name, 0, 0, message)

    try:
        # stat first: opening a FIFO or device to find out what it is could block.
        st = os.stat(name)
        if stat.S_ISDIR(st.st_mode):
            raise fail("is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise fail("is not a regular file")
        if st.st_size > MAX_PROGRAM_BYTES:
            raise fail(f"is too large ({st.st_size} bytes; at most 1 MiB)")
        with open(name, "rb") as f:
            data = f.read(MAX_PROGRAM_BYTES + 1)
    except FileNotFoundError:
        raise fail("no such file") from None
    except NotADirectoryError:
        raise fail("no such file (a parent in the path is not a directory)") from None
    except PermissionError:
        raise fail("permission denied: cannot read this file") from None
    except OSError as e:
        raise fail(f"cannot read: {e.strerror or e}") from None
    except ValueError:  # a NUL in the path (possible through the control socket)
        raise fail("is not a valid file path") from None
    if len(data) > MAX_PROGRAM_BYTES:  # grew while we read it
        raise fail("is too large (at most 1 MiB)")
    if b"\0" in data:
        raise fail("is a binary file, not YAML text (it contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise fail(f"is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                   "save it as UTF-8") from None
    if not text.strip() and not allow_empty:
        raise fail("is empty")
    logger.debug("read %s (%d bytes)", name, len(data))
    return text
