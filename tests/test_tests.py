"""The tests' own layout: no test module imports another test module or a conftest, and nothing
under tests/ is imported other than as tests.x. What tests share lives in tests/support
(``from tests.support.x import ...``); fixtures come from the conftest.py files, which pytest
loads itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def imported(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path`` (also inside functions), relative
    ones resolved from ``package``; ``from m import a`` gives both m and m.a."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                parts = package.split(".")
                mod = ".".join(parts[: len(parts) - node.level + 1] + ([mod] if mod else []))
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return out


# Every module and folder name under tests/: reached other than as tests.x, it was found on a
# sys.path entry inside tests/ (the old `from audio_env import ...`), a second way to import it.
LOCAL_NAMES = {p.stem for p in TESTS.rglob("*.py")} | {p.name for p in TESTS.rglob("*") if p.is_dir()}


def is_test_module(mod: str) -> bool:
    """A test module (test_*.py, however it is reached) or a conftest."""
    return any(part.startswith("test_") or part == "conftest" for part in mod.split("."))


def wrong_imports(path: Path, package: str) -> list[str]:
    return [f"{path.name}:{line}: imports {mod}" for line, mod in imported(path, package)
            if is_test_module(mod) or mod.split(".")[0] in LOCAL_NAMES]


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(TESTS.parent).parent.parts)


def test_no_test_module_imports_another_or_a_conftest() -> None:
    files = sorted(TESTS.rglob("*.py"))
    assert len([f for f in files if f.name.startswith("test_")]) >= 30
    bad = [f"{f.relative_to(TESTS.parent)}: {b}" for f in files
           for b in wrong_imports(f, package_of(f))]
    assert not bad, "\n".join(bad)


def test_every_test_folder_is_a_package() -> None:
    # One way to import: tests/ and each folder under it are packages, so a test module is
    # tests.<layer>.test_x and tests/support is reached as tests.support.
    for d in [TESTS, *(p for p in TESTS.iterdir() if p.is_dir() and p.name != "__pycache__")]:
        assert (d / "__init__.py").is_file(), d


@pytest.mark.parametrize("line", [
    "from test_session import Rig",
    "from tests.daemon.test_session import Rig",
    "import tests.core.test_program",
    "from tests.core import test_program",
    "from ..core.test_program import BAD",
    "from conftest import need",
    "from tests.conftest import need",
    "def f():\n    from test_cli import coach",
    "def f():\n    from coachd import Coachd",
    "from support.rig import Rig",
])
def test_the_check_sees_a_test_module_imported(tmp_path: Path, line: str) -> None:
    # The rule must be able to fail: a probe in tmp_path, read as a module of tests/daemon.
    probe = tmp_path / "test_probe.py"
    probe.write_text(line + "\n")
    assert wrong_imports(probe, "tests.daemon"), line


def test_the_check_lets_support_and_coach_through(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text("import pytest\nfrom tests.support.rig import Rig\nfrom coach.cli import main\n"
                     "from ..support import real\n")
    assert wrong_imports(probe, "tests.daemon") == []


def test_every_end_to_end_module_is_in_the_slow_tier() -> None:
    # tests/e2e is real processes (seconds each): `pytest -m "not slow"` must leave all of it.
    def marked_slow(path: Path) -> bool:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
                return "mark.slow" in ast.unparse(node.value)
        return False

    modules = sorted((TESTS / "e2e").glob("test_*.py"))
    assert modules and [m.name for m in modules if not marked_slow(m)] == []
