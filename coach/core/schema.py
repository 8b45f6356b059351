"""The program format as a JSON Schema (draft 2020-12), generated from the loader's own tables.

Pure. Every key, type, range and choice comes from ``coach.core.program``'s field tables (the
ones the walker validates with), phrase ids and templates from ``coach.core.phrases``,
and the duration pattern from ``coach.core.yamlnodes``. The schema is a sound approximation of
the loader: what the loader accepts, the schema accepts (an editor must never flag a good
program); of what the loader rejects, the schema rejects what JSON Schema can say. It cannot
say: ranges of durations written as text ("16m"), ranges of numbers written as quoted text
(a load's 1000 kg), a tempo or schedule that is well-formed but impossible, what one value says
of another (a `then:` step in the exercise's load unit, its floor within max), and YAML-level
mistakes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from coach.core.phrases import PACKS, PHRASE_IDS, PLACEHOLDERS
from coach.core.program import (
    DAY_ABBREVIATIONS,
    DAY_GROUPS,
    DAY_NAMES,
    DEFAULT_FIELDS,
    EXERCISE_FIELDS,
    FULL_DAY_NAMES,
    KINDS,
    POSE_FIELDS,
    PROGRESS_FIELDS,
    PROGRESS_TARGETS,
    REMEDY_FIELDS,
    SETS_SPEC,
    THEN_FIELDS,
    TOP_FIELDS,
    VOICE_FIELDS,
    Spec,
)
from coach.core.program.scalars import BODYWEIGHT, UNIT_WORDS
from coach.core.types import QUESTIONS, RATING_RANGE
from coach.core.yamlnodes import BOOL_WORDS, DURATION_PATTERN, INT_PATTERN, NUMBER_PATTERN

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _ci(word: str) -> str:
    """A case-insensitive regex for a literal word (JSON Schema patterns have no flags)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _alternatives(words) -> str:
    return "(?:" + "|".join(_ci(w) for w in sorted(words, key=lambda w: (-len(w), w))) + ")"


_TEXT = {"type": ["string", "number", "boolean"], "pattern": r"\S"}  # a scalar; never empty


def _scalar(spec: Spec) -> dict[str, Any]:
    """The schema of a scalar spec (text, int, number, bool, duration, choice)."""
    t = spec.type
    if t == "text":
        out: dict[str, Any] = dict(_TEXT)
    elif t == "int":
        out = {"anyOf": [{"type": "integer", "minimum": spec.lo, "maximum": spec.hi},
                         {"type": "string", "pattern": INT_PATTERN}]}
    elif t == "number":
        out = {"anyOf": [{"type": "number", "minimum": spec.lo, "maximum": spec.hi},
                         {"type": "string", "pattern": NUMBER_PATTERN}]}
    elif t == "bool":
        out = {"anyOf": [{"type": "boolean"},
                         {"type": "string",
                          "pattern": r"^\s*" + _alternatives(BOOL_WORDS) + r"\s*$"}]}
    elif t == "duration":
        assert spec.lo is not None and spec.hi is not None
        out = {"anyOf": [{"type": "number", "minimum": spec.lo / 1000, "maximum": spec.hi / 1000},
                         {"type": "string", "pattern": DURATION_PATTERN}]}
    elif t in ("choice", "sides"):
        out = {"enum": list(spec.choices)}
    else:
        raise AssertionError(f"{t} is not a scalar spec")
    if spec.doc:
        out["description"] = spec.doc
    if t == "duration":
        out["description"] = (out.get("description", "") + f" ({_span(spec)}; 45s, 2m, 1m30s, "
                              "1.5s, 1:30 or a number of seconds)").strip()
    return out


def _span(spec: Spec) -> str:
    from coach.core.yamlnodes import format_duration
    return f"{format_duration(int(spec.lo or 0))} to {format_duration(int(spec.hi or 0))}"


def _tempo_pattern() -> str:
    sym = "[0-9Xx]"
    body = "-*" + "-*".join([sym] * 4) + "-*"
    zero = "-*" + "-*".join(["0"] * 4) + "-*"
    return rf"^\s*(?!{zero}\s*$){body}\s*$"


def _schedule_pattern() -> str:
    days = list(DAY_NAMES) + list(FULL_DAY_NAMES) + list(DAY_ABBREVIATIONS)
    day = _alternatives(days)
    token = rf"(?:{_alternatives(DAY_GROUPS)}|{day}(?:\s*-\s*{day})?)"
    time = r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9]"
    return rf"^\s*{token}(?:\s*,\s*{token})*\s+{time}\s*$"


def _template_pattern(phrase_id: str) -> str:
    """A template keeping exactly its fields: doubled braces, its {fields}, other text."""
    fields = PLACEHOLDERS.get(phrase_id, ())
    atom = r"[^{}]|\{\{|\}\}"
    if fields:
        atom += r"|\{(?:" + "|".join(fields) + r")\}"
    need = "".join(rf"(?=[\s\S]*\{{{f}\}})" for f in fields)
    return rf"^{need}(?=[\s\S]*\S)(?:{atom})*$"


def _words() -> dict[str, Any]:
    ids = [p for p in PHRASE_IDS if p != "numbers"]
    en = PACKS["en"]
    props = {}
    for pid in ids:
        fields = PLACEHOLDERS.get(pid, ())
        keeps = (" Keeps " + ", ".join("{" + f + "}" for f in fields) + ".") if fields else ""
        props[pid] = {"type": "string", "pattern": _template_pattern(pid),
                      "description": f'English: "{en[pid]}".{keeps}'}
    return {"type": "object", "properties": props, "additionalProperties": False,
            "description": "phrase overrides by phrase id"}


def _object(fields: Mapping[str, Spec], defs: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    props = {}
    for key, spec in fields.items():
        if spec.type in defs:
            props[key] = {"$ref": f"#/$defs/{defs[spec.type]}"}
            if spec.doc:
                props[key]["description"] = spec.doc
        else:
            props[key] = _scalar(spec)
    return {"type": "object", "properties": props, "additionalProperties": False, **extra}


def _exercise(defs: Mapping[str, str]) -> dict[str, Any]:
    kinds = []
    for kind, (required, forbidden) in KINDS.items():
        sub: dict[str, Any] = {"title": kind, "required": list(required)}
        sub["not"] = {"anyOf": [{"required": [k]} for k in forbidden]}
        kinds.append(sub)
    # A pose without its own hold takes the exercise's: with no exercise hold, every pose
    # must be {name, hold}.
    pose_hold = {"if": {"required": ["poses"], "not": {"required": ["hold"]}},
                 "then": {"properties": {"poses": {"items": {"type": "object",
                                                            "required": ["name", "hold"]}}}}}
    return _object(EXERCISE_FIELDS, defs, required=["name"], oneOf=kinds, allOf=[pose_hold],
                   description="one of: tempo + reps, cadence + reps, hold, or poses")


def _rate() -> dict[str, Any]:
    false = r"^\s*" + _alternatives(w for w in BOOL_WORDS if w in ("false", "no", "off")) + r"\s*$"
    return {"anyOf": [{"enum": list(QUESTIONS)}, {"const": False},
                      {"type": "string", "pattern": false},
                      {"type": "array", "minItems": 1, "uniqueItems": True,
                       "items": {"enum": list(QUESTIONS)}}]}


def _step(spec: Spec) -> dict[str, Any]:
    """A progress step: positive, written +1 or +5s (YAML reads an unquoted +1 as 1)."""
    if spec.type == "duration_step":
        text = r"^\s*\+?" + DURATION_PATTERN[1:]
        out: dict[str, Any] = {"anyOf": [{"type": "number", "exclusiveMinimum": 0,
                                          "maximum": (spec.hi or 0) / 1000},
                                         {"type": "string", "pattern": text}]}
    else:
        out = {"anyOf": [{"type": "integer", "minimum": spec.lo, "maximum": spec.hi},
                         {"type": "string", "pattern": r"^\s*\+?\s*(?!0+\s*$)[0-9]{1,12}\s*$"}]}
    out["description"] = spec.doc
    return out


# A weight as the loader reads it: a number (at most two decimals; a comma is a decimal point
# when one or two digits follow it), then a unit word in any case. Not zero; the upper bound
# (1000 kg, 2000 lb) is a range of a number in text, which a pattern cannot say.
_AMOUNT = r"(?:[0-9]{1,6}(?:\.[0-9]{0,2}0*|,[0-9]{0,2})?|\.[0-9]{1,2}0*|,[0-9]{1,2})"
_NONZERO = r"(?![0.,]*\s*[a-zA-Z])"
_UNIT = _alternatives(UNIT_WORDS)


def _load_pattern(step: bool = False) -> str:
    sign = r"\+?\s*" if step else ""
    body = rf"{sign}{_NONZERO}{_AMOUNT}\s*{_UNIT}"
    if step:
        return rf"^\s*{body}\s*$"
    return rf"^\s*(?:{_ci(BODYWEIGHT)}|{body})\s*$"


def _then() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for key, spec in THEN_FIELDS.items():
        if spec.type == "load_step":
            props[key] = {"type": "string", "pattern": _load_pattern(step=True),
                          "description": spec.doc}
        else:
            props[key] = _scalar(spec)
    return {"type": "object", "properties": props, "additionalProperties": False,
            "required": ["load"], "description": PROGRESS_FIELDS["then"].doc}


def _progress_rule() -> dict[str, Any]:
    lo, hi = RATING_RANGE
    props: dict[str, Any] = {}
    for key, spec in PROGRESS_FIELDS.items():
        if spec.type in ("step", "duration_step"):
            props[key] = _step(spec)
        elif key == "then":
            props[key] = {"$ref": "#/$defs/then"}
        elif key == "when":
            when = (rf"^\s*(?:completed|feel\s*>=\s*[{lo}-{hi}]|effort\s*<=\s*[{lo}-{hi}])\s*$")
            props[key] = {"type": "string", "pattern": when, "description": spec.doc}
        else:
            props[key] = {"description": spec.doc}
    max_of = {"reps": _scalar(EXERCISE_FIELDS["reps"]), "hold": _scalar(EXERCISE_FIELDS["hold"]),
              "sets": _scalar(SETS_SPEC)}
    return {"type": "object", "properties": props, "additionalProperties": False,
            "required": ["max"],
            "oneOf": [{"required": [t]} for t in PROGRESS_TARGETS],
            # A rule's `then` returns its own target to a floor, no other.
            "allOf": [{"if": {"required": [t]},
                       "then": {"properties": {"max": {k: v for k, v in max_of[t].items()
                                                       if k != "description"},
                                               "then": {"propertyNames": {
                                                   "enum": ["load", t]}}}}}
                      for t in PROGRESS_TARGETS]}


def _remedy() -> dict[str, Any]:
    """`remedy`: a bool (as YAML words too) or its mapping; a duration may be written +1s."""
    props: dict[str, Any] = {}
    for key, spec in REMEDY_FIELDS.items():
        props[key] = _scalar(spec)
        if spec.type == "duration":
            props[key]["anyOf"][1]["pattern"] = r"^\s*\+?" + DURATION_PATTERN[1:]
    return {"anyOf": [_scalar(Spec("bool")),
                      {"type": "object", "properties": props, "additionalProperties": False}]}


def program_schema() -> dict[str, Any]:
    """The JSON Schema of a program file (a dict ready for json.dumps)."""
    defs = {"words": "words", "voice": "voice", "defaults": "defaults", "poses": "poses",
            "exercises": "exercises", "schedule": "schedule", "tempo": "tempo",
            "language": "language", "rate": "rate", "progress": "progress", "load": "load",
            "remedy": "remedy"}
    pose = _object(POSE_FIELDS, defs, required=["name"])
    return {
        "$schema": DIALECT,
        "title": "coach training program",
        "description": "A coach program (YAML). Generated by `coach schema` from the loader's "
                       "own tables; `coach check` is the final word.",
        "type": "object",
        "required": ["program", "exercises"],
        **{k: v for k, v in _object(TOP_FIELDS, defs).items() if k != "type"},
        "$defs": {
            "words": _words(),
            "voice": _object(VOICE_FIELDS, defs),
            "defaults": _object(DEFAULT_FIELDS, defs),
            "tempo": {"anyOf": [{"type": "string", "pattern": _tempo_pattern()},
                                # YAML 1.2 reads an unquoted 4040 as a number; coach reads it
                                # as written.
                                {"type": "integer", "minimum": 1, "maximum": 9999}]},
            "schedule": {"anyOf": [{"$ref": "#/$defs/schedule_one"},
                                   {"type": "array", "minItems": 1,
                                    "items": {"$ref": "#/$defs/schedule_one"}}]},
            "schedule_one": {"type": "string", "pattern": _schedule_pattern()},
            "language": {"enum": sorted(PACKS)},
            "pose": pose,
            "poses": {"type": "array", "minItems": 1,
                      "items": {"anyOf": [dict(_TEXT), {"$ref": "#/$defs/pose"}]}},
            "exercise": _exercise(defs),
            "exercises": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/exercise"}},
            "rate": _rate(),
            "load": {"type": "string", "pattern": _load_pattern()},
            "then": _then(),
            "progress_rule": _progress_rule(),
            "remedy": _remedy(),
            "progress": {"anyOf": [{"$ref": "#/$defs/progress_rule"},
                                   {"type": "array", "minItems": 1,
                                    "items": {"$ref": "#/$defs/progress_rule"}}]},
        },
    }


def schema_json() -> str:
    """The schema as shipped in coach/data/program.schema.json (stable text, newline at end)."""
    return json.dumps(program_schema(), indent=2, ensure_ascii=False) + "\n"
