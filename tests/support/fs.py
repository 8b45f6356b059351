"""A small real file system for the fault tests: a tmpfs mounted on a folder (root only: as root,
chmod stops nothing, so a full disk and a read-only folder have to be real), filled to its last
byte and freed again, remounted read-only and writable again."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from pathlib import Path

from tests.support.real import need


class Tmpfs:
    """``mount -t tmpfs -o size=SIZE`` on ``path`` (created if missing); ``close`` unmounts."""

    def __init__(self, path: Path, size: str = "1m") -> None:
        need(os.geteuid() == 0 and shutil.which("mount") is not None,
             "root and mount(8), to mount a small tmpfs")
        path.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                            str(path)], capture_output=True, text=True)
        need(r.returncode == 0, f"mount -t tmpfs: {r.stderr.strip()}")
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        """Write a file until the file system has no byte left (ENOSPC)."""
        with open(self.filler, "ab", buffering=0) as f:
            for size in (1 << 16, 4096, 512, 1):
                while True:
                    try:
                        f.write(b"\0" * size)
                    except OSError as e:
                        assert e.errno == errno.ENOSPC, e
                        break
        assert os.statvfs(self.path).f_bavail == 0

    def free(self) -> None:
        self.filler.unlink()

    def remount(self, mode: str) -> None:
        """``ro`` or ``rw``."""
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True)

    def close(self) -> None:
        r = subprocess.run(["umount", str(self.path)], capture_output=True)
        if r.returncode != 0:  # something still has a file open there: detach it anyway
            subprocess.run(["umount", "-l", str(self.path)], check=False)

    def __enter__(self) -> Tmpfs:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.remount("rw")
        self.close()
