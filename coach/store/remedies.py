"""The remedies in force in the running session, kept beside the history database
(`remedies.json` in its folder) so that a session resumed after a crash plays them again: the
feels that brought them (coach.core.remedy.Felt), in order, and the session they belong to.
Written whole or not at all (coach/files.py) by the daemon's session thread at each remedy
and at a resumed start; removed when a session ends (stopped or completed: nothing to
resume). The history has the ratings, but not what a resume needs: a corrected rating keeps
only its last value, and not where the words were placed."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from coach.core.remedy import Felt
from coach.core.types import SIDES
from coach.files import atomic_write_text

FILE_NAME = "remedies.json"
VERSION = 1


def remedies_path(history_path: Path) -> Path:
    """Where a history file's session keeps its remedies."""
    return Path(history_path).with_name(FILE_NAME)


def save(path: Path, session_id: int, felt: tuple[Felt, ...]) -> None:
    """Keep ``felt`` as session ``session_id``'s remedies (OSError when it cannot be written:
    the old file, if any, is left whole)."""
    atomic_write_text(path, json.dumps({
        "version": VERSION, "session_id": session_id,
        "felt": [{"exercise_index": f.exercise_index, "set": f.set_no, "side": f.side,
                  "feel": f.feel, "at_ms": f.at_ms} for f in felt]}) + "\n")


def load(path: Path, session_id: int) -> tuple[Felt, ...]:
    """Session ``session_id``'s remedies: () when the file is absent or another session's.
    ValueError (with what is wrong) when it is not a remedies file this coach wrote."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return ()
    data = json.loads(text)  # json.JSONDecodeError is a ValueError
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"not a version-{VERSION} remedies file")
    if data.get("session_id") != session_id:
        return ()
    felt = data.get("felt")
    if not isinstance(felt, list):
        raise ValueError("'felt' is not a list")
    return tuple(_felt(x) for x in felt)


def _felt(x: object) -> Felt:
    if not isinstance(x, dict):
        raise ValueError(f"a remedy is not a mapping: {x!r}")
    ints = [x.get(k) for k in ("exercise_index", "set", "feel", "at_ms")]
    side = next((s for s in SIDES if s == x.get("side")), None)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints) or \
            (side is None and x.get("side") is not None):
        raise ValueError(f"a remedy is not valid: {x!r}")
    ei, set_no, feel, at_ms = (v for v in ints if isinstance(v, int))
    return Felt(ei, set_no, side, feel, at_ms)


def clear(path: Path) -> None:
    """No session's remedies kept (a session ended)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
