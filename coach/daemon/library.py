"""The program library: the programs directory as last read, each file's good version (if any)
and its last error. Owned by the session thread; scanning reads a few small files (each one as
coach/store/programs.py reads a program)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from coach.core.errors import CoachError
from coach.core.program import Program, Schedule, VoiceSettings
from coach.core.timeline import Timeline, compile_program
from coach.store.programs import Resolved, load_with_defaults, os_reason

log = logging.getLogger(__name__)


@dataclass
class Entry:
    """A program file as last seen: its good version (if any) and its last error."""

    path: Path
    mtime_ns: int
    program: Program | None = None
    timeline: Timeline | None = None
    error: str | None = None


@dataclass(frozen=True)
class Change:
    """What one scan found: stems loaded or reloaded (their clips may be prepared ahead) and
    stems whose schedules must be looked at again (loaded, broken or removed)."""

    loaded: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


class ProgramLibrary:
    def __init__(self, programs_dir: Path, voice_defaults: VoiceSettings | None = None) -> None:
        self.programs_dir = Path(programs_dir)
        self.voice_defaults = voice_defaults
        self.entries: dict[str, Entry] = {}
        self._dir_error: str | None = None

    def scan(self) -> Change:
        """Load new and changed program files; keep the last good version of a broken one."""
        loaded: list[str] = []
        changed: list[str] = []
        try:
            files = sorted(p for p in self.programs_dir.iterdir()
                           if p.suffix in (".yaml", ".yml") and not p.name.startswith("."))
        except OSError as e:
            message = f"{self.programs_dir}: cannot read the programs directory: {os_reason(e)}"
            if message != self._dir_error:  # once, not at every rescan
                log.error("%s", message)
                self._dir_error = message
            return Change()
        if self._dir_error is not None:
            log.info("%s: readable again", self.programs_dir)
            self._dir_error = None
        seen = set()
        for path in files:
            stem = path.stem
            seen.add(stem)
            old = self.entries.get(stem)
            try:
                mtime = path.stat().st_mtime_ns
            except OSError as e:  # a symlink loop, a dangling link: said once, never skipped
                error = f"{path}: cannot read: {os_reason(e)}"
                if old is None or old.error != error or old.path != path:
                    log.error("%s", error)
                    entry = old or Entry(path, -1)
                    entry.path, entry.mtime_ns, entry.error = path, -1, error
                    self.entries[stem] = entry
                    changed.append(stem)
                continue
            if old is not None and old.mtime_ns == mtime and old.path == path:
                continue
            entry = old or Entry(path, mtime)
            entry.path, entry.mtime_ns = path, mtime
            try:
                program = load_with_defaults(path, self.voice_defaults)
                entry.program, entry.timeline = program, compile_program(program)
                entry.error = None
                log.info("%s: loaded %r%s", path, program.name, " (reloaded)" if old else "")
                loaded.append(stem)
            except CoachError as e:
                entry.error = str(e)
                for line in str(e).splitlines():
                    log.error("%s", line)
                if entry.program is not None:
                    log.warning("%s: keeping the last good version of %r", path, entry.program.name)
            self.entries[stem] = entry
            changed.append(stem)
        for stem in list(self.entries):
            if stem not in seen:
                # A deleted file stops being offered; a running session of it plays on.
                log.info("%s: removed", self.entries[stem].path)
                del self.entries[stem]
                changed.append(stem)
        return Change(tuple(loaded), tuple(changed))

    def resolve(self, name: str) -> Resolved:
        """A stem in the programs dir (or its file name), or a path to a file. LookupError (or
        CoachError for a broken file) says why not."""
        entry = self.entries.get(name)
        if entry is None and os.sep not in name:
            # "hold-test.yaml", the file name as it is in the programs dir: that program.
            entry = next((e for e in self.entries.values() if e.path.name == name), None)
            if entry is not None:
                name = entry.path.stem
        if entry is None and (os.sep in name or name.endswith((".yaml", ".yml"))):
            path = Path(name)
            program = load_with_defaults(path, self.voice_defaults)
            return Resolved(path.stem, path.resolve(), program, compile_program(program))
        if entry is None:
            known = ", ".join(sorted(self.entries)) or "none"
            raise LookupError(f"no program {name!r} in {self.programs_dir} (known: {known})")
        if entry.program is None or entry.timeline is None:
            raise LookupError(f"program {name!r} does not load: {entry.error}")
        return Resolved(name, entry.path, entry.program, entry.timeline)

    def schedules(self, stem: str) -> tuple[Schedule, ...]:
        entry = self.entries.get(stem)
        return entry.program.schedules if entry is not None and entry.program else ()

    def errors(self) -> dict[str, str]:
        return {k: v.error for k, v in self.entries.items() if v.error}

