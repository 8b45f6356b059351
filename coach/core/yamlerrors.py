"""PyYAML's errors as coach says them: one line at FILE:LINE:COL, in plain words for the
mistakes a newcomer makes (tabs, a line indented off its block, a key without ": "), PyYAML's
own wording for the rest."""

from __future__ import annotations

import re

import yaml

from coach.core.errors import CoachError


class TooDeep(yaml.composer.ComposerError):
    """Values nested deeper than the loader takes (raised by coach.core.yamlnodes' loader)."""


_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as a line break


def _mark_of_position(text: str, pos: int) -> tuple[int, int]:
    """1-based (line, col) of a character index, counting lines the way PyYAML's marks do."""
    pos = max(0, min(pos, len(text)))
    line, start = 1, 0
    for m in _BREAK.finditer(text, 0, pos):
        line, start = line + 1, m.end()
    return line, pos - start + 1


def yaml_error(path: str, text: str, e: yaml.YAMLError) -> CoachError:
    """PyYAML's error as a one-line CoachError at FILE:LINE:COL, in coach's words where a
    newcomer's mistake is likely (tabs, indentation, a key without ": ")."""
    if isinstance(e, yaml.reader.ReaderError):
        line, col = _mark_of_position(text, e.position)
        ch = e.character if isinstance(e.character, int) else 0
        return CoachError.at(path, line, col,
                             f"character U+{ch:04X} is not allowed in a YAML file")
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = e.problem or "invalid YAML"
        if isinstance(e, TooDeep):
            msg = problem
        elif "'\\t'" in problem:
            msg = "tabs are not allowed, indent with spaces"
        elif "another document" in problem:
            msg = "only one YAML document is allowed per file (found a second '---')"
        elif (plain := _plain_words(text, e)) is not None:
            line, col, msg = plain
        else:
            msg = f"YAML syntax error: {problem}"
            if e.context and e.context_mark and e.context_mark is not mark:
                msg += f" ({e.context} at line {e.context_mark.line + 1})"
            elif e.context:
                msg += f" ({e.context})"
        return CoachError.at(path, line, col, msg)
    return CoachError.at(path, 0, 0, f"YAML error: {e}")


# PyYAML's wording of a line that lines up with nothing above it (a key or a "- " further in or
# out than its siblings), of a `key: value` where no key can start, and of a line with no key.
_MISALIGNED = ("expected <block end>, but found", "expected '<document start>', but found",
               "did not find expected key", "did not find expected '-' indicator")
_NO_MAPPING_HERE = "mapping values are not allowed here"
_NO_COLON = "could not find expected ':'"


def _lines_above(lines: list[str], line: int) -> list[tuple[int, int, bool]]:
    """(1-based line, 1-based column, is a "- " item) of the lines that open the blocks around
    0-based ``line``: each line above that starts left of every line after it; for a "- key"
    line also its key's column. Blank and comment lines do not count."""
    out: list[tuple[int, int, bool]] = []
    limit = None
    for i in range(min(line, len(lines)) - 1, -1, -1):
        stripped = lines[i].lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        ind = len(lines[i]) - len(stripped)
        if limit is not None and ind >= limit:
            continue
        dash = stripped.startswith("- ") or stripped == "-"
        if dash:
            key = len(stripped) - len(stripped[1:].lstrip(" "))  # "-   name": its key's offset
            if ":" in stripped and (limit is None or ind + key < limit):
                out.append((i + 1, ind + key + 1, False))
        out.append((i + 1, ind + 1, dash))
        limit = ind
    return out


def _plain_words(text: str, e: yaml.MarkedYAMLError) -> tuple[int, int, str] | None:
    """(line, column, message) in coach's words for an indentation mistake (and a key without
    its ": "), or None for anything else (then PyYAML's own wording is kept)."""
    problem, mark = e.problem or "", e.problem_mark
    if mark is None:
        return None
    lines = _BREAK.split(text)
    if problem.startswith(_NO_COLON) and e.context_mark is not None:
        line = e.context_mark.line
        words = lines[line].strip() if line < len(lines) else ""
        key, colon, value = words.partition(":")
        if colon and key and " " not in key and value[:1] not in ("", " "):
            fix = f': write "{key}: {value}"' if len(words) <= 40 else ""
            return (line + 1, e.context_mark.column + 1,
                    f"a key needs a space after its colon{fix}")
        if len(key) > 1024 and colon:  # PyYAML reads no longer key (its "simple key" limit)
            return (line + 1, e.context_mark.column + 1,
                    "this key is longer than YAML allows (1024 characters)")
        return (line + 1, e.context_mark.column + 1,
                'this line is not a "key: value" pair: a key needs ": " after it, and a value '
                "continued from the line above is indented further than its key")
    if problem.startswith(_NO_MAPPING_HERE):
        here = lines[mark.line] if mark.line < len(lines) else ""
        start = len(here) - len(here.lstrip(" "))
        if ": " in here[start:mark.column] or here[start:mark.column].endswith(":"):
            return (mark.line + 1, mark.column + 1,
                    'a value with ": " in it needs quotes, like "a: b"')
        for i in range(mark.line - 1, -1, -1):  # the line above: "-name:" lacks its space
            above = lines[i].lstrip(" ")
            if above and not above.startswith("#"):
                if above.startswith("-") and above[1:2] not in ("", " "):
                    return (i + 1, len(lines[i]) - len(above) + 1,
                            'a list item needs a space after "-": write "- ' + above[1:] + '"')
                break
        line, col = mark.line, start
    elif problem.startswith(_MISALIGNED):
        line, col = mark.line, mark.column
    else:
        return None
    here = lines[line][col:] if line < len(lines) else ""
    item = here.startswith("- ") or here == "-"
    what, whose = ("list item", 'the "- " of one list') if item else ("key", "the keys of one mapping")
    above = [(n, c) for n, c, dash in _lines_above(lines, line) if dash == item]
    if not above:
        return (line + 1, col + 1, f"wrong indentation: this {what} lines up with no line above "
                                   f"it; {whose} line up in one column")
    # The nearest column (on a tie, the nearest line): the block this line was meant for.
    n, c = min(above, key=lambda a: (abs(a[1] - (col + 1)), -a[0]))
    return (line + 1, col + 1, f"wrong indentation: this {what} starts at column {col + 1}, the "
                               f"{what} above it at column {c} (line {n}); {whose} line up in "
                               "one column")
