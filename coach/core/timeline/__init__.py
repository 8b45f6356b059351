"""The timeline: a Program compiled into a sorted list of timed cue and phase events.

model: the events (Cue, Phase), the SetSpans and the Timeline that holds them, ``locate``, ``answer_open``;
compiler: ``compile_program`` (and the rating prompts it places); overlaps: ``find_overlaps``,
cue clips that run into the next cue. Pure: no clock, no I/O, no audio."""

from coach.core.timeline.compiler import (
    ANSWER_WINDOW_MS,
    announce_text,
    compile_program,
    estimate_speech_ms,
    rating_problems,
    rating_prompts,
    rating_room_ms,
)
from coach.core.timeline.model import (
    TICK_KEY,
    Cue,
    Event,
    Phase,
    SetSpan,
    Timeline,
    answer_open,
    clip_key,
    locate,
    question_of,
)
from coach.core.timeline.overlaps import Overlap, find_overlaps

__all__ = [
    "ANSWER_WINDOW_MS", "TICK_KEY", "Cue", "Event", "Overlap", "Phase", "SetSpan", "Timeline",
    "announce_text", "answer_open", "clip_key", "compile_program", "estimate_speech_ms",
    "find_overlaps", "locate", "question_of", "rating_problems", "rating_prompts", "rating_room_ms",
]
