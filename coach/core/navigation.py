"""Where skip, back, resume and extend go, and what they (and the spoken "repeat", "how long"
and "stop") say: pure functions of the timeline.

The daemon's session controller asks these; nothing here knows about players or clocks.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from coach.core.phrases import fill, phrase_table, say_number
from coach.core.timeline import Timeline, locate
from coach.core.types import RATINGS, SIDES, Echo, Side

BACK_GRACE_MS = 3000  # `back` within this much of a set's start goes to the previous set
EXTEND_MS = 30_000  # one `extend` adds this much to a rest
# A rest is extended by at most this much in all (20 extends): every per-request structure of
# the daemon is bounded, and nobody rests for more than ten extra minutes on purpose.
MAX_EXTEND_MS = 600_000
EXTEND_WHERE = "extend works during a rest or a side switch (not in a set)"
RESUME_GAP_MS = 300  # between "resuming. Lat pulldown, set 2 of 3" and the 3-2-1
ECHO_GAP_MS = 200  # between the parts of a rating's echo ("Split squat, set 1 of 2. four")


def skip_target(timeline: Timeline, pos_ms: int) -> int:
    """From work to the set's rest; from a rest (or a set without one) to the next set. In a
    unilateral set, from the left side's work to its end (its question, or the switch), and
    from the switch to its next landmark: "switch sides. right side", the right side's
    count-in, its work. Until session 14 a skip anywhere before the right side's work went to
    that work's end: the right side was skipped with the rest of the left's, or with the
    switch a lifter only meant to cut short."""
    idx, _ = locate(timeline, pos_ms)
    if idx is None:
        return timeline.sets[0].start_ms if timeline.sets else pos_ms
    span = timeline.sets[idx]
    right = _right_side(timeline, span.start_ms, span.end_ms)
    if right is not None and pos_ms < right[-1]:
        return min(t for t in right if t > pos_ms)
    if pos_ms < span.work_end_ms and span.end_ms > span.work_end_ms:
        return span.work_end_ms
    return span.end_ms


def _right_side(timeline: Timeline, start_ms: int, end_ms: int) -> list[int] | None:
    """A unilateral set's landmarks before its right side's work, in order: the left's work
    end (the switch's start), "switch sides. right side", the count-in's first word, the
    right's work start; None for a set of one side."""
    phases = [p for p in timeline.phases if start_ms <= p.t_ms < end_ms]
    switch = next((p.t_ms for p in phases if p.phase == "switch"), None)
    work = next((p.t_ms for p in phases if p.side == "right" and _STRETCH[p.phase] in
                 ("work", "hold")), None)
    if switch is None or work is None:
        return None
    said = [c for c in timeline.cues if switch <= c.t_ms < work and c.side == "right"]
    marks = {switch, work}
    marks.update(c.t_ms for c in said if c.phrase == "switch_sides")
    count_in = [c.t_ms for c in said if c.phrase == "numbers"]
    if count_in:
        marks.add(count_in[0])
    return sorted(marks)


def back_target(timeline: Timeline, pos_ms: int) -> int:
    """To the start of this set; to the previous set's start within BACK_GRACE_MS of it. From a
    unilateral set's right side at work (past BACK_GRACE_MS of it), to that side's work start,
    where the session says ``side_again_words`` first (back_side); it went to the set's start,
    the left side again too. (Not to the side's count-in: that lies in the switch, which the
    log counts to the left side, and a back there opened a left side's row; tried.)"""
    idx, _ = locate(timeline, pos_ms)
    if idx is None:
        return 0
    span = timeline.sets[idx]
    right = _right_side(timeline, span.start_ms, span.end_ms)
    if right is not None and right[-1] + BACK_GRACE_MS <= pos_ms < span.work_end_ms:
        return right[-1]
    if pos_ms - span.start_ms < BACK_GRACE_MS and idx > 0:
        return timeline.sets[idx - 1].start_ms
    return span.start_ms


def back_side(timeline: Timeline, pos_ms: int) -> Side | None:
    """The side whose work a back at ``pos_ms`` starts again (back_target), or None."""
    idx, _ = locate(timeline, pos_ms)
    if idx is None:
        return None
    span = timeline.sets[idx]
    right = _right_side(timeline, span.start_ms, span.end_ms)
    if right is None or back_target(timeline, pos_ms) != right[-1]:
        return None
    work = next(p for p in timeline.phases if p.t_ms == right[-1])
    return work.side


def side_again_words(timeline: Timeline, side: Side,
                     overrides: Mapping[str, str] | None = None) -> Spoken:
    """"right side", then 3, 2, 1 a second apart: said before a side's work plays again after a
    back (its own count-in lies in the switch, before where the back lands). Every part is a
    clip made with the session (the side's word for a read-back, the numbers for a resume)."""
    lang = timeline.language
    words = phrase_table(lang, overrides or {})
    parts: list[tuple[str, Anchor, int]] = [(words[side], "end", 0),
                                            (say_number(3, lang), "end", RESUME_GAP_MS)]
    parts += [(say_number(n, lang), "onset", 1000) for n in (2, 1)]
    return Spoken(tuple(parts))


def cue_start_at_or_before(timeline: Timeline, t_ms: int) -> int:
    """The start of the cue playing (or last played) at ``t_ms``: where a cut-off session goes
    on, so that no word is lost."""
    starts = [c.t_ms for c in timeline.cues]
    i = bisect_right(starts, t_ms) - 1
    return starts[i] if i >= 0 else 0


Anchor = Literal["end", "onset"]


@dataclass(frozen=True)
class Spoken:
    """Words said outside the timeline, in order: each part is (text, anchor, ms): ``ms`` after
    the previous part's clip ends ("end"), or after its onset ("onset": a count's beat)."""

    parts: tuple[tuple[str, Anchor, int], ...]

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(p[0] for p in self.parts)

    def layout(self, clip_ms: Mapping[str, int]) -> list[tuple[int, str]]:
        """(onset ms, text) of each part, given each clip's real length."""
        out: list[tuple[int, str]] = []
        onset = end = 0
        for i, (text, anchor, ms) in enumerate(self.parts):
            if i:
                onset = (end if anchor == "end" else onset) + ms
                if anchor == "onset":
                    onset = max(onset, end)  # a long word is never talked over
            out.append((onset, text))
            end = onset + clip_ms.get(text, 0)
        return out


def _set_header(timeline: Timeline, set_index: int, words: Mapping[str, str]) -> str:
    """"Lat pulldown, set 2 of 3": said on a resume and in a rating's echo (one clip)."""
    span = timeline.sets[set_index]
    return f"{span.exercise}, " + fill(words, "set_of", timeline.language, n=span.set,
                                       total=span.sets)


def resume_words(timeline: Timeline, pos_ms: int, overrides: Mapping[str, str] | None = None) -> Spoken:
    """"resuming", the exercise and set, then 3, 2, 1 a second apart: said before the paused
    frame plays again (after a pause or a lost audio output)."""
    lang = timeline.language
    words = phrase_table(lang, overrides or {})
    parts: list[tuple[str, Anchor, int]] = [(words["resuming"], "end", 0)]
    idx, _ = locate(timeline, pos_ms)
    if idx is not None:
        parts.append((_set_header(timeline, idx, words), "end", RESUME_GAP_MS))
    parts.append((say_number(3, lang), "end", RESUME_GAP_MS))
    parts += [(say_number(n, lang), "onset", 1000) for n in (2, 1)]
    return Spoken(tuple(parts))


def all_resume_texts(timeline: Timeline, overrides: Mapping[str, str] | None = None) -> list[str]:
    """Every text a resume of this timeline can say (prepared with the session's clips)."""
    out: dict[str, None] = {}
    for span in timeline.sets:
        for t in resume_words(timeline, span.start_ms, overrides).texts:
            out[t] = None
    return list(out)


def extend_words(timeline: Timeline, overrides: Mapping[str, str] | None = None) -> Spoken:
    """"30 more seconds", said when a rest is extended."""
    words = phrase_table(timeline.language, overrides or {})
    return Spoken(((fill(words, "extended", timeline.language, seconds=EXTEND_MS // 1000), "end", 0),))


def rating_words(timeline: Timeline, value: int, set_index: int | None = None,
                 side: Side | None = None, overrides: Mapping[str, str] | None = None,
                 saved: bool = True, echo: Echo = "tap") -> Spoken:
    """The coach repeating a rating it took, and what it went to: "Split squat, set 1 of 2.
    left side. four" for taps (``set_index`` None: the number alone), "four. left side" for an
    answer heard by the mic, and "not saved" when the history did not take it. Every part is a
    clip made with the session (extra_texts).

    A heard answer's number comes first and alone (its side after it, on unilateral work): the
    lifter has just said it, in the window after that set's question, and hearing it back is
    the check that it was understood. With the set named first, the number came 1.9-3.6 s after
    the read-back began (espeak-ng: "Row, set 1 of 8" lasts 1.73 s; "Split squat, set 1 of 2"
    2.17 s and "left side" 1.01 s more; BENCHMARKS.md, "The read-back in the audio")."""
    words = phrase_table(timeline.language, overrides or {})
    number = say_number(value, timeline.language)
    named = [words[side]] if side is not None else []
    if echo == "heard":
        texts = [number, *named]
    elif set_index is not None:
        texts = [_set_header(timeline, set_index, words), *named, number]
    else:
        texts = [number]
    if not saved:
        texts.append(words["not_saved"])
    return Spoken(tuple((t, "end", ECHO_GAP_MS if i else 0) for i, t in enumerate(texts)))


# --- "repeat", "how long", "stop" (asked aloud in a command window, or on the socket) ---------

# What "how long" counts down: the stretch of phases of one kind that is playing (a side's reps,
# one hold or pose, a rest with its answer phases and a side switch, a set's lead-in).
_STRETCH: Mapping[str, str] = {
    "eccentric": "work", "bottom_pause": "work", "concentric": "work", "top_pause": "work",
    "rep": "work", "hold": "hold", "pose": "hold", "rest": "rest", "answer": "rest",
    "switch": "rest", "announce": "lead", "lead_in": "lead"}


def time_left_ms(timeline: Timeline, pos_ms: int) -> int | None:
    """The time left in the set (a side's work), hold or rest playing at ``pos_ms``; None
    outside every phase."""
    _, phase = locate(timeline, pos_ms)
    if phase is None:
        return None
    end = _stretch_end(timeline, phase.t_ms)
    return end - pos_ms


def _stretch_end(timeline: Timeline, start_ms: int) -> int:
    phases = timeline.phases
    i = next(k for k, p in enumerate(phases) if p.t_ms == start_ms)
    kind, side = _STRETCH[phases[i].phase], phases[i].side
    end = phases[i].end_ms
    if kind == "hold":
        return end  # one hold (one pose) at a time
    for p in phases[i + 1:]:
        if p.t_ms != end or _STRETCH[p.phase] != kind or (kind == "work" and p.side != side):
            break
        end = p.end_ms
    return end


def left_seconds(ms: int) -> int:
    """The time left as said: to the second under 10 s, to 5 s under a minute, to 10 s above
    (each a clip made with the session: a few dozen, not one per second of the longest rest)."""
    s = max(1, round(ms / 1000))
    return s if s < 10 else 5 * round(s / 5) if s < 60 else 10 * round(s / 10)


def time_left_words(timeline: Timeline, left_ms: int,
                    overrides: Mapping[str, str] | None = None) -> Spoken:
    """"40 seconds left" ("noch vierzig Sekunden")."""
    words = phrase_table(timeline.language, overrides or {})
    return Spoken(((fill(words, "time_left", timeline.language, n=left_seconds(left_ms)), "end",
                    0),))


def time_left_texts(timeline: Timeline, overrides: Mapping[str, str] | None = None) -> list[str]:
    """Every "N seconds left" an answer can say: each step up to the longest stretch, a rest's
    extend included (past that, "how long" answers that its words were not made)."""
    longest = max((_stretch_end(timeline, p.t_ms) - p.t_ms for p in timeline.phases),
                  default=0) + EXTEND_MS
    steps = sorted({left_seconds(ms) for ms in range(0, longest + 5000, 1000)})
    return [time_left_words(timeline, n * 1000, overrides).texts[0] for n in steps]


# The counts and the tempo's words: said every second, never what "repeat" asks for.
_RHYTHM = frozenset(("numbers", "lower", "bottom_hold", "squeeze", "top_hold", "explode", "go",
                     "tick"))


def last_cue(timeline: Timeline, pos_ms: int) -> str | None:
    """"repeat": the text of the last cue at or before ``pos_ms`` that says something (an
    announcement, the rest, the next exercise, a question; not a count or a tempo word)."""
    said = [c for c in timeline.cues if c.t_ms <= pos_ms and c.kind == "speech"
            and c.phrase not in _RHYTHM]
    return said[-1].text if said else None


def stop_words(timeline: Timeline, overrides: Mapping[str, str] | None = None) -> Spoken:
    """"stop the session?": a spoken stop is asked back and needs a "yes"."""
    return Spoken(((phrase_table(timeline.language, overrides or {})["stop_ask"], "end", 0),))


def not_now_words(timeline: Timeline, overrides: Mapping[str, str] | None = None) -> Spoken:
    """"not now": a spoken command the session refused (an extend in a set, a repeat with
    nothing said yet) is answered, not met with silence."""
    return Spoken(((phrase_table(timeline.language, overrides or {})["not_now"], "end", 0),))


def say_again_words(timeline: Timeline, overrides: Mapping[str, str] | None = None) -> Spoken:
    """"say again?": a command window heard speech but no command in it (it listens once more)."""
    return Spoken(((phrase_table(timeline.language, overrides or {})["say_again"], "end", 0),))


def one_to_five_words(timeline: Timeline, overrides: Mapping[str, str] | None = None
                      ) -> Spoken:
    """"one to five?": a rating window heard a number off the scale ("zero", "six")."""
    return Spoken(((phrase_table(timeline.language, overrides or {})["one_to_five"], "end", 0),))


def extra_texts(timeline: Timeline, overrides: Mapping[str, str] | None = None,
                answers: bool = False) -> list[str]:
    """Everything the daemon may say outside the timeline: resumes, an extend, a rating's echo,
    and with ``answers`` (the daemon listens) the answers to "how long", "stop" and a refused
    spoken command (made with
    the session's clips, so saying them never waits for the voice)."""
    texts = all_resume_texts(timeline, overrides) + list(extend_words(timeline, overrides).texts)
    texts += echo_texts(timeline, overrides)
    if answers:  # 20-30 clips, 5-10 MB of a session's memory: only for a daemon that listens
        texts += [*stop_words(timeline, overrides).texts, *time_left_texts(timeline, overrides),
                  *not_now_words(timeline, overrides).texts,
                  *say_again_words(timeline, overrides).texts,
                  *one_to_five_words(timeline, overrides).texts]
    return list(dict.fromkeys(texts))


def echo_texts(timeline: Timeline, overrides: Mapping[str, str] | None = None) -> list[str]:
    """The words of every rating's read-back but the set's name: the numbers, the sides the
    timeline has, and "not saved" where it asks a rating (a heard answer's read-back is made of
    these alone: "four. left side")."""
    texts = [t for n in RATINGS for t in rating_words(timeline, n).texts]
    words = phrase_table(timeline.language, overrides or {})
    texts += [words[side] for side in SIDES if any(p.side == side for p in timeline.phases)]
    if any(p.phase == "answer" for p in timeline.phases):  # taps, and their echo, are possible
        texts.append(words["not_saved"])
    return texts


def can_extend(timeline: Timeline, pos_ms: int) -> bool:
    """Is ``pos_ms`` in a rest: a rest, its rating's answer phase, or a side switch (what "how
    long" counts as one rest). Only "rest" phases were: right after a rated set (its answer
    phase, 8 s of every rated rest) and between sides, where a lifter asks for more time,
    "extend" was refused with "extend works during a rest" (a play-through, session 14)."""
    _, phase = locate(timeline, pos_ms)
    return phase is not None and _STRETCH[phase.phase] == "rest"


def extended_rest(timeline: Timeline, pos_ms: int) -> int:
    """Which rest an extend at ``pos_ms`` lengthens: its set's index (-1 outside every set)."""
    idx, _ = locate(timeline, pos_ms)
    return -1 if idx is None else idx
