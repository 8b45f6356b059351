"""Programs as coach reads them from disk: a program file with config.yaml's voice defaults
under its own `voice:`, and as it plays today (its `progress:` rules applied to its last session
in the history). The CLI (`coach plan`) and the daemon's program library both read them here."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from coach.core.errors import CoachError
from coach.core.imbalance import imbalance
from coach.core.program import Load, Program, VoiceSettings, load_program, parse_load
from coach.core.progression import PastExercise, Progressed, apply_progress
from coach.core.remedy import lagging_first, remedy_problems
from coach.core.timeline import Timeline, compile_program
from coach.store.config import with_voice_defaults
from coach.store.history import History

# Sessions read for the lagging sides: enough to hold an exercise's last 5 rated sessions
# among other programs' (the imbalance rule counts at most 5 per exercise).
LAGGING_LOOKBACK = 60


@dataclass(frozen=True)
class Resolved:
    """A program ready to play: its stem (or file stem), path, program and timeline."""

    stem: str
    path: Path
    program: Program
    timeline: Timeline


def os_reason(e: OSError) -> str:
    """Why a path cannot be used, in words: ELOOP is "a symlink loop" (its strerror, "Too many
    levels of symbolic links", does not say where to look), else the strerror."""
    if e.errno == errno.ELOOP:
        return "a symlink loop"
    return e.strerror or str(e)


def ensure_programs_dir(pdir: Path) -> bool:
    """The programs directory, created with its parents when nothing is there: True when it
    was. What is there and cannot be one raises CoachError naming why (a symlink loop, a
    symlink to nowhere, a file); "File exists" was all a loop used to get."""
    def error(message: str) -> CoachError:
        return CoachError.at(str(pdir), 0, 0, message)

    try:
        st = os.stat(pdir)
    except FileNotFoundError:
        if os.path.islink(pdir):
            raise error(f"the programs directory is a symlink to {os.readlink(pdir)}, which "
                        "does not exist") from None
        try:
            pdir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise error(f"cannot create the programs directory: {os_reason(e)}") from None
        return True
    except OSError as e:  # ELOOP, EACCES on a parent, ENOTDIR...
        raise error(f"cannot use the programs directory: {os_reason(e)}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise error("the programs directory is not a directory")
    return False


def load_with_defaults(path: Path, voice_defaults: VoiceSettings | None) -> Program:
    """A program file with config.yaml's voice defaults under its own `voice:` (CoachError
    for a mistake, or a remedy that cannot fit its rest, as `coach check` says it)."""
    program = with_voice_defaults(load_program(path), voice_defaults)
    problems = remedy_problems(program)
    if problems:
        raise CoachError(problems)
    return program


def progressed(program: Program, history: History | None,
               path: Path | str | None = None) -> tuple[Program, list[Progressed]]:
    """``program`` as it plays today: its `progress:` rules applied to the last finished
    session of it in ``history`` (matched by file path or name)."""
    if history is None or not any(ex.progress for ex in program.exercises):
        return program, []
    summary = history.last_session_summary(str(path) if path is not None else program.name)
    if not summary and path is not None:
        summary = history.last_session_summary(program.name)
    past = {i: PastExercise(sets=e.sets if e.sets is not None else
                            program.exercises[i].sets if i < len(program.exercises) else 1,
                            completed=e.completed, reps=e.reps, hold_ms=e.hold_ms,
                            feel=e.feel, effort=e.effort, load=_load(e.load),
                            sets_completed=e.sets_completed, session_status=e.session_status)
            for i, e in summary.items() if i < len(program.exercises)
            and e.exercise == program.exercises[i].name}
    return apply_progress(program, past)


def with_lagging_first(program: Program, history: History | None) -> Program:
    """A remedied unilateral exercise starts with the side that lagged in its last sessions
    (the imbalance rule over the newest sessions that rated its sides)."""
    if history is None or not any(ex.remedy is not None and len(ex.sides) > 1
                                  for ex in program.exercises):
        return program
    return lagging_first(program, imbalance(history.recent(LAGGING_LOOKBACK)))


def read_quietly(path: str | Path) -> Program | None:
    """A program file as it is now, None when it is gone or has a mistake (`coach history`
    shows its notes beside old sessions, and a program since deleted must not stop that)."""
    try:
        return load_program(path)
    except CoachError:
        return None


def _load(logged: str | None) -> Load | None:
    """A load as history keeps it ("24.5kg"), None when none (or unreadable: never a crash)."""
    try:
        return parse_load(logged) if logged is not None else None
    except ValueError:
        return None


def with_progress(resolved: Resolved, history: History | None) -> tuple[Resolved, list[Progressed]]:
    """A resolved program with today's progression and its lagging sides first (a new
    timeline when anything changed)."""
    program, notes = progressed(resolved.program, history, resolved.path)
    program = with_lagging_first(program, history)
    if program is resolved.program:
        return resolved, notes
    return Resolved(resolved.stem, resolved.path, program, compile_program(program)), notes
