"""Is a remedy's speech made in time on one core? (`coach check`, issue "the coach answers the
answer"). When a low feel lands, the daemon recompiles the rest of the session and its clip
worker (one thread: one core) makes the clips the new plan has and the old one had not: the
words said in the rest, the flex cue, the announcements with the new tempo, a closing hold's
words. Each must be ready before the player renders its cue. The daemon makes them ahead,
right after the session's own clips (ahead_texts): what is made by the rating costs nothing
then. Pure: what an engine costs and which clips the cache already holds are handed in
(coach/audio/voice/cost.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from coach.core.errors import Diagnostic
from coach.core.navigation import extra_texts
from coach.core.outcome import units
from coach.core.program import Program
from coach.core.remedy import Change, Felt, next_change
from coach.core.timeline import TICK_KEY, Timeline, clip_key, compile_program
from coach.core.types import Side

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
    deadline (READY_MARGIN_MS before it is heard); made ahead from the session's start, they
    would be ready only at ``ahead_ms``."""

    exercise_index: int
    after_set: int
    feel: int
    rated_ms: int
    needed_s: float
    available_s: float
    clips: int
    text: str
    due_ms: int
    ahead_ms: int = 0


def rating_points(tl: Timeline, exercise_index: int, set_no: int,
                  side: Side | None = None) -> list[int]:
    """When a feel on set ``set_no`` (``side``) can land: from the end of its work (the
    earliest: the words come soonest after it) to the end of its last `feel` answer window
    (the latest the lifter is asked: the least time before the next set's announcement)."""
    unit = next(u for u in units(tl) if u.exercise_index == exercise_index
                and u.set == set_no and u.side == side)
    windows = [p.end_ms for p in tl.phases if p.phase == "answer" and p.question == "feel"
               and p.exercise_index == exercise_index and p.set == set_no and p.side == side]
    return [unit.work_end_ms] + ([max(windows)] if windows else [])


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


@dataclass(frozen=True)
class Case:
    """A low feel a remedy answers: ``feel`` on set ``set_no`` (``side``) of exercise
    ``exercise_index``, landing at ``rated_ms``. ``clips``: the new plan's clips that the plan
    playing has nowhere, each with its first cue, in the order heard; ``extra``: what the new
    plan may say outside its timeline (a resume's words) that the session's clips lack."""

    exercise_index: int
    set_no: int
    side: Side | None
    feel: int
    rated_ms: int
    clips: tuple[tuple[str, int], ...]
    extra: tuple[str, ...] = ()


def session_texts(program: Program, tl: Timeline) -> list[str]:
    """The session's own clips, as the daemon's clip worker makes them for a start: its
    timeline's speech, then what it may say outside it (coach/daemon/prepare.py)."""
    texts = [clip_key(c) for c in tl.cues if clip_key(c) != TICK_KEY]
    return list(dict.fromkeys(texts + extra_texts(tl, program.words)))


def remedy_cases(program: Program, changes: tuple[Change, ...] = (),
                 from_ms: int = 0) -> Iterator[Case]:
    """Every low feel a remedy answers on the plan with ``changes`` in force: each exercise
    with a remedy, each set but its last, each side, each feel at or below its ``low`` (from
    ``low`` down: feel 1's words are other words than feel 2's), each moment it can land
    (rating_points) at or after ``from_ms``. Its change is derived as the daemon derives it
    (next_change), the words no earlier than CHANGE_LEAD_MS after the moment."""
    tl = compile_program(program, changes)
    own = set(session_texts(program, tl))
    for i, ex in enumerate(program.exercises):
        if ex.remedy is None:
            continue
        for set_no in range(1, ex.sets):
            for side in ex.sides:
                points = [r for r in rating_points(tl, i, set_no, side) if r >= from_ms]
                for feel in range(ex.remedy.low, 0, -1):
                    for rated in points:
                        change = next_change(program, changes, Felt(
                            i, set_no, side, feel, rated + CHANGE_LEAD_MS))
                        if change is None:
                            continue
                        new = compile_program(program, changes + (change,))
                        clips = new_clips(tl, new, rated)
                        extra = [t for t in extra_texts(new, program.words) if t not in own]
                        yield Case(i, set_no, side, feel, rated, tuple(clips), tuple(extra))


def ahead_texts(cases: Iterable[Case]) -> list[str]:
    """The clips the daemon makes ahead, right after the session's own, so that a remedy's
    words are in the cache before a feel can bring it: in the order they could be needed,
    the earliest moment first, then the clip heard first (then feel from ``low`` down: feel
    1's words after feel 2's), and last what the new plans may say outside their timeline
    (a resume's words); once each."""
    cases = list(cases)
    heard = sorted(((c.rated_ms, due, -c.feel, t) for c in cases for t, due in c.clips))
    texts = [t for *_, t in heard] + [t for c in cases for t in c.extra]
    return list(dict.fromkeys(texts))


@dataclass(frozen=True)
class Worker:
    """The clip worker from a session's start on, at an engine's cost: it makes the session's
    own clips, then the clips made ahead (none of them cached costs nothing); ``ends``: each
    clip it makes, when it is made (s from the start), in order."""

    ends: tuple[tuple[str, float], ...]

    @staticmethod
    def start(cost: SynthCost, own: Iterable[str], ahead: Iterable[str],
              cached: Callable[[str], bool]) -> Worker:
        ends: list[tuple[str, float]] = []
        spent = 0.0
        for text in dict.fromkeys([*own, *ahead]):
            if cached(text):
                continue
            spent += cost.clip_s(text) + (cost.load_s if not ends else 0.0)
            ends.append((text, spent))
        return Worker(tuple(ends))

    @property
    def done_s(self) -> float:
        return self.ends[-1][1] if self.ends else 0.0

    def made_by(self, at_s: float) -> frozenset[str]:
        return frozenset(t for t, end in self.ends if end <= at_s)

    def in_hand(self, at_s: float) -> tuple[str, float] | None:
        """The clip it is making at ``at_s`` and when it is made (None: idle, or between
        clips): a remedy's clips wait for it."""
        return next(((t, end) for t, end in self.ends if end > at_s), None) \
            if at_s < self.done_s else None

    def ready_s(self, texts: Iterable[str]) -> float:
        """When the last of ``texts`` it makes is made (0: it makes none)."""
        want = set(texts)
        return max((end for t, end in self.ends if t in want), default=0.0)


def late(clips: Iterable[tuple[str, int]], rated_ms: int, cost: SynthCost,
         cached: Callable[[str], bool], in_hand: tuple[str, float] | None = None,
         loaded: bool = False) -> tuple[float, float, int, str, int] | None:
    """The first clip one core would make too late, made in order from ``rated_ms`` (a
    cached clip costs nothing), after ``in_hand``: the clip the worker is making then and the
    seconds it still takes (itself on time only if made by its deadline), the engine loaded
    first unless ``loaded``: (seconds needed up to it, seconds available for it, clips made up
    to it, its text, its cue). None: all in time."""
    spent, made = (in_hand[1] if in_hand is not None else 0.0), 0
    for text, due_ms in clips:
        available = (due_ms - READY_MARGIN_MS - rated_ms) / 1000
        if in_hand is not None and text == in_hand[0]:
            made += 1
            if in_hand[1] > available:
                return in_hand[1], available, made, text, due_ms
            continue
        if cached(text):
            continue
        spent += cost.clip_s(text) + (cost.load_s if made == 0 and not loaded else 0.0)
        made += 1
        if spent > available:
            return spent, available, made, text, due_ms
    return None


def late_remedies(program: Program, cost: SynthCost,
                  cached: Callable[[str], bool]) -> list[Late]:
    """For each exercise, the first remedy (by set, side, then feel from ``low`` down, then
    the rating's moment) whose new clips one core cannot make before they are heard: made
    at the rating, after what the clip worker made ahead from the session's start by then
    (the session's own clips, then every remedy's: ahead_texts) and the clip in its hand."""
    cases = list(remedy_cases(program))
    own = session_texts(program, compile_program(program))
    worker = Worker.start(cost, own, ahead_texts(cases), cached)
    out: dict[int, Late] = {}
    for case in cases:
        i = case.exercise_index
        if i in out:
            continue
        at_s = case.rated_ms / 1000
        hand = worker.in_hand(at_s)
        # Busy, the worker holds the engine; idle, it released it (a remedy loads it again).
        found = late(case.clips, case.rated_ms, cost, _either(worker.made_by(at_s), cached),
                     (hand[0], hand[1] - at_s) if hand is not None else None,
                     at_s < worker.done_s)
        if found is not None:
            ready = worker.ready_s(t for t, _ in case.clips)
            out[i] = Late(i, case.set_no, case.feel, case.rated_ms, *found,
                          ahead_ms=round(ready * 1000))
    return [out[i] for i in sorted(out)]


def _either(made: frozenset[str], cached: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda text: text in made or cached(text)


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
            f"{max(0.0, x.available_s):.1f} s, and made ahead from the session's start they "
            f"are ready only at ~{_mmss(x.ahead_ms)}; lengthen rest or what comes before set "
            f"{x.after_set}'s end, or make its clips ahead: "
            f"coach render {program.path} --feel {x.feel} --after-set {x.after_set} -o FILE.wav"))
    return out


def _mmss(ms: int) -> str:
    s = ms // 1000
    return f"{s // 60}:{s % 60:02d}"
