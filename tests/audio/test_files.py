"""coach/files.py: a file is replaced whole or not at all, and a failed write leaves nothing behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from coach.files import atomic_open, atomic_write, atomic_write_text
from tests.support.real import ROOT


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_a_new_file(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.bin", b"\x00\x01data")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01data"
    assert names(tmp_path) == ["a.bin"]


def test_replaces_an_existing_file(tmp_path: Path) -> None:
    f = tmp_path / "state.json"
    f.write_text("old, and longer than the new content")
    atomic_write_text(f, "new ✓")
    assert f.read_bytes() == "new ✓".encode()
    assert names(tmp_path) == ["state.json"]


def test_a_failing_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    f = tmp_path / "clip.npy"
    f.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write(f, "not bytes")  # type: ignore[arg-type]  # the file's write() raises
    with pytest.raises(RuntimeError), atomic_open(f) as out:
        out.write(b"half of it")
        raise RuntimeError("the writer failed half-way")
    assert f.read_bytes() == b"old"
    assert names(tmp_path) == ["clip.npy"]


def test_a_full_disk_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    # A real write error from the kernel: the file size limit (EFBIG, "File too large") in a
    # child process, as `prlimit --fsize` does to coach in tests/e2e/test_faults.py.
    f = tmp_path / "out.wav"
    f.write_bytes(b"old")
    code = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))\n"
            "from coach.files import atomic_write\n"
            "try:\n"
            "    atomic_write(sys.argv[1], b'x' * 100000)\n"
            "except OSError as e:\n"
            "    print(e.strerror)\n")
    r = subprocess.run([sys.executable, "-c", code, str(f)], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "File too large"
    assert f.read_bytes() == b"old"
    assert names(tmp_path) == ["out.wav"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_raises_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    (d / "keep").write_bytes(b"old")
    d.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            atomic_write(d / "keep", b"new")
        assert (d / "keep").read_bytes() == b"old"
        assert names(d) == ["keep"]
    finally:
        d.chmod(0o755)


def test_permissions_follow_the_umask_unless_given(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "default", b"x")
        atomic_write(tmp_path / "unit", b"x", perm=0o644)  # 0o644 even where the umask says 0o640
        atomic_write(tmp_path / "private", b"x", perm=0o600)
    finally:
        os.umask(old)
    mode = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert mode == {"default": 0o640, "unit": 0o644, "private": 0o600}
