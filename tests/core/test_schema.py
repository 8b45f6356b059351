"""The JSON Schema of the program format: generated from the loader's tables, shipped in sync,
accepting every good program and rejecting what it can express of the bad ones."""

from __future__ import annotations

import itertools
import json
import re
import string

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.core.errors import CoachError
from coach.core.program import EXERCISE_FIELDS, TOP_FIELDS, parse_program
from coach.core.schema import program_schema, schema_json
from coach.core.yamlnodes import DURATION_PATTERN, parse_duration_ms
from tests.support.cli import coach
from tests.support.programs import BAD, DESIGN_EXAMPLE, VALIDATOR
from tests.support.real import PROGRAMS, ROOT

SHIPPED = ROOT / "coach" / "data" / "program.schema.json"

# Mistakes of the BAD table (tests/support/programs.py) that JSON Schema cannot express, and why.
NOT_EXPRESSIBLE = {
    # A duration written as text has no numeric value in JSON: only its form is checked.
    "cadence too fast": "range of a text duration",
    "hold too long": "range of a text duration",
    "hold too short": "range of a text duration",
    "rest too long": "range of a text duration",
    "pose hold range": "range of a text duration",
    "defaults rest": "range of a text duration",
    # YAML reads 0x10 as the number 16 before any schema sees it; coach reads it as written.
    "sets octal trap": "YAML resolves it to a valid number",
    # A YAML parser keeps one of two equal keys; the schema sees one.
    "duplicate key": "YAML level",
}


def valid(data) -> bool:
    return VALIDATOR.is_valid(data)


def test_schema_is_valid_draft_2020_12():
    schema = program_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_shipped_schema_is_the_generated_one():
    # The package ships coach/data/program.schema.json; regenerate with
    #   .venv/bin/coach schema > coach/data/program.schema.json
    assert SHIPPED.read_text("utf-8") == schema_json(), \
        "coach/data/program.schema.json is stale: regenerate it with `coach schema`"


def test_coach_schema_prints_it():
    out = coach("schema", check=True).stdout
    assert json.loads(out) == program_schema() and out == schema_json()


def test_keys_come_from_the_loader_tables():
    s = program_schema()
    assert list(s["properties"]) == list(TOP_FIELDS)
    assert list(s["$defs"]["exercise"]["properties"]) == list(EXERCISE_FIELDS)
    reps = s["$defs"]["exercise"]["properties"]["reps"]["anyOf"][0]
    assert (reps["minimum"], reps["maximum"]) == (EXERCISE_FIELDS["reps"].lo,
                                                  EXERCISE_FIELDS["reps"].hi)


@pytest.mark.parametrize("path", sorted(PROGRAMS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_programs_validate(path):
    errors = [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(path.read_text("utf-8")))]
    assert errors == []


def test_design_example_validates():
    assert valid(yaml.safe_load(DESIGN_EXAMPLE))


def _yaml_level(text: str) -> bool:
    try:
        yaml.safe_load(text)
        return False
    except yaml.YAMLError:
        return True


DOCUMENT_CASES = [(b[0], b[1]) for b in BAD if not _yaml_level(b[1])]


def test_only_yaml_level_mistakes_are_left_out():
    # Mistakes no YAML parser gets past never reach a schema (the editor flags them itself).
    left_out = {b[0] for b in BAD} - {name for name, _ in DOCUMENT_CASES}
    assert left_out == {"tab indent", "syntax", "unclosed quote", "two documents", "python tag",
                        "custom tag", "control char", "undefined alias", "non-scalar key"}


@pytest.mark.parametrize("name, text", DOCUMENT_CASES, ids=[c[0] for c in DOCUMENT_CASES])
def test_schema_rejects_the_bad_programs_it_can_express(name, text):
    data = yaml.safe_load(text)
    # The loader rejects every BAD case (tests/core/test_program.py); so must the schema, unless
    # the case is listed as beyond JSON Schema.
    with pytest.raises(CoachError):
        parse_program(text)
    if name in NOT_EXPRESSIBLE:
        assert valid(data), f"{name} is rejected now: take it off NOT_EXPRESSIBLE"
    else:
        assert not valid(data), name


KIND_KEYS = {"tempo": "4040", "cadence": "2s", "hold": "10s", "poses": ["a"], "reps": 8}


@pytest.mark.parametrize("keys", [c for n in range(len(KIND_KEYS) + 1)
                                  for c in itertools.combinations(KIND_KEYS, n)],
                         ids=lambda c: "+".join(c) or "none")
def test_exactly_one_kind_agrees_with_the_loader(keys):
    ex = {"name": "A", **{k: KIND_KEYS[k] for k in keys}}
    text = yaml.safe_dump({"program": "P", "exercises": [ex]})
    try:
        parse_program(text)
        loads = True
    except CoachError:
        loads = False
    assert valid(yaml.safe_load(text)) == loads


@pytest.mark.parametrize("value, ok", [
    (0, False), (5, True), (600, True), (601, False), (0.5, False), ("10s", True),
    ("1:30", True), ("abc", False), ("-5s", False), (True, False), (None, False)])
def test_hold_numbers_and_forms(value, ok):
    data = {"program": "P", "exercises": [{"name": "A", "hold": value}]}
    assert valid(data) == ok


@pytest.mark.parametrize("tempo, ok", [("4040", True), ("3-1-X-1", True), ("31x0", True),
                                       ("0000", False), ("0-0-0-0", False), ("40401", False),
                                       ("4a40", False), (4040, True), (0, False)])
def test_tempo(tempo, ok):
    data = {"program": "P", "exercises": [{"name": "A", "reps": 8, "tempo": tempo}]}
    assert valid(data) == ok


@pytest.mark.parametrize("words, ok", [
    ({"set_of": "round {n} of {total}"}, True), ({"set_of": "round {n}"}, False),
    ({"lower": "down {n}"}, False), ({"go": "{{now}}"}, True), ({"go": "go {"}, False),
    ({"rest": "rest {secs}"}, False), ({"numbers": "x"}, False), ({"lowr": "x"}, False),
    ({"go": " "}, False)])
def test_words_templates(words, ok):
    text = yaml.safe_dump({"program": "P", "words": words,
                           "exercises": [{"name": "A", "hold": "1s"}]})
    try:
        parse_program(text)
        loads = True
    except CoachError:
        loads = False
    assert loads == ok and valid(yaml.safe_load(text)) == ok


@pytest.mark.parametrize("schedule, ok", [
    ("mon,wed,fri 07:00", True), ("daily 6:30", True), ("Monday,SAT 07:15", True),
    ("fri - mon 23:59", True), (["mon 07:00", "weekends 9:00"], True), ("wen 07:00", False),
    ("daily 24:00", False), ("07:00", False), ([], False)])
def test_schedules(schedule, ok):
    data = {"program": "P", "schedule": schedule, "exercises": [{"name": "A", "hold": "1s"}]}
    assert valid(data) == ok


def _duration_ok(text: str) -> bool:
    try:
        parse_duration_ms(text)
        return True
    except ValueError:
        return False


DURATION_RE = re.compile(DURATION_PATTERN)


@pytest.mark.parametrize("text", [
    "45s", "2m", "1m30s", "1.5s", "90", "1:30", "0:01:30", "500ms", "2min", "30 sec", "1M",
    "0.25h", ".5m", "1:30.5", "1m70s", "1h2m3s4ms", "", "abc", "5x", "-5s", "1:70", "s",
    "1e3", "0x10", "1_000", "5s 5m", "1.2.3s", "nan", "1:2", "9" * 40, "1:60:00", "1:0059:00",
    "5mins", "5 m s", " 7s ", "1:00:00.5", "10000:00"])
def test_duration_pattern_agrees_with_the_parser(text):
    assert bool(DURATION_RE.search(text)) == _duration_ok(text), text


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=string.digits + ".:hmsinecHMS -x", max_size=12))
def test_duration_pattern_agrees_with_the_parser_on_any_text(text):
    assert bool(DURATION_RE.search(text)) == _duration_ok(text), text
