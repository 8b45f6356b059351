"""Remedies (issue "the coach answers the answer"): what the remaining sets of an exercise
become when a set's (or side's) feel is low, and their return to the program's values when a
later feel is high. Pure: the daemon and `coach plan --feel` recompile the timeline with the
``Change`` this returns (``compile_program(program, changes)``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from coach.core.errors import Diagnostic
from coach.core.imbalance import Imbalance
from coach.core.phrases import fill, phrase_table
from coach.core.program import Exercise, Program, Remedy, Tempo, parse_tempo
from coach.core.types import Side

MAX_DIGIT_S = 9  # a tempo phase is one digit: a remedy never lengthens one past 9 s


@dataclass(frozen=True)
class Felt:
    """A feel that brought a change: ``feel`` on set ``set_no`` (``side``) of exercise
    ``exercise_index``, its words no earlier than ``at_ms``. What a session keeps of its
    remedies for a resume after a crash: the changes are derived again from these
    (``replay``), on the program as it is then."""

    exercise_index: int
    set_no: int
    side: Side | None
    feel: int
    at_ms: int


@dataclass(frozen=True)
class Change:
    """From set ``from_set`` of exercise ``exercise_index`` on, the sets play ``exercise``;
    ``words`` are said in the rest before that set (no earlier than ``at_ms``), then a flex cue
    of ``flex_ms`` (0: none). ``reason`` is what history keeps ("feel 2 on set 1"); None when
    the change returns the exercise to the program's own values. ``feel`` and ``side``: the
    rating of set ``from_set - 1`` that brought it."""

    exercise_index: int
    from_set: int
    exercise: Exercise
    reason: str | None
    words: str
    flex_ms: int = 0
    at_ms: int = 0
    feel: int = 0
    side: Side | None = None

    @property
    def felt(self) -> Felt:
        return Felt(self.exercise_index, self.from_set - 1, self.side, self.feel, self.at_ms)


def slower(tempo: Tempo, eccentric_ms: int, peak_ms: int) -> Tempo:
    """``tempo`` with its eccentric and its top pause (the peak contraction) lengthened by
    whole seconds, at most 9 s each; an explosive X stays explosive."""
    code = list(tempo.code)
    for i, add in ((0, eccentric_ms), (3, peak_ms)):
        if add and not tempo.explosive[i]:
            code[i] = str(min(MAX_DIGIT_S, int(code[i]) + add // 1000))
    return parse_tempo("".join(code))


def remedied(ex: Exercise, remedy: Remedy, weaker: Side | None = None) -> Exercise:
    """The exercise as its remedy plays it: slower tempo, a closing hold, the weaker side
    (``weaker``, the side felt worse) first."""
    out = ex
    if ex.tempo is not None and (remedy.eccentric_ms or remedy.peak_ms):
        out = replace(out, tempo=slower(ex.tempo, remedy.eccentric_ms, remedy.peak_ms))
    if remedy.hold_ms and ex.kind in ("tempo", "cadence"):
        out = replace(out, closing_hold_ms=remedy.hold_ms)
    if remedy.weaker_first and weaker is not None and len(ex.sides) > 1 and ex.sides[0] != weaker:
        out = replace(out, sides=tuple(reversed(ex.sides)))
    return out


def _joined(parts: list[str], words: dict[str, str]) -> str:
    if len(parts) < 2:
        return "".join(parts)
    # No comma before the last part: "und", "y", "et" take none (nor does English need one).
    return ", ".join(parts[:-1]) + f" {words['and']} " + parts[-1]


def change_words(own: Exercise, new: Exercise, feel: int, words: dict[str, str],
                 language: str, flex_ms: int = 0) -> str:
    """"Feel was 2. Next set: 4 seconds down and squeeze at the top for 2 seconds." (or "back to the
    program"), then the flex cue's own words when there is one."""
    parts: list[str] = []
    if new == own:
        parts.append(words["back_to_program"])
    else:
        if new.sides != own.sides and new.sides[0] is not None:
            parts.append(fill(words, "weaker_first", language, side=words[new.sides[0]]))
        if new.tempo is not None and own.tempo is not None:
            if new.tempo.phases_ms[0] != own.tempo.phases_ms[0]:
                parts.append(fill(words, "slower_down", language,
                                  seconds=new.tempo.phases_ms[0] // 1000))
            if new.tempo.phases_ms[3] != own.tempo.phases_ms[3]:
                parts.append(fill(words, "peak_pause", language,
                                  seconds=new.tempo.phases_ms[3] // 1000))
        if new.closing_hold_ms:
            parts.append(fill(words, "closing_hold", language,
                              seconds=new.closing_hold_ms // 1000))
    said = [fill(words, "feel_was", language, n=feel)]
    if parts:
        said.append(fill(words, "next_set", language, change=_joined(parts, words)))
    return ". ".join(p[:1].upper() + p[1:] for p in said) + "."


def reason_of(feel: int, set_no: int, side: Side | None) -> str:
    """What history keeps of a remedy: "feel 2 on set 1" ("feel 2 on set 1 left")."""
    return f"feel {feel} on set {set_no}" + (f" {side}" if side else "")


def apply_remedy(program: Program, exercise_index: int, current: Exercise, feel: int,
                 set_no: int, side: Side | None, words: dict[str, str],
                 at_ms: int = 0) -> Change | None:
    """What a ``feel`` on set ``set_no`` (``side``) of the exercise does to its next sets, which
    would play ``current``: a feel at or below the remedy's ``low`` remedies a program-valued
    exercise; at or above its ``high`` a remedied one returns to the program's values. None:
    nothing changes (no remedy, the last set, a middling feel, already remedied)."""
    own = program.exercises[exercise_index]
    remedy = own.remedy
    if remedy is None or set_no >= own.sets:
        return None
    if feel <= remedy.low and current == own:
        new = remedied(own, remedy, side)
        if new == own and not remedy.flex_ms:
            return None
        return Change(exercise_index, set_no + 1, new, reason_of(feel, set_no, side),
                      change_words(own, new, feel, words, program.language), remedy.flex_ms,
                      at_ms, feel, side)
    if feel >= remedy.high and current != own:
        return Change(exercise_index, set_no + 1, own, None,
                      change_words(own, own, feel, words, program.language), 0, at_ms, feel,
                      side)
    return None


def next_change(program: Program, changes: tuple[Change, ...], felt: Felt) -> Change | None:
    """What ``felt`` does to the sets after it, with ``changes`` already in force (None:
    nothing; also for a feel the program no longer has room for: an exercise or set that an
    edit took away)."""
    ei = felt.exercise_index
    if not 0 <= ei < len(program.exercises):
        return None
    current, _ = playing(program, changes, ei, felt.set_no + 1)
    words = phrase_table(program.language, program.words, program.exercises[ei].words)
    return apply_remedy(program, ei, current, felt.feel, felt.set_no, felt.side, words,
                        felt.at_ms)


def replay(program: Program, felt: tuple[Felt, ...]) -> tuple[Change, ...]:
    """The changes that ``felt``, in order, bring to ``program``: the remedies of a session
    derived again (a session resumed after a crash plays them as the interrupted one did)."""
    changes: tuple[Change, ...] = ()
    for f in felt:
        c = next_change(program, changes, f)
        if c is not None:
            changes += (c,)
    return changes


def playing(program: Program, changes: tuple[Change, ...], exercise_index: int,
            set_no: int) -> tuple[Exercise, str | None]:
    """The exercise set ``set_no`` plays under ``changes``, and why it differs from the
    program's (None: it does not)."""
    ex, why = program.exercises[exercise_index], None
    for c in changes:
        if c.exercise_index == exercise_index and c.from_set <= set_no:
            ex, why = c.exercise, c.reason
    return ex, why


def plan_changes(program: Program, feel: int, after_set: int = 1) -> tuple[Change, ...]:
    """What a ``feel`` given after set ``after_set`` of every exercise with a remedy would do
    (`coach plan --feel N --after-set K`, `coach render` with the same options): a rating
    after a unilateral set lands on its last side, so that is the side felt."""
    out = []
    for i, ex in enumerate(program.exercises):
        words = phrase_table(program.language, program.words, ex.words)
        c = apply_remedy(program, i, ex, feel, after_set, ex.sides[-1], words)
        if c is not None:
            out.append(c)
    return tuple(out)


def lagging_first(program: Program, rows: list[Imbalance]) -> Program:
    """``program`` with each unilateral exercise whose remedy puts the weaker side first
    starting with the side the imbalance rule flags as lagging (``rows``, by exercise name),
    the reason kept for the first set's announcement. The program itself when none moves."""
    lagging = {x.exercise: (x.lagging, x.lagged) for x in rows if x.lagging is not None}
    out = []
    for ex in program.exercises:
        lag = lagging.get(ex.name)
        if lag is not None and lag[0] is not None and ex.remedy is not None and \
                ex.remedy.weaker_first and len(ex.sides) > 1:
            first = lag[0]
            rest = tuple(s for s in ex.sides if s != first)
            ex = replace(ex, sides=(first, *rest), lagging=(first, lag[1]))
        out.append(ex)
    if all(a is b for a, b in zip(out, program.exercises)):
        return program
    return replace(program, exercises=tuple(out))


def remedy_problems(program: Program) -> list[Diagnostic]:
    """Remedies that could not fit their rest (`coach check`): the change's words and its flex
    cue (words, the flex, "relax") must fit in the rest after the ratings and "rest N
    seconds", even when the feel comes at once. At the `remedy` key that asks."""
    from coach.core.timeline import compile_program  # the compiler imports this module's types
    out: list[Diagnostic] = []
    for i, ex in enumerate(program.exercises):
        r = ex.remedy
        if r is None or ex.sets < 2:
            continue
        words = phrase_table(program.language, program.words, ex.words)
        change = apply_remedy(program, i, ex, r.low, 1, ex.sides[-1], words)
        if change is None:
            continue
        cues = [c.phrase for c in compile_program(program, [change]).cues
                if c.exercise_index == i and c.set == 1]
        lacking = [what for what, phrase, wanted in (
            ("words", "remedy", True), (f"flex cue of {r.flex_ms / 1000:g} s", "flex",
                                        bool(r.flex_ms))) if wanted and phrase not in cues]
        if lacking:
            out.append(Diagnostic(
                program.path, *ex.remedy_at,
                f"{ex.name}: a rest of {ex.rest_ms / 1000:g} s cannot hold the remedy's "
                f"{' and '.join(lacking)}" + (" after its ratings" if ex.rate else "")
                + "; lengthen rest or give the remedy a shorter flex (flex: 0 for none)"))
    return out
