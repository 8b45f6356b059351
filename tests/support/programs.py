"""Programs the loader tests share: the example of DESIGN.md, the table of mistakes (BAD: text,
line, column, message), valid programs and the fuzzer's mutations of them, and the JSON Schema
validator. Used by tests/core (the loader, the schema, the limits, progression and rating)."""

from __future__ import annotations

import os
import re

import jsonschema
from hypothesis import strategies as st

from coach.core.schema import program_schema
from coach.core.yamlnodes import MAX_DEPTH
from tests.support.real import PROGRAMS

# Raised by a later fuzz issue through the environment; sized to run in seconds here.
FUZZ_EXAMPLES = int(os.environ.get("COACH_FUZZ_EXAMPLES", "300"))

# The example of DESIGN.md's "Program format", verbatim.
DESIGN_EXAMPLE = """\
program: Mind-muscle upper A        # required name
schedule: "mon,wed,fri 07:00"      # optional; or a list of such strings
language: en                        # optional phrase pack (issue on languages)
voice: {engine: espeak, rate: 170, volume: 0.9}   # optional TTS settings
defaults: {rest: 90s, lead_in: 5s}  # optional; per-exercise keys override them
words: {lower: "stretch"}           # optional phrase overrides, by phrase id (below)
exercises:
  - name: Lat pulldown
    focus: Drive the elbows down; feel the lats stretch, then squeeze.
    sets: 3
    reps: 8
    tempo: "4040"                   # eccentric, bottom pause, concentric, top pause (s); X = explosive
    rest: 2m
  - name: Wall sit                  # isometric hold
    sets: 2
    hold: 45s
  - name: Push-up burnout           # ultra-high reps, one rep per cadence
    reps: 50
    cadence: 1.5s
  - name: Posing                    # flex & pose sequence; `hold` = default hold of each pose
    poses: [front double biceps, side chest, {name: back lat spread, hold: 15s}]
    hold: 10s
    eyes_closed: true
  - name: Bulgarian split squat     # unilateral: every set runs left, then right
    sides: both
    switch: 5s
    sets: 2
    reps: 10
    tempo: 31X0
    words: {lower: "sink"}          # per-exercise overrides win over the program's
"""

HEAD = "program: P\nexercises:\n"  # exercises start on line 3

E = HEAD + "  - name: A\n"  # exercise 1 opens at 3:5; its next keys are on line 4, column 5

BAD = [
    # kind of exercise
    ("tempo 5 symbols", E + "    reps: 8\n    tempo: 40401\n", 5, 12,
     'tempo needs 4 symbols of 0-9 or X, got "40401"'),
    ("tempo bad symbol", E + "    reps: 8\n    tempo: 4a40\n", 5, 12,
     'tempo needs 4 symbols of 0-9 or X, got "4a40"'),
    ("tempo 3 symbols", E + "    reps: 8\n    tempo: 4-0-4\n", 5, 12,
     'tempo needs 4 symbols of 0-9 or X, got "4-0-4"'),
    ("tempo zero", E + "    reps: 8\n    tempo: '0000'\n", 5, 12, 'has no movement'),
    ("tempo list", E + "    reps: 8\n    tempo: [4, 0, 4, 0]\n", 5, 12, "tempo must be text, got a list"),
    ("tempo+hold", E + "    tempo: 4040\n    reps: 8\n    hold: 10s\n", 6, 11,
     "tempo and hold cannot be used together"),
    ("tempo+cadence", E + "    cadence: 2s\n    reps: 8\n    tempo: 4040\n", 6, 12,
     "cadence and tempo cannot be used together"),
    ("cadence+poses", E + "    reps: 5\n    cadence: 2s\n    poses: [{name: a, hold: 2s}]\n", 6, 12,
     "cadence and poses cannot be used together"),
    ("reps alone", E + "    reps: 8\n", 4, 11, "reps needs tempo or cadence"),
    ("reps with hold", E + "    hold: 30s\n    reps: 8\n", 5, 11, "reps cannot be used with hold"),
    ("no kind", E + "    sets: 3\n", 3, 5,
     "exercise 1 needs one of tempo or cadence (with reps), hold, or poses"),
    ("tempo without reps", E + "    tempo: 4040\n", 3, 5, "tempo needs reps"),
    ("cadence without reps", E + "    cadence: 2s\n", 3, 5, "cadence needs reps"),
    # durations
    ("cadence too fast", E + "    reps: 50\n    cadence: 0.2s\n", 5, 14,
     'cadence must be between 0.5s and 10s, got "0.2s"'),
    ("hold too long", E + "    hold: 3h\n", 4, 11, 'hold must be between 1s and 10m, got "3h"'),
    ("hold too short", E + "    hold: 500ms\n", 4, 11, 'hold must be between 1s and 10m, got "500ms"'),
    ("hold abc", E + "    hold: abc\n", 4, 11,
     'hold must be a duration like 45s, 2m, 1m30s or 1:30 (between 1s and 10m), got "abc"'),
    ("hold 5x", E + "    hold: 5x\n", 4, 11, 'hold must be a duration like 45s'),
    ("hold negative", E + "    hold: -5s\n", 4, 11, 'got "-5s"'),
    ("hold empty", E + "    hold:\n", 4, 10, "hold must be a duration like 45s, 2m, 1m30s or 1:30 "
                                              "(between 1s and 10m), got nothing"),
    ("rest too long", E + "    hold: 10s\n    rest: 16m\n", 5, 11,
     'rest must be between 0s and 15m, got "16m"'),
    ("rest list", E + "    hold: 10s\n    rest: [1, 2]\n", 5, 11, "rest must be a duration"),
    ("lead_in mapping", E + "    hold: 10s\n    lead_in: {a: 1}\n", 5, 14,
     "lead_in must be a duration like 45s, 2m, 1m30s or 1:30 (between 0s and 15m), got a mapping"),
    # numbers
    ("reps 0", E + "    tempo: 4040\n    reps: 0\n", 5, 11, "reps must be between 1 and 200, got 0"),
    ("reps 10000", E + "    tempo: 4040\n    reps: 10000\n", 5, 11,
     "reps must be between 1 and 200, got 10000"),
    ("reps float", E + "    tempo: 4040\n    reps: 8.5\n", 5, 11,
     'reps must be a whole number between 1 and 200, got "8.5"'),
    ("reps word", E + "    tempo: 4040\n    reps: ten\n", 5, 11, 'reps must be a whole number'),
    ("sets 0", E + "    hold: 10s\n    sets: 0\n", 5, 11, "sets must be between 1 and 20, got 0"),
    ("sets bool", E + "    hold: 10s\n    sets: true\n", 5, 11,
     'sets must be a whole number between 1 and 20, got "true"'),
    ("sets list", E + "    hold: 10s\n    sets: [3]\n", 5, 11,
     "sets must be a whole number between 1 and 20, got a list"),
    ("sets octal trap", E + "    hold: 10s\n    sets: 0x10\n", 5, 11, 'got "0x10"'),
    # other exercise keys
    ("unknown key", E + "    tmepo: 4040\n    reps: 8\n", 4, 5,
     'unknown key "tmepo" in exercise 1 (did you mean "tempo"?)'),
    ("unknown key no match", E + "    hold: 10s\n    zzz: 1\n", 5, 5,
     'unknown key "zzz" in exercise 1'),
    ("eyes_closed maybe", E + "    hold: 10s\n    eyes_closed: maybe\n", 5, 18,
     'eyes_closed must be true or false (yes/no, on/off), got "maybe"'),
    ("sides left", E + "    hold: 10s\n    sides: left\n", 5, 12, 'sides must be "both"'),
    ("poses empty", E + "    poses: []\n", 4, 12, "poses must not be an empty list"),
    ("poses mapping", E + "    poses: {name: a}\n", 4, 12, "poses must be a list, got a mapping"),
    ("pose needs name", E + "    hold: 5s\n    poses: [{hold: 3s}]\n", 5, 13,
     "pose 1 of exercise 1 needs a name"),
    ("pose typo hides no name", E + "    poses: [{nme: a, hold: 3s}]\n", 4, 14,
     'unknown key "nme" in pose 1 of exercise 1 (did you mean "name"?)'),
    ("name typo", HEAD + "  - nmae: A\n    hold: 1s\n", 3, 5,
     'unknown key "nmae" in exercise 1 (did you mean "name"?)'),
    ("pose unknown key", E + "    hold: 5s\n    poses: [{name: a, hld: 3s}]\n", 5, 23,
     'unknown key "hld" in pose 1 of exercise 1 (did you mean "hold"?)'),
    ("pose hold range", E + "    poses: [{name: a, hold: 11m}]\n", 4, 29,
     'hold must be between 1s and 10m, got "11m"'),
    ("pose nested list", E + "    hold: 5s\n    poses: [[a]]\n", 5, 13,
     "pose 1 must be a name or {name: ..., hold: ...}, got a list"),
    ("name missing", HEAD + "  - hold: 10s\n", 3, 5, "exercise 1 needs a name"),
    ("name empty", HEAD + "  - name: ''\n    hold: 10s\n", 3, 11, "name must not be empty"),
    ("name null", HEAD + "  - name: null\n    hold: 10s\n", 3, 11, "name must not be empty"),
    ("hold null", E + "    hold: ~\n", 4, 11, "got nothing"),
    ("name mapping", HEAD + "  - name: {a: 1}\n    hold: 10s\n", 3, 11, "name must be text, got a mapping"),
    ("exercise scalar", HEAD + "  - Lat pulldown\n", 3, 5,
     'exercise 1 must be a mapping (key: value lines), got "Lat pulldown"'),
    ("duplicate key", E + "    hold: 10s\n    hold: 20s\n", 5, 5,
     'duplicate key "hold" in exercise 1 (first at line 4)'),
    ("focus empty", E + "    hold: 10s\n    focus:\n", 5, 11, "focus must not be empty"),
    # top level
    ("exercises empty", "program: P\nexercises: []\n", 2, 12, "exercises must not be an empty list"),
    ("exercises mapping", "program: P\nexercises: {name: A}\n", 2, 12,
     "exercises must be a list, got a mapping"),
    ("exercises missing", "program: P\n", 1, 1, "the program needs exercises"),
    ("program missing", "exercises:\n  - name: A\n    hold: 1s\n", 1, 1, "the program needs a name"),
    ("program empty", "program:\nexercises:\n  - name: A\n    hold: 1s\n", 1, 9,
     "program must not be empty"),
    ("top unknown key", "program: P\nexercizes:\n  - name: A\n    hold: 1s\n", 2, 1,
     'unknown key "exercizes" at the top level (did you mean "exercises"?)'),
    ("language", "language: xx\n" + E + "    hold: 1s\n", 1, 11,
     'language "xx" is not available; available: de, en, es, fr'),
    ("schedule day", "schedule: wen 07:00\n" + E + "    hold: 1s\n", 1, 11,
     'unknown day "wen" in schedule; use daily, weekdays, weekends, mon..sun or a range like '
     'mon-fri (did you mean "wed"?)'),
    ("schedule hour", "schedule: daily 24:00\n" + E + "    hold: 1s\n", 1, 11,
     'schedule time must be HH:MM between 00:00 and 23:59, got "24:00"'),
    ("schedule minute", "schedule: daily 07:60\n" + E + "    hold: 1s\n", 1, 11, 'got "07:60"'),
    ("schedule no days", "schedule: ['mon 07:00', '07:00']\n" + E + "    hold: 1s\n", 1, 25,
     'schedule must be "DAYS HH:MM" like "mon,wed,fri 07:00", got "07:00"'),
    ("schedule bad range", "schedule: mon-fry 07:00\n" + E + "    hold: 1s\n", 1, 11,
     'unknown day "fry"'),
    ("voice engine", "voice: {engine: espek}\n" + E + "    hold: 1s\n", 1, 17,
     'voice.engine must be one of espeak, piper, got "espek" (did you mean "espeak"?)'),
    ("voice rate", "voice:\n  rate: 500\n" + E + "    hold: 1s\n", 2, 9,
     "voice.rate must be between 80 and 400, got 500"),
    ("voice volume", "voice:\n  volume: 1.5\n" + E + "    hold: 1s\n", 2, 11,
     "voice.volume must be between 0 and 1, got 1.5"),
    ("voice unknown", "voice:\n  speed: 1\n" + E + "    hold: 1s\n", 2, 3,
     'unknown key "speed" in voice'),
    ("defaults unknown", "defaults: {hold: 5s}\n" + E + "    hold: 1s\n", 1, 12,
     'unknown key "hold" in defaults'),
    ("defaults rest", "defaults: {rest: 20m}\n" + E + "    hold: 1s\n", 1, 18,
     'defaults.rest must be between 0s and 15m, got "20m"'),
    ("defaults sets", "defaults: {sets: 21}\n" + E + "    hold: 1s\n", 1, 18,
     "defaults.sets must be between 1 and 20, got 21"),
    # words
    ("words unknown id", "words: {lowr: x}\n" + E + "    hold: 1s\n", 1, 9,
     'unknown phrase id "lowr" in words at the top level (did you mean "lower"?)'),
    ("words missing field", 'words: {set_of: "set {n}"}\n' + E + "    hold: 1s\n", 1, 17,
     "words.set_of must keep {n}, {total}; missing {total}"),
    ("words unknown field", E + "    hold: 1s\n    words: {rest: 'rest {secs}'}\n", 5, 19,
     'words.rest: field {secs} is not allowed; "rest" takes {seconds}'),
    ("words field on plain id", E + "    hold: 1s\n    words:\n      lower: 'down {n}'\n", 6, 14,
     'words.lower: field {n} is not allowed; "lower" takes no {fields}'),
    ("words attribute", "words: {next: '{exercise.__class__}'}\n" + E + "    hold: 1s\n", 1, 15,
     "field {exercise.__class__} is not allowed"),
    ("words broken", "words: {go: 'go {'}\n" + E + "    hold: 1s\n", 1, 13,
     "words.go is not a valid template (Single '{' encountered in format string)"),
    ("words numbers", "words: {numbers: x}\n" + E + "    hold: 1s\n", 1, 9,
     '"numbers" cannot be changed in words'),
    ("words empty", "words: {go: ''}\n" + E + "    hold: 1s\n", 1, 13, "words.go must not be empty"),
    # YAML level
    ("tab indent", "program: P\nexercises:\n  - name: A\n\thold: 1s\n", 4, 1,
     "tabs are not allowed, indent with spaces"),
    ("syntax", "program: [P\nexercises: 1\n", 2, 10, "YAML syntax error: expected ',' or ']'"),
    ("unclosed quote", "program: 'P\n", 2, 1, "YAML syntax error: found unexpected end of stream"),
    ("two documents", E + "    hold: 1s\n---\n" + E + "    hold: 1s\n", 5, 1,
     "only one YAML document is allowed per file"),
    ("not a mapping", "- program: P\n", 1, 1,
     "a program must be a mapping (key: value lines), got a list"),
    ("scalar document", "just words\n", 1, 1,
     'a program must be a mapping (key: value lines), got "just words"'),
    ("empty document", "# nothing here\n\n", 1, 1, "the program is empty"),
    ("python tag", "program: !!python/object/apply:os.system [echo]\n" + "exercises: []\n", 1, 10,
     'tag "!!python/object/apply:os.system" is not allowed'),
    ("custom tag", HEAD + "  - name: !x A\n    hold: 1s\n", 3, 11, 'tag "!x" is not allowed'),
    ("binary tag", "program: !!binary aGk=\n", 1, 10, 'tag "!!binary" is not allowed'),
    ("control char", "program: P\x07\n", 1, 11, "character U+0007 is not allowed"),
    ("undefined alias", "program: *nope\n", 1, 10, "found undefined alias 'nope'"),
    ("recursive alias", "program: &a [*a]\n", 1, 10, "recursive alias"),
    ("too deep", "program: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n", 1, 9 + MAX_DEPTH,
     f"values are nested deeper than {MAX_DEPTH} levels"),
    ("non-scalar key", "program: P\n? [a]\n: 1\n", 2, 3, "keys in a program must be plain names"),
]

GOOD = HEAD + "  - name: A\n    hold: 10s\n"

VALID = [DESIGN_EXAMPLE, GOOD,
         "program: X\nschedule: [daily 07:00, 'mon-fri 18:30']\ndefaults: {rest: 1:30, sets: 3}\n"
         "words: {set_of: 'set {n} of {total}'}\nexercises:\n"
         "  - &e {name: A, reps: 10, tempo: 31X0, rest: 45s}\n  - <<: *e\n    name: B\n"
         "  - name: C\n    poses: [a, {name: b, hold: 5s}]\n    hold: 0:20\n    eyes_closed: yes\n"]
VALID += [p.read_text() for p in sorted(PROGRAMS.glob("*.yaml"))]

_KV = re.compile(r"^(\s*(?:- )?[\w]+:[ \t]*)(\S.*)$", re.M)
CHARS = st.one_of(st.sampled_from(list(":-[]{},&*!|>'\"#\t\n 0123456789xXsmh%@`?~<=.")),
                   st.characters())
MUTATION = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 8)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.text(CHARS, min_size=1, max_size=4)),
    st.tuples(st.just("replace"), st.integers(0, 10**6), CHARS),
    st.tuples(st.just("swap"), st.integers(0, 10**6), st.integers(0, 10**6)),
)


def mutate(text: str, mutations) -> str:
    for op, a, b in mutations:
        if op == "swap":
            # Swap the values of two `key: value` lines (a number where text belongs, ...).
            lines = text.split("\n")
            kv = [i for i, ln in enumerate(lines) if _KV.match(ln)]
            if len(kv) >= 2:
                i, j = kv[a % len(kv)], kv[b % len(kv)]
                mi, mj = _KV.match(lines[i]), _KV.match(lines[j])
                lines[i], lines[j] = mi[1] + mj[2], mj[1] + mi[2]
            text = "\n".join(lines)
            continue
        pos = a % (len(text) + 1)
        if op == "delete":
            text = text[:pos] + text[pos + b:]
        elif op == "insert":
            text = text[:pos] + b + text[pos:]
        else:
            text = text[:pos] + b + text[pos + 1:]
    return text


# The schema as a validator (generated from the loader's tables).
VALIDATOR = jsonschema.Draft202012Validator(program_schema())


# A unilateral program rated per side (feel): the rating window, spoken answers, "how long".
RATED_SPLIT = """\
program: Rated split
defaults: {rest: 30s, switch: 20s, lead_in: 3s, announce: 3s}
rate: feel
exercises:
  - name: Split squat
    sides: both
    sets: 2
    reps: 4
    cadence: 2s
"""


# A 3-set tempo exercise with `remedy: true` (issue 20), rated by feel.
REMEDIED_ROW = """\
program: Remedied row
defaults: {rest: 60s, lead_in: 3s, announce: 3s}
rate: feel
remedy: true
exercises:
  - name: Row
    sets: 3
    reps: 2
    tempo: "3010"
"""


def short_remedied_row(rest_s: int, flex: str) -> str:
    """REMEDIED_ROW cut to what the remedy's end-to-end tests check (issue 17's CI time): one rep
    a set, a 250 wpm voice, a 1 s lead-in and a ``rest_s`` rest, the shortest `coach check`
    lets a remedy with a ``flex`` cue ("0": none) have."""
    return f"""\
program: Remedied row
voice: {{rate: 250}}
defaults: {{rest: {rest_s}s, lead_in: 1s, announce: 3s}}
rate: feel
exercises:
  - name: Row
    sets: 3
    reps: 1
    tempo: "2010"
    remedy: {{eccentric: +1s, peak: +2s, flex: {flex}}}
"""
