"""The folders are the layers: coach/core is pure and imports neither audio nor daemon code;
coach/audio never imports daemon code; coach/report (history views, pictures) may read core and
history records, and only the CLI imports it. Read from the source (every import, also inside
functions), so a lazy import cannot hide a wrong direction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "coach"
FORBIDDEN = {
    "core": ("coach.audio", "coach.daemon", "coach.report", "coach.cli"),
    "audio": ("coach.daemon", "coach.report", "coach.cli"),
    "daemon": ("coach.report", "coach.cli"),
    # Reports read core and history records; only the face imports them.
    "report": ("coach.cli",),
}
# The core is pure: no clock, no threads, no sound, no sockets.
CORE_FORBIDDEN_STDLIB = ("threading", "socket", "sounddevice", "time", "subprocess", "sqlite3")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(PKG.parent).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return out


def layer_files(layer: str) -> list[Path]:
    """Every module of ``coach/<layer>/``, its subpackages' too (coach/core/program/...)."""
    return sorted((PKG / layer).rglob("*.py"))


def wrong_imports(layer: str) -> list[str]:
    return [f"{f.relative_to(PKG.parent)}:{line}: imports {mod}"
            for f in layer_files(layer) for line, mod in imports(f)
            if any(mod == x or mod.startswith(x + ".") for x in FORBIDDEN[layer])]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(layer: str) -> None:
    assert layer_files(layer), f"coach/{layer}/ is empty"
    bad = wrong_imports(layer)
    assert not bad, "\n".join(bad)


def test_core_is_pure() -> None:
    bad = [f"{f.relative_to(PKG.parent)}:{line}: imports {mod}"
           for f in layer_files("core") for line, mod in imports(f)
           if mod.split(".")[0] in CORE_FORBIDDEN_STDLIB]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    # The rule must be able to fail: a core module importing the player is caught.
    f = PKG / "core" / "_probe_wrong_import.py"
    f.write_text("def f():\n    from ..audio.player import Player\n    return Player\n")
    try:
        found = [mod for _, mod in imports(f)]
    finally:
        f.unlink()
    assert "coach.audio.player" in found


def test_the_checker_walks_subpackages() -> None:
    # A wrong import in a subpackage of a layer (coach/core/program/) is caught too, its
    # relative import resolved from the subpackage.
    assert PKG / "core" / "program" / "walker.py" in layer_files("core")
    f = PKG / "core" / "program" / "_probe_wrong_import.py"
    f.write_text("def f():\n    from ...audio.player import Player\n    return Player\n")
    try:
        bad = wrong_imports("core")
    finally:
        f.unlink()
    assert bad == ["coach/core/program/_probe_wrong_import.py:2: imports coach.audio.player",
                   "coach/core/program/_probe_wrong_import.py:2: imports coach.audio.player.Player"]


def test_no_module_left_at_the_top() -> None:
    # Only the face lives beside the three layers.
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert top == ["__init__.py", "cli.py"], top
