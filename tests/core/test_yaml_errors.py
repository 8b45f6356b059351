"""A program file's YAML mistakes in coach's words (issue 18, point 5): a line indented off its
block, a key without its ": ", a value with ": " in it, said at FILE:LINE:COL in one line
instead of PyYAML's "expected <block end>, but found '<block mapping start>'"."""

from __future__ import annotations

import pytest

from coach.core.errors import CoachError
from coach.core.program import parse_program

HEAD = "program: W\nexercises:\n  - name: Squat\n"

KEY_OFF = ("wrong indentation: this key starts at column {col}, the key above it at column "
           "{above} (line {line}); the keys of one mapping line up in one column")
ITEM_OFF = ('wrong indentation: this list item starts at column {col}, the list item above it at '
            'column {above} (line {line}); the "- " of one list line up in one column')

CASES = [
    ("a key further in after a quoted value", HEAD + '    tempo: "3010"\n     reps: 5\n',
     5, 6, KEY_OFF.format(col=6, above=5, line=4)),
    ("a key further in after a plain value", HEAD + "    tempo: 3010\n      reps: 5\n",
     5, 7, KEY_OFF.format(col=7, above=5, line=4)),
    ("a key further out", HEAD + "    tempo: 3010\n   reps: 5\n",
     5, 4, KEY_OFF.format(col=4, above=5, line=4)),
    ("a key out to the list's dash", HEAD + "    reps: 5\n  tempo: 3010\n",
     5, 3, KEY_OFF.format(col=3, above=5, line=4)),
    ("a key of the second item", HEAD + "    reps: 5\n  - name: B\n   hold: 5s\n",
     6, 4, KEY_OFF.format(col=4, above=5, line=5)),
    ("a list item further out", HEAD + "    reps: 5\n - name: B\n    hold: 5s\n",
     5, 2, ITEM_OFF.format(col=2, above=3, line=3)),
    ("a list item further in", HEAD + "    reps: 5\n   - name: B\n    hold: 5s\n",
     5, 4, ITEM_OFF.format(col=4, above=3, line=3)),
    ("a top-level key indented", "program: W\n exercises:\n  - name: Squat\n    hold: 5s\n",
     2, 2, KEY_OFF.format(col=2, above=1, line=1)),
    ("the first key indented", " program: W\nexercises:\n  - name: Squat\n    hold: 5s\n",
     2, 1, KEY_OFF.format(col=1, above=2, line=1)),
    ("a comment line between", HEAD + "    reps: 5\n    # slow\n     tempo: \"3010\"\n",
     6, 6, KEY_OFF.format(col=6, above=5, line=4)),
    ("no space after the colon", HEAD + "    reps:5\n    tempo: \"3010\"\n",
     4, 5, 'a key needs a space after its colon: write "reps: 5"'),
    ("no colon", HEAD + "    reps 5\n    tempo: \"3010\"\n",
     4, 5, 'this line is not a "key: value" pair: a key needs ": " after it, and a value '
           "continued from the line above is indented further than its key"),
    ("a key too long for YAML", HEAD + "    " + "x" * 1100 + ": 1\n",
     4, 5, "this key is longer than YAML allows (1024 characters)"),
    ("a value with a colon", "program: W: the best\nexercises:\n  - name: A\n    hold: 5s\n",
     1, 11, 'a value with ": " in it needs quotes, like "a: b"'),
    ("a dash without its space", "program: W\nexercises:\n  -name: Squat\n    hold: 5s\n",
     3, 3, 'a list item needs a space after "-": write "- name: Squat"'),
]


@pytest.mark.parametrize("text, line, col, message", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_yaml_mistake_is_one_line_in_plain_words(text, line, col, message):
    with pytest.raises(CoachError) as info:
        parse_program(text, "p.yaml")
    assert [str(d) for d in info.value.diagnostics] == [f"p.yaml:{line}:{col}: error: {message}"]
    assert "<block" not in str(info.value) and "YAML syntax error" not in str(info.value)


def test_other_syntax_errors_keep_pyyaml_wording():
    with pytest.raises(CoachError) as info:
        parse_program("program: [P\nexercises: 1\n", "p.yaml")
    assert str(info.value).startswith("p.yaml:2:10: error: YAML syntax error: expected ',' or ']'")
