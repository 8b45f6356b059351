"""Coach's shared vocabulary, each word written once (as Mopidy's ``types.py``): the kinds of
exercise, sides, rating questions and their range, the phases of a timeline, and the states of
a session and of each set in the log. Every other module, in every layer, imports them from here.
"""

from __future__ import annotations

from typing import Literal, TypeGuard, get_args

# --- a program ----------------------------------------------------------------------------------
Kind = Literal["tempo", "cadence", "hold", "poses"]
KINDS: tuple[Kind, ...] = get_args(Kind)
TempoPhase = Literal["eccentric", "bottom_pause", "concentric", "top_pause"]
TEMPO_PHASES: tuple[TempoPhase, ...] = get_args(TempoPhase)
Side = Literal["left", "right"]
SIDES: tuple[Side, ...] = get_args(Side)

# --- ratings ------------------------------------------------------------------------------------
# A rating the coach asks for after a set (issue "the coach listens back"): the lifter answers
# 1-5 ("feel": how well the target muscle was felt; "effort": how hard the set was).
Question = Literal["feel", "effort"]
QUESTIONS: tuple[Question, ...] = get_args(Question)
RATING_MIN, RATING_MAX = 1, 5
RATING_RANGE = (RATING_MIN, RATING_MAX)
RATINGS: tuple[int, ...] = tuple(range(RATING_MIN, RATING_MAX + 1))
# How a rating came, for its read-back: counted taps (the set named first: "Split squat, set 1
# of 2. left side. four") or an answer heard by the mic (the number first: "four. left side").
Echo = Literal["tap", "heard"]
# How a rating was given, as the history keeps it (schema 7): counted taps of a headset key or
# the GPIO button in an answer window, said into the mic (with the words heard), or sent by
# hand (`coach rate`, the phone page, MQTT; `coach rerate` after the session). A misheard
# "that was hard" is then a rating the log says it heard, not one the lifter is taken to have
# given.
RatedHow = Literal["taps", "voice", "sent"]
RATED_HOW: tuple[RatedHow, ...] = get_args(RatedHow)


def is_rating(value: object) -> TypeGuard[int]:
    """An int 1-5 (a bool is not a rating, though Python calls it an int)."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and RATING_MIN <= value <= RATING_MAX)


# --- a timeline ---------------------------------------------------------------------------------
CueKind = Literal["speech", "tick"]  # a tick is a soft click, no words
PhaseKind = Literal["announce", "lead_in", "eccentric", "bottom_pause", "concentric", "top_pause",
                    "hold", "rep", "pose", "rest", "switch", "answer"]
PHASE_KINDS: tuple[PhaseKind, ...] = get_args(PhaseKind)

# --- the daemon's session, and the log ----------------------------------------------------------
SessionState = Literal["idle", "preparing", "playing", "paused"]
SESSION_STATES: tuple[SessionState, ...] = get_args(SessionState)
# How a session ended in the controller: played out, or stopped. The log then stores it as
# "completed" only if every set was ("partial" when one was skipped or cut), or "stopped".
SessionEnd = Literal["completed", "stopped"]
SessionStatus = Literal["running", "completed", "partial", "stopped", "interrupted"]
SESSION_STATUSES: tuple[SessionStatus, ...] = get_args(SessionStatus)
# What became of a set (one side of a unilateral set): its whole work played, part of it (the
# reps, seconds or poses done are kept), or none of it.
SetOutcome = Literal["completed", "partial", "skipped"]
SET_OUTCOMES: tuple[SetOutcome, ...] = get_args(SetOutcome)
SetStatus = Literal["running", "completed", "partial", "skipped", "interrupted"]
SET_STATUSES: tuple[SetStatus, ...] = get_args(SetStatus)
# What a set's ``done`` and ``planned`` count: reps, seconds (a hold) or poses.
Measure = Literal["reps", "s", "poses"]
MEASURES: tuple[Measure, ...] = get_args(Measure)

# The recogniser of spoken answers (`listen: {engine: NAME}`): PocketSphinx's grammar (the
# default) or Moonshine tiny, open-vocabulary (coach/audio/listen/engines.py).
ListenEngine = Literal["pocketsphinx", "moonshine"]
LISTEN_ENGINES: tuple[ListenEngine, ...] = get_args(ListenEngine)
