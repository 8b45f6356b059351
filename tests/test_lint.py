"""Types and lint are part of the test command (so `.ci/run`, which runs exactly the README's
test command, runs them too): mypy over the package, ruff over package, tests and benches."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.support.real import ROOT, need


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    need(importlib.util.find_spec(module) is not None, f"{module} (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow  # several seconds on a cold cache
def test_mypy_finds_no_type_errors() -> None:
    r = _run("mypy")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_finds_nothing() -> None:
    r = _run("ruff", "check", "coach", "tests", "bench")
    assert r.returncode == 0, r.stdout + r.stderr
