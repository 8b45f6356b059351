"""The saved-volumes file ($XDG_STATE_HOME/coach/ducked.json): every stream the ducker may
lower, with the volume to give back, written before anything is lowered; its checks (size,
nesting, types, ranges: a file that fails them is moved aside, an entry that fails them never
applied); and the recovery that gives back what a crashed or killed coach left lowered (at a
start, or in the background)."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import stat
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coach.audio.duck.server import (
    APP_NAME,
    MAX_CHANNELS,
    NORMAL_VOLUME,
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
        # Never above the normal volume, which is all a start will give back (a stream the user
        # turned past 100 % comes back at 100 % after a crash, not higher).
        return {"index": self.index, "app": self.app, "pid": self.pid, "name": self.name,
                "original": [min(v, NORMAL_VOLUME) for v in self.original],
                "lowest": [min(v, NORMAL_VOLUME) for v in self.lowest],
                "restore_id": self.restore_id}

    def lowered(self, volume: Sequence[float]) -> bool:
        """``volume`` is one we could have set (between lowest and original) and below the
        original: what a crash leaves behind, never the user's own choice."""
        return (len(volume) == len(self.original) and not same_volume(volume, self.original)
                and all(lo - SAME_VOLUME <= v <= hi + SAME_VOLUME
                        for v, lo, hi in zip(volume, self.lowest, self.original)))

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


# A file coach writes lists a few streams (~200 bytes each) at a nesting depth of 4: anything
# larger or deeper is not ours, and is never parsed (a 30 MB file took 3.3 s to start; a deeply
# nested one raised RecursionError in the ducker's thread).
MAX_STATE_BYTES = 64 * 1024
MAX_STREAMS = 256
MAX_DEPTH = 6
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_warned: set[tuple[str, str]] = set()  # (path, reason) said once per process


class BadState(ValueError):
    """The saved-volumes file, or one of its entries, is not one coach wrote."""


def _nesting(text: str) -> int:
    """How deeply ``text``'s JSON arrays and objects nest (strings skipped)."""
    depth = deepest = 0
    for m in _TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def _volume(v: object, what: str) -> tuple[float, ...]:
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_CHANNELS:
        raise BadState(f"{what} must list 1 to {MAX_CHANNELS} channel volumes")
    out = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise BadState(f"{what} holds {x!r}, not a volume")
        if not 0 <= x <= NORMAL_VOLUME:
            raise BadState(f"{what} {x:g} is outside 0..{NORMAL_VOLUME:g} (the normal volume)")
        out.append(float(x))
    return tuple(out)


def _entry(e: object) -> Ducked:
    if not isinstance(e, dict):
        raise BadState("not an object")
    index = e.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2 ** 32:
        raise BadState(f"index {index!r} is not a stream index")
    texts: dict[str, str] = {}
    for k in ("app", "pid", "name", "restore_id"):
        v = e.get(k, "" if k == "restore_id" else None)
        if not isinstance(v, str) or len(v) > 1024:
            raise BadState(f"{k} {v!r} is not a name")
        texts[k] = v
    original, lowest = _volume(e.get("original"), "original"), _volume(e.get("lowest"), "lowest")
    if len(lowest) != len(original):
        raise BadState(f"lowest has {len(lowest)} channels, original {len(original)}")
    if any(lo > hi + SAME_VOLUME for lo, hi in zip(lowest, original)):
        raise BadState("lowest lies above original")
    return Ducked(index, texts["app"], texts["pid"], texts["name"], original, lowest, lowest,
                  restore_id=texts["restore_id"])


def _parse(path: Path) -> tuple[list[Ducked], list[str]]:
    """The entries of ``path`` (FileNotFoundError if none) and why others were refused;
    BadState when the file as a whole is unusable. Size, type and nesting are checked before
    anything is parsed."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise BadState("not a regular file")
    if st.st_size > MAX_STATE_BYTES:
        raise BadState(f"{st.st_size} bytes, more than the {MAX_STATE_BYTES} coach ever writes")
    with open(path, "rb") as f:
        raw = f.read(MAX_STATE_BYTES + 1)
    if len(raw) > MAX_STATE_BYTES:
        raise BadState(f"more than the {MAX_STATE_BYTES} bytes coach ever writes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadState(f"not UTF-8 ({e.reason})") from None
    if _nesting(text) > MAX_DEPTH:
        raise BadState(f"nested more than {MAX_DEPTH} deep")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise BadState(f"not JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("streams"), list):
        raise BadState('no "streams" list')
    if data.get("version", 1) != 1:
        raise BadState(f"version {data.get('version')!r}, not 1")
    if len(data["streams"]) > MAX_STREAMS:
        raise BadState(f"{len(data['streams'])} streams, more than {MAX_STREAMS}")
    out, refused = [], []
    for i, item in enumerate(data["streams"]):
        try:
            out.append(_entry(item))
        except BadState as why:
            refused.append(f"entry {i}: {why}")
    return out, refused


def _move_aside(path: Path, reason: str) -> None:
    """One warning naming both paths (once per process for the same file and reason)."""
    dest = path.with_name(path.name + ".bad")
    if dest.exists() or dest.is_symlink():
        dest = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        path.rename(dest)
    except OSError as e:
        if (str(path), reason) not in _warned:
            _warned.add((str(path), reason))
            log.warning("ignoring the saved volumes in %s (%s); cannot move it aside to %s: %s",
                        path, reason, dest, e.strerror or e)
        return
    log.warning("the saved volumes in %s cannot be used (%s): moved aside to %s", path, reason,
                dest)


def read_state(path: Path) -> list[Ducked]:
    """The streams ``path`` lists, each checked (types, channel count, every volume within
    0..the normal volume, lowest not above original). A file that is not coach's (too large,
    too deep, not JSON, not a file, an entry refused) is moved aside with one warning; its
    good entries are still returned, a refused one never."""
    try:
        out, refused = _parse(path)
    except FileNotFoundError:
        return []
    except BadState as e:
        _move_aside(path, str(e))
        return []
    except OSError as e:  # unreadable: a permission, an I/O error
        if (str(path), str(e)) not in _warned:
            _warned.add((str(path), str(e)))
            log.warning("ignoring the unreadable saved volumes in %s (%s)", path,
                        e.strerror or e)
        return []
    if refused:
        _move_aside(path, f"{len(refused)} of {len(out) + len(refused)} entries refused, "
                          f"never applied: {'; '.join(refused[:3])}")
    return out


def recover(server: Server, path: Path) -> int:
    """After a crash: give every stream the file lists, still there and still at a volume we
    could have set (between its lowest and its original, below the original), its original
    volume back; a stream whose volume is outside that range was changed by the user since,
    and keeps it. Removes the file. The number of streams restored."""
    saved = read_state(path)
    log.debug("saved volumes in %s: %d stream(s)", path, len(saved))
    if not saved:
        with contextlib.suppress(OSError):
            if path.is_file():
                path.unlink()
        return 0
    restored = lowered = 0
    live = server.streams()
    for d in saved:
        s = next((s for s in live if d.matches(s)), None)
        if s is None:
            forget_lowered(server, d)
            continue
        if d.lowered(s.volume):
            lowered += 1
            if server.set_volume(d.index, d.original):
                restored += 1
    if lowered:
        log.warning("a previous coach left %d stream(s) lowered: restored %d (the others are "
                    "gone or the user changed them since)", lowered, restored)
    try:
        write_state(path, [])
    except OSError as e:  # a read-only state dir: the next start finds nothing left to do
        log.debug("cannot remove %s: %s", path, e)
    return restored


def forget_lowered(server: Server, d: Ducked) -> bool:
    """A stream ended while lowered: if the server's stream-restore database kept the volume we
    set for its key, put the original back there, so the next stream of that app or role
    (the next song's stream) does not start lowered. True if an entry was changed."""
    if not d.restore_id:
        return False
    kept = server.remembered_volume(d.restore_id)
    if kept is None or not d.lowered(kept):
        return False  # not lowered, or set by the user (or another program) since: theirs
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
