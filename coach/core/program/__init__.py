"""The program format: YAML text in, validated dataclasses out (pure: no clock, no audio).

Only ``load_program`` touches the file system; ``parse_program`` takes the text. The modules:
``model`` (the dataclasses), ``fields`` (the key tables the loader and ``core/schema.py`` read),
``scalars`` (tempo, schedule, condition and template strings), ``values`` (a value by its
table entry; the `voice:` mapping), ``progress`` (`progress:` rules), ``remedy``
(`remedy:`), ``length`` (the session length limit), ``walker`` (text -> Program) and
``loader`` (file -> text -> Program).
"""

from coach.core.program.fields import (
    DEFAULT_FIELDS,
    EXERCISE_FIELDS,
    KINDS,
    POSE_FIELDS,
    PROGRESS_FIELDS,
    REMEDY_FIELDS,
    SETS_SPEC,
    THEN_FIELDS,
    TOP_FIELDS,
    VOICE_FIELDS,
    VOICE_KEYS,
    Spec,
)
from coach.core.program.length import MAX_SESSION_MS, check_session_length, session_lower_bound_ms
from coach.core.program.loader import MAX_PROGRAM_BYTES, load_program, read_program_text
from coach.core.program.model import (
    LOAD_UNITS,
    PROGRESS_TARGETS,
    Condition,
    Exercise,
    Load,
    LoadUnit,
    Pose,
    Program,
    ProgressRule,
    ProgressTarget,
    Raised,
    Remedy,
    Schedule,
    Tempo,
    Then,
    VoiceSettings,
    format_amount,
)
from coach.core.program.scalars import (
    DAY_ABBREVIATIONS,
    DAY_GROUPS,
    DAY_NAMES,
    FULL_DAY_NAMES,
    parse_condition,
    parse_load,
    parse_load_step,
    parse_schedule,
    parse_tempo,
)
from coach.core.program.values import is_model_path, read_voice
from coach.core.program.walker import parse_program

__all__ = [
    "DAY_ABBREVIATIONS",
    "DAY_GROUPS",
    "DAY_NAMES",
    "DEFAULT_FIELDS",
    "EXERCISE_FIELDS",
    "FULL_DAY_NAMES",
    "KINDS",
    "LOAD_UNITS",
    "MAX_PROGRAM_BYTES",
    "MAX_SESSION_MS",
    "POSE_FIELDS",
    "PROGRESS_FIELDS",
    "PROGRESS_TARGETS",
    "REMEDY_FIELDS",
    "SETS_SPEC",
    "THEN_FIELDS",
    "TOP_FIELDS",
    "VOICE_FIELDS",
    "VOICE_KEYS",
    "Condition",
    "Exercise",
    "Load",
    "LoadUnit",
    "Pose",
    "Program",
    "ProgressRule",
    "ProgressTarget",
    "Raised",
    "Remedy",
    "Schedule",
    "Spec",
    "Tempo",
    "Then",
    "VoiceSettings",
    "check_session_length",
    "format_amount",
    "is_model_path",
    "load_program",
    "parse_condition",
    "parse_load",
    "parse_load_step",
    "parse_program",
    "parse_schedule",
    "parse_tempo",
    "read_program_text",
    "read_voice",
    "session_lower_bound_ms",
]
