"""The timeline compiler: a Program in, a sorted list of timed cue and phase events out
(the rating prompts and their answer windows included; ``rating_problems`` refuses rests
too short to hold them).

Pure: no clock, no I/O, no audio. Times are integer milliseconds from session start, so
nothing drifts over a 2-hour program.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from math import ceil
from typing import TYPE_CHECKING

from coach.core.errors import CoachError, Diagnostic
from coach.core.phrases import fill, phrase_table, say_number
from coach.core.program import Exercise, Load, Program, check_session_length
from coach.core.timeline.model import Cue, Event, Phase, SetSpan, Timeline
from coach.core.types import TEMPO_PHASES, CueKind, PhaseKind, Question, Side

if TYPE_CHECKING:
    from coach.core.remedy import Change

ANSWER_WINDOW_MS = 8000  # how long a rating is awaited after its prompt's (estimated) end

_TEMPO_WORDS = ("lower", "bottom_hold", "squeeze", "top_hold")
_WORD_RE = re.compile(r"[\w']+")
_PAUSE_RE = re.compile(r"[.,;:!?]")
END_WORD_GAP_MS = 1000  # room for "release"/"relax" before the rest's first cue
COUNTDOWN = (3, 2, 1)


def estimate_speech_ms(text: str, rate_wpm: int) -> int:
    """How long ``text`` takes to say at ``rate_wpm``: words at the rate plus a pause per comma
    or full stop. A pure estimate (the real clip length is checked by `coach check`)."""
    words = len(_WORD_RE.findall(text))
    pauses = len(_PAUSE_RE.findall(text.rstrip(".!?")))
    return ceil(words * 60_000 / rate_wpm + pauses * 250)


def _whole_seconds_up(ms: int) -> int:
    return -(-ms // 1000) * 1000


def _seconds(ms: int) -> int | float:
    """Whole seconds as an int (spoken "90"), else a float (spoken "1.5")."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _tempo_spoken(code: str, language: str = "en") -> str:
    # Digit by digit in the pack's language ("4 0 4 0", "vier null vier null"); X as written.
    return " ".join(say_number(int(c), language) if c.isdigit() else c for c in code)


def announce_text(ex: Exercise, set_no: int, side: str | None, words: dict[str, str],
                  language: str = "en") -> str:
    """The set-start announcement: exercise and its load, set X of Y, side, what to do, the
    focus cue. The first set says what progression raised today: "9 reps today, up from 8",
    "Goblet squat, 26.5 kilos today, up from 24". A bodyweight load is not said."""
    lang = language
    ups = dict(ex.up_from) if set_no == 1 else {}

    def up(target: str, text: str) -> str:
        if target not in ups:
            return text
        old: int | float = ups[target]
        if target == "hold":
            old = _seconds(ups[target])
        elif target == "load":
            old = Load(ups[target], "kg").number
        return fill(words, "progressed", lang, value=text, old=old)

    parts = [ex.name]
    if ex.load is not None and ex.load.unit is not None:
        unit = "kilos" if ex.load.unit == "kg" else "pounds"
        parts[0] += ", " + up("load", fill(words, unit, lang, n=ex.load.number))
    if ex.sets > 1:
        parts.append(fill(words, "set_of", lang, n=set_no, total=ex.sets))
        if "sets" in ups:
            parts.append(up("sets", fill(words, "sets", lang, n=ex.sets)))
    if side is not None and set_no == 1 and ex.lagging is not None:
        parts.append(fill(words, "lagging_first", lang, side=words[ex.lagging[0]],
                          n=ex.lagging[1]))
    elif side is not None:
        parts.append(words[side])
    if ex.kind == "tempo":
        assert ex.tempo is not None and ex.reps is not None
        parts.append(up("reps", fill(words, "reps", lang, n=ex.reps)) + ", "
                     + fill(words, "tempo", lang, code=_tempo_spoken(ex.tempo.code, lang)))
    elif ex.kind == "cadence":
        assert ex.cadence_ms is not None and ex.reps is not None
        parts.append(up("reps", fill(words, "reps", lang, n=ex.reps)) + ", "
                     + fill(words, "cadence", lang, seconds=_seconds(ex.cadence_ms)))
    elif ex.kind == "hold":
        assert ex.hold_ms is not None
        parts.append(up("hold", fill(words, "hold_for", lang, seconds=_seconds(ex.hold_ms))))
    else:
        parts.append(fill(words, "poses", lang, n=len(ex.poses)))
    if ex.eyes_closed:
        parts.append(words["eyes_closed"])
    if ex.focus:
        parts.append(fill(words, "focus", lang, text=ex.focus.strip().rstrip(".")))
    return ". ".join(p[:1].upper() + p[1:] for p in parts) + "."


class _Builder:
    """Accumulates events for one exercise/set/side context."""

    def __init__(self, language: str) -> None:
        self.events: list[tuple[int, int, int, Event]] = []
        self.language = language
        self.ex = ""
        self.ei = 0
        self.set = 1
        self.side: Side | None = None

    def _add(self, ev: Event) -> None:
        # Phases sort before cues at the same time; otherwise insertion order is kept.
        self.events.append((ev.t_ms, 1 if isinstance(ev, Cue) else 0, len(self.events), ev))

    def cue(self, t: int, text: str, phrase: str, kind: CueKind = "speech",
            question: Question | None = None) -> None:
        self._add(Cue(t, text, phrase, self.ex, self.ei, self.set, self.side, kind, question))

    def phase(self, t: int, duration: int, phase: PhaseKind, rep: int | None = None,
              pose: str | None = None, question: Question | None = None) -> None:
        if duration > 0:
            self._add(Phase(t, duration, phase, self.ex, self.ei, self.set, rep, self.side, pose,
                            question))

    def ask(self, start: int, gap: int, prompts: list[Prompt], side: Side | None,
            filler: PhaseKind | None) -> int:
        """The rating prompts from ``start + gap``, each followed by its answer window, for
        ``side``; the time before and between the windows is a ``filler`` phase (the rest or
        the switch they sit in; None: no phase). Returns the end of the last window."""
        saved, t, pos = self.side, start + gap, start
        for q, text, speech_ms in prompts:
            if filler is not None:
                self.phase(pos, t + speech_ms - pos, filler)
            self.side = side
            self.cue(t, text, f"rate_{q}", question=q)
            self.phase(t + speech_ms, ANSWER_WINDOW_MS, "answer", question=q)
            self.side = saved
            t = pos = t + speech_ms + ANSWER_WINDOW_MS
        return t

    def countdown(self, end: int, room: int, start: int) -> None:
        """3, 2, 1 on the last three whole seconds before ``end``, never earlier than
        ``start + room`` (room: time kept clear for the words said at ``start``)."""
        for k in COUNTDOWN:
            t = end - k * 1000
            if t >= start + room:
                self.cue(t, say_number(k, self.language), "numbers")


def _work_tempo(b: _Builder, ex: Exercise, t: int, words: dict[str, str]) -> tuple[int, bool]:
    assert ex.tempo is not None and ex.reps is not None
    phases = ex.tempo.phases_ms
    first = next(i for i, d in enumerate(phases) if d > 0)
    for rep in range(1, ex.reps + 1):
        for i, d in enumerate(phases):
            if d == 0:
                continue
            b.phase(t, d, TEMPO_PHASES[i], rep=rep)
            phrase = "explode" if ex.tempo.explosive[i] else _TEMPO_WORDS[i]
            text = words[phrase]
            if i == first and ex.reps > 1 and rep > 1:
                prefix = words["last_rep"] if rep == ex.reps else say_number(rep, b.language)
                # No comma: espeak pauses ~0.25 s at one, and the clip must end inside 1 s.
                text = f"{prefix} {text}"
            b.cue(t, text, phrase)
            seconds = d // 1000
            if d >= 2000:
                for k in range(1, seconds):
                    b.cue(t + k * 1000, say_number(seconds - k, b.language), "numbers")
            t += d
    return t, False


def _counted(rep: int, reps: int) -> bool:
    return rep <= 10 or rep % 5 == 0 or rep > reps - 5


def _work_cadence(b: _Builder, ex: Exercise, t: int, words: dict[str, str]) -> tuple[int, bool]:
    assert ex.cadence_ms is not None and ex.reps is not None
    for rep in range(1, ex.reps + 1):
        b.phase(t, ex.cadence_ms, "rep", rep=rep)
        if ex.reps >= 15 and rep == ex.reps - 4:
            b.cue(t, fill(words, "last_reps", b.language, n=5), "last_reps")
        elif _counted(rep, ex.reps):
            b.cue(t, say_number(rep, b.language), "numbers")
        else:
            b.cue(t, "tick", "tick", kind="tick")
        t += ex.cadence_ms
    return t, False


def _work_hold(b: _Builder, ex: Exercise, t: int, words: dict[str, str]) -> tuple[int, bool]:
    assert ex.hold_ms is not None
    h = ex.hold_ms
    b.phase(t, h, "hold")
    b.cue(t, words["hold"], "hold")
    if h >= 30_000:
        b.cue(t + (h // 2000) * 1000, words["halfway"], "halfway")
    if h >= 15_000:
        b.cue(t + h - 10_000, fill(words, "seconds_left", b.language, n=10), "seconds_left")
    b.countdown(t + h, 1000, t)
    b.cue(t + h, words["release"], "release")
    return t + h, True


def _work_poses(b: _Builder, ex: Exercise, t: int, words: dict[str, str]) -> tuple[int, bool]:
    for j, pose in enumerate(ex.poses):
        b.phase(t, pose.hold_ms, "pose", pose=pose.name)
        text = pose.name
        if ex.eyes_closed and j == 0:
            text = f"{pose.name}. {words['eyes_closed']}"
        b.cue(t, text, "pose")
        b.countdown(t + pose.hold_ms, 2000, t)
        t += pose.hold_ms
    b.cue(t, words["relax"], "relax")
    return t, True


def _closing_hold(b: _Builder, hold_ms: int, t: int, words: dict[str, str]) -> tuple[int, bool]:
    """A remedy's isometric hold at the peak contraction, closing the set."""
    b.phase(t, hold_ms, "hold")
    b.cue(t, words["hold_squeeze"], "hold_squeeze")
    b.countdown(t + hold_ms, 2000, t)
    b.cue(t + hold_ms, words["release"], "release")
    return t + hold_ms, True


def _said_in_rest(b: _Builder, change: Change, t: int, end: int, rate: int,
                  words: dict[str, str]) -> int:
    """A remedy's words in the rest (from ``t``, no earlier than the change's ``at_ms``), then
    its flex cue (words, 3-2-1, "relax") when it fits before ``end``. Returns where the rest's
    later cues may fall."""
    at = max(t, change.at_ms)
    said = _whole_seconds_up(estimate_speech_ms(change.words, rate))
    if at + said > end:
        return t  # no room left in this rest: the next set's announcement says the change
    b.cue(at, change.words, "remedy")
    at += said
    if change.flex_ms:
        text = fill(words, "flex", b.language, seconds=_seconds(change.flex_ms))
        flex_at = at + _whole_seconds_up(estimate_speech_ms(text, rate))
        if flex_at + change.flex_ms + 1000 <= end:
            b.cue(at, text, "flex")
            b.countdown(flex_at + change.flex_ms, 1000, flex_at)
            b.cue(flex_at + change.flex_ms, words["relax"], "relax")
            at = flex_at + change.flex_ms + 1000
    return at


_WORK = {"tempo": _work_tempo, "cadence": _work_cadence, "hold": _work_hold, "poses": _work_poses}
ENDS_WITH_WORD = ("hold", "poses")  # kinds whose work ends with a word ("release", "relax")

Prompt = tuple[Question, str, int]  # question, its words, their estimated length (whole s)


def rating_prompts(ex: Exercise, words: dict[str, str], rate_wpm: int) -> list[Prompt]:
    """The prompts asked after each set (side) of ``ex``, in order, with their estimated
    length rounded up to whole seconds; the answer window opens at that end."""
    out: list[Prompt] = []
    for q in ex.rate:
        text = words[f"rate_{q}"]
        out.append((q, text, _whole_seconds_up(estimate_speech_ms(text, rate_wpm))))
    return out


def rating_room_ms(prompts: list[Prompt]) -> int:
    """The prompts and their answer windows, back to back."""
    return sum(speech + ANSWER_WINDOW_MS for _, _, speech in prompts)


def _secs(ms: int) -> str:
    return f"{ms / 1000:g} s"


def rating_problems(program: Program) -> list[Diagnostic]:
    """Rests (and, for the first side of a unilateral set, switches) too short to hold an
    exercise's rating prompts and answer windows plus 1 s (after an end word's 1 s gap; a
    switch also needs room for its own words after them). At the `rate` key that asks."""
    out: list[Diagnostic] = []
    rate = program.voice.rate
    last = len(program.exercises) - 1
    for ei, ex in enumerate(program.exercises):
        if not ex.rate:
            continue
        words = phrase_table(program.language, program.words, ex.words)
        room = rating_room_ms(rating_prompts(ex, words, rate))
        gap = END_WORD_GAP_MS if ex.kind in ENDS_WITH_WORD else 0
        asked = " and ".join(ex.rate)
        checks = []
        # Some set of it is followed by a rest (or will be, once progression adds a set).
        if ei < last or ex.sets > 1 or any(r.target == "sets" for r in ex.progress):
            checks.append(("rest", ex.rest_ms, gap + room + 1000))
        if len(ex.sides) > 1:
            side_text = f"{words['switch_sides']}. {words[ex.sides[1] or 'right']}"
            said = max(1000, _whole_seconds_up(estimate_speech_ms(side_text, rate)))
            checks.append(("switch", ex.switch_ms, gap + room + said))
        for what, have, need in checks:
            if have < need:
                out.append(Diagnostic(
                    program.path, *ex.rate_at,
                    f"{ex.name}: a {what} of {_secs(have)} is too short to ask {asked} (needs "
                    f"{_secs(need)}); lengthen {what} or set rate: false"))
    return out


def compile_program(program: Program, changes: Sequence[Change] = ()) -> Timeline:
    """Turn a validated program into its timeline: every phase and every cue, in order.
    ``changes`` (remedies, coach.core.remedy) replace an exercise's values from a set on and
    say so in the rest before it; the events before that rest's words are the same.

    A session over MAX_SESSION_MS is a CoachError: from its lower bound before any event is
    built (parse_program refused it already; this guards a Program built in code), and from
    the exact duration after (a program just under the bound, with estimated announcements)."""
    check_session_length(program)
    problems = rating_problems(program)
    if problems:
        raise CoachError(problems)
    b = _Builder(program.language)
    rate = program.voice.rate
    spans: list[tuple[str, int, int, int, int, int]] = []
    t = 0
    ended_with_word = False
    n_ex = len(program.exercises)
    for ei, own in enumerate(program.exercises):
        words = phrase_table(program.language, program.words, own.words)
        prompts = rating_prompts(own, words, rate)
        b.ex, b.ei = own.name, ei
        for set_no in range(1, own.sets + 1):
            ex = own
            for c in changes:  # the latest change from this set or before wins
                if c.exercise_index == ei and c.from_set <= set_no:
                    ex = c.exercise
            said_next = [c for c in changes if c.exercise_index == ei and
                         c.from_set == set_no + 1][-1:]
            b.set = set_no
            b.side = ex.sides[0]
            set_start = t
            text = announce_text(ex, set_no, b.side, words, program.language)
            a = ex.announce_ms
            if a is None:
                a = _whole_seconds_up(estimate_speech_ms(text, rate) + 500)
            b.phase(t, a, "announce")
            b.cue(t, text, "announce")
            t += a
            b.phase(t, ex.lead_in_ms, "lead_in")
            b.countdown(t + ex.lead_in_ms, 0, t)
            t += ex.lead_in_ms
            for side_i, side in enumerate(ex.sides):
                if side_i > 0:
                    b.side = side
                    switch_text = f"{words['switch_sides']}. {words[side]}" if side else words["switch_sides"]
                    # After an end word ("release"), the switch words wait for it to finish.
                    at = t + (END_WORD_GAP_MS if ended_with_word and ex.switch_ms > END_WORD_GAP_MS else 0)
                    said = 1000  # room kept for the switch words before the count
                    if prompts:  # the side just done is rated first; then "switch sides"
                        at = b.ask(t, at - t, prompts, ex.sides[side_i - 1], "switch")
                        b.phase(at, t + ex.switch_ms - at, "switch")
                        said = max(said, _whole_seconds_up(estimate_speech_ms(switch_text, rate)))
                    else:
                        b.phase(t, ex.switch_ms, "switch")
                    b.cue(at, switch_text, "switch_sides")
                    b.countdown(t + ex.switch_ms, at - t + said, t)
                    t += ex.switch_ms
                t, ended_with_word = _WORK[ex.kind](b, ex, t, words)
                if ex.closing_hold_ms:
                    t, ended_with_word = _closing_hold(b, ex.closing_hold_ms, t, words)
            work_end = t
            b.side = None
            last = ei == n_ex - 1 and set_no == ex.sets
            gap = END_WORD_GAP_MS if ended_with_word else 0
            rated_side = ex.sides[-1]
            if not last and ex.rest_ms > 0:
                r = ex.rest_ms
                clear = t  # the rest's later cues fall at or after this
                if prompts:
                    # The ratings first; then "rest N seconds" with the whole seconds left.
                    asked = b.ask(t, gap, prompts, rated_side, "rest")
                    b.phase(asked, t + r - asked, "rest")
                    left = (t + r - asked) // 1000
                    if left > 0:
                        rest_text = fill(words, "rest", program.language, seconds=left)
                        b.cue(asked, rest_text, "rest")
                        clear = asked + _whole_seconds_up(estimate_speech_ms(rest_text, rate))
                    else:
                        clear = asked
                else:
                    b.phase(t, r, "rest")
                    if r > gap:
                        b.cue(t + gap, fill(words, "rest", program.language,
                                            seconds=_seconds(r)), "rest")
                if said_next:
                    if not prompts and r > gap:  # after "rest N seconds"
                        clear = t + gap + _whole_seconds_up(estimate_speech_ms(fill(
                            words, "rest", program.language, seconds=_seconds(r)), rate))
                    clear = _said_in_rest(b, said_next[0], clear, t + r, rate, words)
                nxt = program.exercises[ei + 1] if set_no == ex.sets else None
                if nxt is not None and r >= 30_000 and t + r - 20_000 >= clear:
                    b.cue(t + r - 20_000, fill(words, "next", program.language,
                                               exercise=nxt.name), "next")
                if r >= 20_000 and t + r - 10_000 >= clear:
                    b.cue(t + r - 10_000, fill(words, "seconds_left", program.language, n=10),
                          "seconds_left")
                t += r
            elif last and prompts:
                # No rest after the session's last set: its ratings come before "session
                # complete", which waits for them.
                t = b.ask(t, gap, prompts, rated_side, None)
                ended_with_word = False
            spans.append((ex.name, ei, set_no, ex.sets, set_start, work_end))
    words = phrase_table(program.language, program.words)
    b.ex, b.side = program.exercises[-1].name, None
    done_at = t + (END_WORD_GAP_MS if ended_with_word else 0)
    b.cue(done_at, words["done"], "done")
    duration = _whole_seconds_up(done_at + estimate_speech_ms(words["done"], rate) + 500)
    check_session_length(program, duration)
    b.events.sort(key=lambda e: e[:3])
    starts = [s[4] for s in spans[1:]] + [duration]
    sets = tuple(SetSpan(name, ei, n, total, start, wend, end)
                 for (name, ei, n, total, start, wend), end in zip(spans, starts))
    return Timeline(program.name, duration, tuple(e[3] for e in b.events), program.voice,
                    program.language, sets)
