"""The folders are the layers: coach/core is pure and imports neither audio nor daemon code;
coach/audio never imports daemon code; coach/report (history views, pictures) may read core and
history records, and only the CLI imports it; coach/files.py (atomic writes) is a leaf any layer
but the pure core may use. Read from the source (every import, also inside functions), so a lazy
import cannot hide a wrong direction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "coach"
FORBIDDEN = {
    "core": ("coach.audio", "coach.daemon", "coach.report", "coach.cli", "coach.files"),
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


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(layer: str) -> None:
    files = sorted((PKG / layer).rglob("*.py"))
    assert files, f"coach/{layer}/ is empty"
    bad = [f"{f.relative_to(PKG.parent)}:{line}: imports {mod}"
           for f in files for line, mod in imports(f)
           if any(mod == x or mod.startswith(x + ".") for x in FORBIDDEN[layer])]
    assert not bad, "\n".join(bad)


def test_core_is_pure() -> None:
    bad = [f"{f.relative_to(PKG.parent)}:{line}: imports {mod}"
           for f in sorted((PKG / "core").rglob("*.py")) for line, mod in imports(f)
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


def test_files_is_a_leaf() -> None:
    # Every layer but the core may use coach/files.py, so it uses none of them.
    f = PKG / "files.py"
    bad = [f"coach/files.py:{line}: imports {mod}" for line, mod in imports(f)
           if mod == "coach" or mod.startswith("coach.")]
    assert not bad, "\n".join(bad)


def test_no_module_left_at_the_top() -> None:
    # Only the face, and the leaf helper for atomic writes, live beside the layers.
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert top == ["__init__.py", "cli.py", "files.py"], top
