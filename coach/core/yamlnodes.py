"""Helpers for reading user YAML as composed nodes (never constructed objects), with line/col.

Shared by the program loader and the config loader: scalars are read as written, every mistake
becomes a Diagnostic, and a walk keeps going after an error so a file's mistakes come out at once.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from coach.core.errors import CoachError, Diagnostic
from coach.core.nearmiss import did_you_mean
from coach.core.yamlerrors import TooDeep, yaml_error

logger = logging.getLogger(__name__)

MAX_DEPTH = 64  # nesting levels, aliases expanded; a program needs about 5
MAX_NODES = 1_000_000  # values once aliases are expanded (an alias bomb blows far past this)

_STD = "tag:yaml.org,2002:"
# Tags PyYAML's resolver gives plain YAML, plus the same ones written explicitly (!!str ...).
# Anything else (!!python/..., !custom, !!binary, !!set) is refused: programs are plain data.
ALLOWED_TAGS = frozenset(_STD + t for t in
                         ("str", "int", "float", "bool", "null", "timestamp", "merge", "value",
                          "seq", "map"))
MERGE_TAG = _STD + "merge"
NULL_TAG = _STD + "null"


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses deep nesting before Python's recursion limit does."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise TooDeep(
                    None, None, f"values are nested deeper than {MAX_DEPTH} levels",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def where(node: Node) -> tuple[int, int]:
    """1-based (line, col) of a node's start."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def quote(text: str, limit: int = 40) -> str:
    """A value as shown in a message: double-quoted, escaped, shortened."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    # json escapes \n, \r and control characters; these also break lines in some viewers.
    return json.dumps(text, ensure_ascii=False).translate(_LINE_SEPARATORS)


_LINE_SEPARATORS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def describe(node: Node) -> str:
    """What a user wrote, for "got ..." in a message."""
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    if is_null(node):  # empty, ~ or null: YAML's "no value"
        return "nothing"
    return quote(node.value)


def tag_name(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag


# ---- text parsers (pure, raise ValueError) -------------------------------------------------

_NUM = r"(?:\d{1,9}(?:\.\d{0,6})?|\.\d{1,6})"
_UNITS = re.compile(
    rf"^(?:(?P<h>{_NUM})\s*h)?\s*(?:(?P<m>{_NUM})\s*(?:m|min)(?![a-z]))?\s*"
    rf"(?:(?P<s>{_NUM})\s*(?:s|sec)(?![a-z]))?\s*(?:(?P<ms>{_NUM})\s*ms)?$", re.IGNORECASE)
_BARE = re.compile(rf"^{_NUM}$")
_CLOCK = re.compile(r"^(?:(?P<h>\d{1,4}):)?(?P<m>\d{1,4}):(?P<s>[0-5]\d(?:\.\d{1,6})?)$")
_INT = re.compile(r"^[+-]?\d{1,12}$")
_FLOAT = re.compile(r"^[+-]?(?:\d{1,12}(?:\.\d{0,9})?|\.\d{1,9})$")
_TRUE = frozenset(("true", "yes", "on"))
_FALSE = frozenset(("false", "no", "off"))
BOOL_WORDS = _TRUE | _FALSE

# The same forms as JSON Schema (ECMA-262) patterns for coach.core.schema: no flags, no named
# groups, ASCII digits. tests/test_schema.py checks they accept exactly what the parsers do.
_E_NUM = r"(?:[0-9]{1,9}(?:\.[0-9]{0,6})?|\.[0-9]{1,6})"
_E_UNITS = (rf"(?=[\s\S]*[0-9])(?:{_E_NUM}\s*[hH])?\s*"
            rf"(?:{_E_NUM}\s*(?:[mM][iI][nN]|[mM])(?![a-zA-Z]))?\s*"
            rf"(?:{_E_NUM}\s*(?:[sS][eE][cC]|[sS])(?![a-zA-Z]))?\s*(?:{_E_NUM}\s*[mM][sS])?")
_E_CLOCK = (r"(?:[0-9]{1,4}:(?:0{0,3}[0-9]|0{0,2}[1-5][0-9])|[0-9]{1,4})"
            r":[0-5][0-9](?:\.[0-9]{1,6})?")
DURATION_PATTERN = rf"^\s*(?:{_E_NUM}|{_E_CLOCK}|{_E_UNITS})\s*$"
INT_PATTERN = r"^\s*[+-]?[0-9]{1,12}\s*$"
NUMBER_PATTERN = r"^\s*[+-]?(?:[0-9]{1,12}(?:\.[0-9]{0,9})?|\.[0-9]{1,9})\s*$"


def _to_ms(seconds: Decimal) -> int:
    return int((seconds * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_duration_ms(text: str) -> int:
    """'45s' '2m' '1m30s' '1.5s' '500ms' '1h' '90' (seconds) '1:30' '1:02:03' -> milliseconds.

    Raises ValueError for anything else (including negatives). Minutes/seconds may overflow
    their unit ('1m70s' is 130 s) except in the clock forms, where SS must be 00-59.
    """
    t = text.strip()
    if not t:
        raise ValueError("empty duration")
    if _BARE.match(t):
        return _to_ms(Decimal(t))
    m = _CLOCK.match(t)
    if m and (m["h"] is None or int(m["m"]) < 60):
        secs = Decimal(m["s"]) + 60 * int(m["m"]) + 3600 * int(m["h"] or 0)
        return _to_ms(secs)
    m = _UNITS.match(t)
    if m and any(m.groupdict().values()):
        g = {k: Decimal(v) if v else Decimal(0) for k, v in m.groupdict().items()}
        return _to_ms(g["h"] * 3600 + g["m"] * 60 + g["s"] + g["ms"] / 1000)
    raise ValueError(f"not a duration: {text!r}")


def format_duration(ms: int) -> str:
    """Milliseconds as the shortest duration text a user would write: 600000 -> '10m'."""
    if ms and ms % 60_000 == 0:
        return f"{ms // 60_000}m"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{Decimal(ms) / 1000}s"


def parse_int(text: str) -> int:
    """A whole number as written ('8', '+8'); no floats, bools, octal or hex tricks."""
    t = text.strip()
    if not _INT.match(t):
        raise ValueError(f"not a whole number: {text!r}")
    return int(t, 10)


def parse_number(text: str) -> float:
    t = text.strip()
    if not _FLOAT.match(t):
        raise ValueError(f"not a number: {text!r}")
    return float(t)


def parse_bool(text: str) -> bool:
    """YAML 1.1 booleans as written: true/false, yes/no, on/off (any case)."""
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r}")


# ---- composing ---------------------------------------------------------------------------


def compose(text: str, path: str) -> Node | None:
    """The single document of ``text`` as a node tree, or None when it holds no document.

    Raises CoachError for syntax errors, several documents, disallowed tags, nesting deeper
    than MAX_DEPTH, recursive aliases and alias bombs (more than MAX_NODES expanded values).
    """
    loader = None
    try:
        loader = _LimitedLoader(text)  # its reader already rejects control characters
        root = loader.get_single_node()
    except yaml.YAMLError as e:
        raise yaml_error(path, text, e) from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is not None:
        _check_tree(root, path)
    return root


def _check_tree(root: Node, path: str) -> None:
    """Tags, depth and expanded size of a composed tree; aliases make it a DAG (or a cycle)."""
    memo: dict[int, tuple[int, int]] = {}  # id -> (expanded size, height)
    active: set[int] = set()
    diags: list[Diagnostic] = []

    def fail(node: Node, msg: str) -> CoachError:
        return CoachError(diags + [Diagnostic(path, *where(node), msg)])

    def visit(node: Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in active:
            raise fail(node, "an alias refers to a value that contains it (recursive alias)")
        if key in memo:
            size, height = memo[key]
        else:
            if node.tag not in ALLOWED_TAGS:
                diags.append(Diagnostic(path, *where(node),
                                        f'tag "{tag_name(node.tag)}" is not allowed; '
                                        "write plain values"))
            active.add(key)
            size, height = 1, 0
            if isinstance(node, SequenceNode):
                children: list[Node] = list(node.value)
            elif isinstance(node, MappingNode):
                children = [n for pair in node.value for n in pair]
            else:
                children = []
            for child in children:
                s, h = visit(child, depth + 1)
                size += s
                height = max(height, h + 1)
                if size > MAX_NODES:
                    break
            active.discard(key)
            memo[key] = (size, height)
        if depth + height > MAX_DEPTH:
            raise fail(node, f"values are nested deeper than {MAX_DEPTH} levels (aliases expanded)")
        if size > MAX_NODES and depth == 0:
            raise fail(_blowup(root, memo), f"aliases expand to more than {MAX_NODES} values")
        return size, height

    visit(root, 0)
    if diags:
        raise CoachError(diags)


def _blowup(node: Node, memo: dict[int, tuple[int, int]]) -> Node:
    """The smallest node whose expansion is too big: where the alias bomb is."""
    while True:
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            return node
        big = [c for c in children if memo.get(id(c), (0, 0))[0] > MAX_NODES]
        if not big:
            return node
        node = big[0]


# ---- a reader that collects diagnostics --------------------------------------------------


class NodeReader:
    """Typed reads from nodes; each mistake is recorded (not raised) and the read returns None."""

    def __init__(self, path: str):
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    # recording
    def error(self, node: Node, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.path, *where(node), message))

    def raise_if_any(self) -> None:
        if self.diagnostics:
            # A mapping merged (<<) in several places would repeat its own mistakes.
            unique = list(dict.fromkeys(self.diagnostics))
            raise CoachError(sorted(unique, key=lambda d: (d.line, d.col)))

    # structure
    def mapping(self, node: Node, what: str) -> list[tuple[str, Node, Node]] | None:
        """(key, key node, value node) of a mapping, merges (<<) applied, duplicates reported."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping (key: value lines), got {describe(node)}")
            return None
        out: dict[str, tuple[str, Node, Node]] = {}
        merged: dict[str, tuple[str, Node, Node]] = {}
        for knode, vnode in node.value:
            if knode.tag == MERGE_TAG:
                for k, kn, vn in self._merge(vnode, what, set()):
                    merged.setdefault(k, (k, kn, vn))
                continue
            if not isinstance(knode, ScalarNode):
                self.error(knode, f"keys in {what} must be plain names, got {describe(knode)}")
                continue
            key = knode.value
            if key in out:
                first = out[key][1].start_mark.line + 1
                self.error(knode, f"duplicate key {quote(key)} in {what} (first at line {first})")
                continue
            out[key] = (key, knode, vnode)
        for k, item in merged.items():
            out.setdefault(k, item)
        return list(out.values())

    def _merge(self, vnode: Node, what: str, seen: set[int]) -> list[tuple[str, Node, Node]]:
        # YAML 1.1 merge key: `<<: *base` or `<<: [*a, *b]` (earlier ones win).
        if id(vnode) in seen:
            return []
        seen.add(id(vnode))
        sources = vnode.value if isinstance(vnode, SequenceNode) else [vnode]
        items: list[tuple[str, Node, Node]] = []
        for src in sources:
            if not isinstance(src, MappingNode):
                self.error(src, f"<< in {what} must merge a mapping, got {describe(src)}")
                continue
            items.extend(self.mapping(src, what) or [])
        return items

    def known_keys(self, items: list[tuple[str, Node, Node]], allowed: Sequence[str],
                   where_text: str, hints: Mapping[str, str] | None = None) -> dict[str, Node]:
        """key -> value node for allowed keys; an unknown key is an error at the key.
        ``hints``: other words for allowed keys ("weight" -> "load"), suggested first."""
        found: dict[str, Node] = {}
        for key, knode, vnode in items:
            if key in allowed:
                found[key] = vnode
                continue
            self.error(knode, f"unknown key {quote(key)} {where_text}"
                              f"{did_you_mean(key, allowed, hints)}")
        return found

    def sequence(self, node: Node, field: str, *, non_empty: bool = True) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.error(node, f"{field} must be a list, got {describe(node)}")
            return None
        if non_empty and not node.value:
            self.error(node, f"{field} must not be an empty list")
            return None
        return list(node.value)

    # scalars
    def _scalar(self, node: Node, field: str, expected: str) -> str | None:
        if not isinstance(node, ScalarNode):
            self.error(node, f"{field} must be {expected}, got {describe(node)}")
            return None
        return node.value

    def text(self, node: Node, field: str) -> str | None:
        """A non-empty string, as written (stripped)."""
        raw = self._scalar(node, field, "text")
        if raw is None:
            return None
        value = raw.strip()
        if not value or is_null(node):
            self.error(node, f"{field} must not be empty")
            return None
        return value

    def integer(self, node: Node, field: str, lo: int, hi: int) -> int | None:
        expected = f"a whole number between {lo} and {hi}"
        raw = self._scalar(node, field, expected)
        if raw is None:
            return None
        try:
            value = parse_int(raw)
        except ValueError:
            self.error(node, f"{field} must be {expected}, got {describe(node)}")
            return None
        if not lo <= value <= hi:
            self.error(node, f"{field} must be between {lo} and {hi}, got {raw.strip()}")
            return None
        return value

    def number(self, node: Node, field: str, lo: float, hi: float) -> float | None:
        expected = f"a number between {lo:g} and {hi:g}"
        raw = self._scalar(node, field, expected)
        if raw is None:
            return None
        try:
            value = parse_number(raw)
        except ValueError:
            self.error(node, f"{field} must be {expected}, got {describe(node)}")
            return None
        if not lo <= value <= hi:
            self.error(node, f"{field} must be between {lo:g} and {hi:g}, got {raw.strip()}")
            return None
        return value

    def boolean(self, node: Node, field: str) -> bool | None:
        expected = "true or false (yes/no, on/off)"
        raw = self._scalar(node, field, expected)
        if raw is None:
            return None
        try:
            return parse_bool(raw)
        except ValueError:
            self.error(node, f"{field} must be {expected}, got {describe(node)}")
            return None

    def duration_ms(self, node: Node, field: str, lo_ms: int, hi_ms: int) -> int | None:
        span = f"between {format_duration(lo_ms)} and {format_duration(hi_ms)}"
        expected = f"a duration like 45s, 2m, 1m30s or 1:30 ({span})"
        raw = self._scalar(node, field, expected)
        if raw is None:
            return None
        try:
            value = parse_duration_ms(raw)
        except ValueError:
            self.error(node, f"{field} must be {expected}, got {describe(node)}")
            return None
        if not lo_ms <= value <= hi_ms:
            self.error(node, f"{field} must be {span}, got {quote(raw.strip())}")
            return None
        return value

    def choice(self, node: Node, field: str, choices: Sequence[str]) -> str | None:
        options = ", ".join(choices)
        raw = self._scalar(node, field, f"one of {options}")
        if raw is None:
            return None
        value = raw.strip()
        if value not in choices:
            self.error(node, f"{field} must be one of {options}, got {describe(node)}"
                             f"{did_you_mean(value, choices)}")
            return None
        return value
