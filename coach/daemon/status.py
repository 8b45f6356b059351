"""A running session's Status, built from its timeline and its position: the set and phase
there, what comes next, and while it prepares how many of its clips are made."""

from __future__ import annotations

from dataclasses import replace

from coach.core.timeline import Timeline, locate
from coach.core.types import SessionState
from coach.protocol.messages import Status


def session_status(state: SessionState, program: str, tl: Timeline, pos: int, lost: bool,
                   prepared: tuple[int, int] | None, stalled_s: float = 0.0) -> Status:
    """``pos``: ms into the timeline; ``lost``: the audio output died and is retried;
    ``prepared``: while preparing, clips made and clips needed; ``stalled_s``: how long the
    output has taken no audio (a stopped sound server: nothing died, nothing moves)."""
    idx, phase = locate(tl, pos)
    reason, problems = ("audio output lost; retrying" if lost else None), []
    if stalled_s > 0 and not lost:
        reason = f"output stalled {int(stalled_s)} s"
        problems.append(f"audio output stalled {int(stalled_s)} s: the sound server or the "
                        "device takes no audio")
    st = Status(state, program=program, position=round(pos / 1000, 3),
                duration=round(tl.duration_ms / 1000, 3), reason=reason, problems=problems)
    if prepared is not None:
        st = replace(st, prepared=prepared[0], needed=prepared[1])
    if idx is not None:
        span = tl.sets[idx]
        nxt = tl.sets[idx + 1] if idx + 1 < len(tl.sets) else None
        st = replace(st, exercise=span.exercise, set=span.set, sets=span.sets,
                     exercise_index=span.exercise_index,
                     set_start=round(span.start_ms / 1000, 3),
                     set_end=round(span.end_ms / 1000, 3),
                     next=f"{nxt.exercise}, set {nxt.set} of {nxt.sets}" if nxt else "done")
    if phase is not None:
        st = replace(st, phase=phase.phase, rep=phase.rep, side=phase.side,
                     pose=phase.pose or None, phase_end=round(phase.end_ms / 1000, 3))
    return st
