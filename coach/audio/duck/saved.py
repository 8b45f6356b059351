"""The saved-volumes file ($XDG_STATE_HOME/coach/ducked.json): every stream the ducker lowered,
with the volume to give back, written before anything is lowered; and the recovery that gives
back what a crashed or killed coach left lowered (at a start, or in the background)."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coach.audio.duck.server import (
    APP_NAME,
    SAME_VOLUME,
    PulseConnection,
    Server,
    ServerGone,
    Stream,
    same_volume,
)
from coach.files import atomic_write_text

# The package's lines read "coach.audio.duck: ..." whichever module logs, as they always have.
log = logging.getLogger("coach.audio.duck")


def state_file() -> Path:
    """Where the volumes of lowered streams are kept while they are lowered."""
    import platformdirs
    return Path(platformdirs.user_state_dir(APP_NAME)) / "ducked.json"


@dataclass
class Ducked:
    """A stream we lowered: its identity, the volume to give back, the one we last set."""

    index: int
    app: str
    pid: str
    name: str
    original: tuple[float, ...]
    lowest: tuple[float, ...]  # original at the full depth: anything we set lies in between
    set_to: tuple[float, ...]
    held: bool = False  # the user set its volume during this duck: left alone until it ends
    restore_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "app": self.app, "pid": self.pid, "name": self.name,
                "original": list(self.original), "lowest": list(self.lowest),
                "restore_id": self.restore_id}

    def matches(self, s: Stream) -> bool:
        return (s.idx, s.app, s.pid, s.name) == (self.index, self.app, self.pid, self.name)


def write_state(path: Path, ducked: Sequence[Ducked]) -> None:
    """Atomically: the file lists exactly ``ducked`` (removed when empty)."""
    if not ducked:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"version": 1, "streams": [d.to_json() for d in ducked]})
    atomic_write_text(path, data, perm=0o600)  # private, as the state file always was


def read_state(path: Path) -> list[Ducked]:
    try:
        data = json.loads(path.read_text())
        out = []
        for e in data["streams"]:
            original = tuple(float(v) for v in e["original"])
            lowest = tuple(float(v) for v in e["lowest"])
            out.append(Ducked(int(e["index"]), str(e["app"]), str(e["pid"]), str(e["name"]),
                              original, lowest, lowest, restore_id=str(e.get("restore_id", ""))))
        return out
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("ignoring unreadable %s (%s)", path, e)
        return []


def recover(server: Server, path: Path) -> int:
    """After a crash: give every stream the file lists, still there and still at a volume we
    could have set (between its lowest and its original), its original volume back; a stream
    whose volume is outside that range was changed by the user since, and keeps it. Removes
    the file. The number of streams restored."""
    saved = read_state(path)
    log.debug("saved volumes in %s: %d stream(s)", path, len(saved))
    if not saved:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return 0
    restored = 0
    live = server.streams()
    for d in saved:
        s = next((s for s in live if d.matches(s)), None)
        if s is None:
            forget_lowered(server, d)
            continue
        if len(s.volume) != len(d.original):
            continue
        ours = all(lo - SAME_VOLUME <= v <= hi + SAME_VOLUME
                   for v, lo, hi in zip(s.volume, d.lowest, d.original))
        if ours and server.set_volume(d.index, d.original):
            restored += 1
    log.warning("a previous coach left %d stream(s) lowered: restored %d (the others are gone "
                "or the user changed them since)", len(saved), restored)
    write_state(path, [])
    return restored


def forget_lowered(server: Server, d: Ducked) -> bool:
    """A stream ended while lowered: if the server's stream-restore database kept the volume we
    set for its key, put the original back there, so the next stream of that app or role
    (the next song's stream) does not start lowered. True if an entry was changed."""
    if not d.restore_id:
        return False
    kept = server.remembered_volume(d.restore_id)
    if kept is None or len(kept) != len(d.original) or same_volume(kept, d.original):
        return False
    ours = all(lo - SAME_VOLUME <= v <= hi + SAME_VOLUME
               for v, lo, hi in zip(kept, d.lowest, d.original))
    if not ours:
        return False  # set by the user (or another program) since: theirs
    server.remember_volume(d.restore_id, d.original)
    log.info("stream %d (%s) ended while lowered: its remembered volume put back", d.index,
             d.app or d.name)
    return True


# Recoveries running in the background, by state file: a Ducker starting meanwhile waits for
# its file's (it would otherwise lower a stream that the recovery then "gives back").
_recoveries: dict[Path, threading.Event] = {}
_recoveries_lock = threading.Lock()  # guards the dict only, never held while talking


def recovery_pending(path: Path) -> threading.Event | None:
    """The background recovery of ``path``, while it runs (its event is set when it ends)."""
    with _recoveries_lock:
        return _recoveries.get(path)


def recover_left_lowered(path: Path | None = None,
                         connect: Callable[[], Server] | None = None) -> int:
    """At a start: give back what a crashed or killed coach left lowered (``recover``), from
    this thread. No server, or one that refuses: one warning. The number of streams restored."""
    path = path if path is not None else state_file()
    if not path.exists():
        return 0
    try:
        server = (connect or PulseConnection)()
    except ServerGone as e:
        log.warning("cannot restore volumes a previous coach left lowered: %s", e)
        return 0
    try:
        return recover(server, path)
    except ServerGone as e:
        log.warning("cannot restore volumes a previous coach left lowered: %s", e)
        return 0
    finally:
        server.close()


def recover_in_background(path: Path | None = None,
                          connect: Callable[[], Server] | None = None) -> threading.Thread | None:
    """``recover_left_lowered`` on a thread of its own (the daemon's start: the sound server may
    be slow or hung, the socket and the session thread are not held up), if there is a file."""
    path = path if path is not None else state_file()
    if not path.exists():
        return None
    done = threading.Event()
    with _recoveries_lock:
        _recoveries[path] = done

    def run() -> None:
        try:
            recover_left_lowered(path, connect)
        finally:
            done.set()
            with _recoveries_lock:
                if _recoveries.get(path) is done:
                    del _recoveries[path]

    t = threading.Thread(target=run, name="coach-duck-recover", daemon=True)
    t.start()
    return t
