"""`coach new KIND [FILE]`: a commented starting program per method that passes `coach check`
as written and validates against the schema; never overwrites a file."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from coach.cli.app import NEW_KINDS
from coach.cli.authoring import new_program_text
from coach.core.program import parse_program
from coach.core.schema import program_schema
from tests.support.cli import coach

# Which kinds of exercise each method's program must show.
SHOWS = {"tempo": {"tempo"}, "hold": {"hold"}, "high-rep": {"cadence"}, "posing": {"poses"},
         "unilateral": {"tempo", "hold"}, "session": {"tempo", "hold", "cadence", "poses"}}


def test_every_kind_has_a_program():
    assert set(NEW_KINDS) == set(SHOWS) == {"tempo", "hold", "high-rep", "posing", "unilateral",
                                            "session"}


@pytest.mark.parametrize("kind", NEW_KINDS)
def test_new_prints_a_commented_program_of_its_method(kind):
    r = coach("new", kind)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout == new_program_text(kind)
    assert r.stdout.startswith("# ") and r.stdout.count("#") >= 3  # commented for a beginner
    program = parse_program(r.stdout, f"{kind}.yaml")
    assert {e.kind for e in program.exercises} == SHOWS[kind]
    if kind == "unilateral":
        assert all(e.sides == ("left", "right") for e in program.exercises)
    jsonschema.validate(yaml.safe_load(r.stdout), program_schema(),
                        cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("kind", NEW_KINDS)
def test_new_file_passes_check_as_written(kind, tmp_path, espeak):
    path = tmp_path / f"{kind}.yaml"
    r = coach("new", kind, str(path))
    assert r.returncode == 0, r.stderr
    assert path.read_text("utf-8") == new_program_text(kind)
    # With the real voice: every clip fits its time (no overlap warnings).
    r = coach("check", str(path))
    assert r.returncode == 0 and ": ok: " in r.stdout, r.stderr
    assert "warning" not in r.stderr, r.stderr


def test_new_never_overwrites(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("program: mine\n", "utf-8")
    r = coach("new", "tempo", str(path))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"{path}: error: already exists; coach new never overwrites a file " \
                       "(choose another name, or remove it first)\n"
    assert path.read_text("utf-8") == "program: mine\n"


def test_new_unwritable_place_is_one_line(tmp_path):
    r = coach("new", "hold", str(tmp_path / "no" / "such" / "dir.yaml"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert ": error: cannot write: No such file or directory" in r.stderr


def test_new_unknown_kind_names_the_kinds():
    r = coach("new", "pyramid")
    assert r.returncode == 2 and "invalid choice: 'pyramid'" in r.stderr
    assert "'high-rep'" in r.stderr
