"""A running session's Status, built from its timeline and its position: the set and phase
there, what comes next, while it prepares how many of its clips are made, and a rest lengthened
by `coach extend`."""

from __future__ import annotations

from dataclasses import dataclass, replace

from coach.core.timeline import Timeline, locate
from coach.core.types import SessionState
from coach.protocol.messages import Status


@dataclass
class Extension:
    """A rest lengthened by `coach extend`: the timeline holds at ``at_ms`` (in set
    ``set_index``) while ``frames`` of extra rest play as the output's insert.

    The output's ``insert_position`` counts the latest insert it has *begun*; until this one
    begins it still counts the one before (``last``, growing). So this one has begun once the
    count drops below the last one seen: followed at every tick of the session (10 Hz), which
    sees the drop long before a new count could pass an old one."""

    set_index: int
    at_ms: int
    frames: int
    rate: int
    last: int | None  # insert_position when the extension was said
    begun: bool = False

    def follow(self, insert_position: int | None) -> None:
        if insert_position is None:
            return
        if not self.begun and (self.last is None or insert_position < self.last):
            self.begun = True
        self.last = insert_position

    def left_ms(self, set_index: int | None, pos_ms: int) -> int:
        """What is still to play of it: all of it until it begins, 0 once heard, or once a
        skip or back left it (another set, or before where it was given)."""
        if set_index != self.set_index or pos_ms < self.at_ms:
            return 0
        heard = max(0, self.last or 0) if self.begun else 0
        return max(0, self.frames - heard) * 1000 // self.rate


def session_status(state: SessionState, program: str, tl: Timeline, pos: int, lost: bool,
                   prepared: tuple[int, int] | None, stalled_s: float = 0.0,
                   extension: Extension | None = None) -> Status:
    """``pos``: ms into the timeline; ``lost``: the audio output died and is retried;
    ``prepared``: while preparing, clips made and clips needed; ``stalled_s``: how long the
    output has taken no audio (a stopped sound server: nothing died, nothing moves);
    ``extension``: the rest extended last. While an extension plays, ``position`` holds (it is
    where the program is) and ``extended`` says how long it holds yet; ``duration`` and
    ``set_end`` grow by that, so that they minus ``position`` stay the time really left."""
    idx, phase = locate(tl, pos)
    left = extension.left_ms(idx, pos) if extension is not None else 0
    reason, problems = ("audio output lost; retrying" if lost else None), []
    if stalled_s > 0 and not lost:
        reason = f"output stalled {int(stalled_s)} s"
        problems.append(f"audio output stalled {int(stalled_s)} s: the sound server or the "
                        "device takes no audio")
    st = Status(state, program=program, position=round(pos / 1000, 3),
                duration=round((tl.duration_ms + left) / 1000, 3), reason=reason,
                problems=problems, extended=round(left / 1000, 3) if left else None)
    if prepared is not None:
        st = replace(st, prepared=prepared[0], needed=prepared[1])
    if idx is not None:
        span = tl.sets[idx]
        nxt = tl.sets[idx + 1] if idx + 1 < len(tl.sets) else None
        st = replace(st, exercise=span.exercise, set=span.set, sets=span.sets,
                     exercise_index=span.exercise_index,
                     set_start=round(span.start_ms / 1000, 3),
                     set_end=round((span.end_ms + left) / 1000, 3),
                     next=f"{nxt.exercise}, set {nxt.set} of {nxt.sets}" if nxt else "done")
    if phase is not None:
        st = replace(st, phase=phase.phase, rep=phase.rep, side=phase.side,
                     pose=phase.pose or None, phase_end=round(phase.end_ms / 1000, 3))
    return st
