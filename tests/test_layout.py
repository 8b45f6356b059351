"""The layout a newcomer reads (issue 17): no module over 500 lines, the wire's `"cmd":` spelled
only by the codec, and every request, reply and status a dataclass with typed fields (no
``dict[str, Any]`` or bare ``Any`` in the seam)."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from coach.protocol import messages
from coach.protocol.codec import COMMANDS
from tests.support.real import ROOT

PKG = ROOT / "coach"
MAX_LINES = 500


def modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def too_long(paths: list[Path], root: Path = ROOT) -> list[str]:
    return [f"{p.relative_to(root)}: {n} lines" for p in paths
            if (n := len(p.read_text().splitlines())) > MAX_LINES]


def test_no_module_over_500_lines() -> None:
    assert not too_long(modules())


def test_the_length_rule_can_fail(tmp_path: Path) -> None:
    long = tmp_path / "long.py"
    long.write_text("x = 1\n" * (MAX_LINES + 1))
    assert [line.rsplit(": ", 1)[1] for line in too_long([long], tmp_path)] == [
        f"{MAX_LINES + 1} lines"]


WIRE_VERB = re.compile(r"""["']cmd["']\s*:""")


def test_only_the_codec_spells_the_wire_verb() -> None:
    found = [f"{p.relative_to(ROOT)}:{i}" for p in modules()
             for i, line in enumerate(p.read_text().splitlines(), 1) if WIRE_VERB.search(line)]
    assert found and all(f.startswith("coach/protocol/codec.py:") for f in found), found


def seam_types() -> list[type]:
    reqs = list(COMMANDS.values())
    replies = list(typing.get_args(messages.Reply))
    nested = [messages.Interrupted, messages.ProgramInfo]
    return [*reqs, *replies, *nested]


def loose_fields(cls: type) -> list[str]:
    hints = typing.get_type_hints(cls)
    return [f"{cls.__name__}.{f.name}: {hints[f.name]}" for f in dataclasses.fields(cls)
            if re.search(r"\bAny\b", str(hints[f.name]))]


@pytest.mark.parametrize("cls", seam_types(), ids=lambda c: c.__name__)
def test_every_message_is_a_dataclass_with_typed_fields(cls: type) -> None:
    assert dataclasses.is_dataclass(cls)
    assert not loose_fields(cls)


def test_the_typed_field_rule_can_fail() -> None:
    @dataclasses.dataclass
    class Loose:
        extra: dict[str, typing.Any]

    assert loose_fields(Loose) == ["Loose.extra: dict[str, typing.Any]"]
