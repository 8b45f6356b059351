"""Is a remedy's speech made in time on one core? (`coach check`, issue "the coach answers the
answer"). When a low feel lands, the daemon recompiles the rest of the session and its clip
worker (one thread: one core) makes the clips the new plan has and the old one had not: the
words said in the rest, the flex cue, the announcements with the new tempo, a closing hold's
words. Each must be ready before the player renders its cue. Pure: what an engine costs and
which clips the cache already holds are handed in (coach/audio/voice/cost.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from coach.core.errors import Diagnostic
from coach.core.phrases import phrase_table
from coach.core.program import Program
from coach.core.remedy import apply_remedy
from coach.core.timeline import TICK_KEY, Timeline, clip_key, compile_program

# A clip must be ready this long before its cue is heard: the player renders up to ~1 s
# ahead, and half a second more is slack (the daemon's start rule, coach/daemon/prepare.py).
READY_MARGIN_MS = 1500
# A remedy's words come no earlier than this after the position heard at the rating: the
# player has rendered up to ~1 s ahead (READY_MARGIN_MS covers it), and the words' clip needs
# a moment (coach/daemon/remedy.py).
CHANGE_LEAD_MS = READY_MARGIN_MS + 500


@dataclass(frozen=True)
class SynthCost:
    """What one core takes to make clips with one engine: ``load_s`` once (the engine
    loaded for the job: the clip worker releases Piper when it goes idle), then
    ``per_clip_s + per_char_s * len(text)`` a clip."""

    engine: str
    load_s: float
    per_clip_s: float
    per_char_s: float

    def clip_s(self, text: str) -> float:
        return self.per_clip_s + self.per_char_s * len(text)


@dataclass(frozen=True)
class Late:
    """A remedy whose new clips one core cannot make in time: given a ``feel`` after set
    ``after_set`` at ``rated_ms``, ``clips`` new clips up to ``text`` (heard at ``due_ms``)
    take ``needed_s`` but only ``available_s`` lie between the rating and that clip's
    deadline (READY_MARGIN_MS before it is heard)."""

    exercise_index: int
    after_set: int
    feel: int
    rated_ms: int
    needed_s: float
    available_s: float
    clips: int
    text: str
    due_ms: int


def rating_points(tl: Timeline, exercise_index: int, set_no: int) -> list[int]:
    """When a feel on set ``set_no`` can land: from the end of its work (the earliest: the
    words come soonest after it) to the end of its last `feel` answer window (the latest the
    lifter is asked: the least time before the next set's announcement)."""
    span = next(s for s in tl.sets if s.exercise_index == exercise_index and s.set == set_no)
    windows = [p.end_ms for p in tl.phases if p.phase == "answer" and p.question == "feel"
               and p.exercise_index == exercise_index and p.set == set_no]
    return [span.work_end_ms] + ([max(windows)] if windows else [])


def new_clips(own: Timeline, new: Timeline, from_ms: int) -> list[tuple[str, int]]:
    """The clips ``new`` plays at or after ``from_ms`` that ``own`` has nowhere, each with
    its first cue, in the order heard (the clip worker's order)."""
    had = {clip_key(c) for c in own.cues}
    first: dict[str, int] = {}
    for c in new.cues:
        key = clip_key(c)
        if c.t_ms >= from_ms and key != TICK_KEY and key not in had:
            first.setdefault(key, c.t_ms)
    return sorted(first.items(), key=lambda kv: kv[1])


def late(clips: list[tuple[str, int]], rated_ms: int, cost: SynthCost,
         cached: Callable[[str], bool]) -> tuple[float, float, int, str, int] | None:
    """The first clip one core would make too late, made in order from ``rated_ms`` (the
    engine loaded first when any is made; a cached clip costs nothing): (seconds needed up to
    it, seconds available for it, clips made up to it, its text, its cue). None: all in time."""
    spent, made = 0.0, 0
    for text, due_ms in clips:
        if cached(text):
            continue
        spent += cost.clip_s(text) + (cost.load_s if made == 0 else 0.0)
        made += 1
        available = (due_ms - READY_MARGIN_MS - rated_ms) / 1000
        if spent > available:
            return spent, available, made, text, due_ms
    return None


def _cases(program: Program) -> Iterator[tuple[int, int, int]]:
    """(exercise, set, feel) of every low feel a remedy answers: each set but the last, each
    feel at or below its ``low``."""
    for i, ex in enumerate(program.exercises):
        if ex.remedy is None:
            continue
        for set_no in range(1, ex.sets):
            for feel in range(ex.remedy.low, 0, -1):
                yield i, set_no, feel


def late_remedies(program: Program, cost: SynthCost,
                  cached: Callable[[str], bool]) -> list[Late]:
    """For each exercise, the first remedy (by set, then feel from ``low`` down, then the
    rating's moment) whose new clips one core cannot make before they are heard."""
    own = compile_program(program)
    out: dict[int, Late] = {}
    for i, set_no, feel in _cases(program):
        if i in out:
            continue
        ex = program.exercises[i]
        words = phrase_table(program.language, program.words, ex.words)
        for rated in rating_points(own, i, set_no):
            change = apply_remedy(program, i, ex, feel, set_no, ex.sides[-1], words,
                                  at_ms=rated + CHANGE_LEAD_MS)
            if change is None:
                continue
            found = late(new_clips(own, compile_program(program, [change]), rated), rated,
                         cost, cached)
            if found is not None:
                out[i] = Late(i, set_no, feel, rated, *found)
                break
    return [out[i] for i in sorted(out)]


def late_problems(program: Program, cost: SynthCost,
                  cached: Callable[[str], bool]) -> list[Diagnostic]:
    """`coach check`'s errors for late_remedies, one line each at the `remedy` key."""
    out = []
    for x in late_remedies(program, cost, cached):
        ex = program.exercises[x.exercise_index]
        clips = f"{x.clips} new clip" + ("s" if x.clips != 1 else "")
        out.append(Diagnostic(
            program.path, *ex.remedy_at,
            f"the remedy after set {x.after_set} of {ex.name} (feel {x.feel} at "
            f"{_mmss(x.rated_ms)}) needs ~{x.needed_s:.1f} s of speech synthesis on one core "
            f"({cost.engine}, {clips} due at {_mmss(x.due_ms)}) but the rest gives "
            f"{max(0.0, x.available_s):.1f} s; lengthen rest, or make its clips ahead: "
            f"coach render {program.path} --feel {x.feel} --after-set {x.after_set} -o FILE.wav"))
    return out


def _mmss(ms: int) -> str:
    s = ms // 1000
    return f"{s // 60}:{s % 60:02d}"
