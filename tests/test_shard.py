"""test.sh's shards (tests/support/shard.py): disjoint, covering the pass, a `one_shard` module
whole in one shard, and the long tests spread so that no shard waits on another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import shard

pytest_plugins = ["pytester"]

SUITE = {
    "test_long.py": "def test_two_minutes(): pass\ndef test_short(): pass\n",
    "test_scenario.py": (
        "import pytest\npytestmark = pytest.mark.one_shard\n"
        "def test_builds_it(): pass\ndef test_a(): pass\ndef test_b(): pass\n"),
    "test_many.py": "".join(f"def test_{i}(): pass\n" for i in range(9)),
}
SECONDS = {
    "test_long.py::test_two_minutes": 135.0,
    "test_long.py::test_short": 6.5,
    "test_scenario.py::test_builds_it": 46.0, "test_scenario.py::test_a": 0.1,
    **{f"test_many.py::test_{i}": 10.0 + i for i in range(9)},
}  # test_scenario.py::test_b is new: it counts as the median


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(**{name[:-3]: text for name, text in SUITE.items()})
    pytester.makeini("[pytest]\nmarkers =\n  one_shard: a module's scenario\n")
    return pytester


@pytest.fixture
def shards(suite: pytest.Pytester) -> list[list[str]]:
    """The suite's node ids in each of 3 shards, as the plugin deals them."""
    items, _ = suite.inline_genitems()
    dealt = shard.deal(items, SECONDS, 3)
    return [[i.nodeid for i, s in zip(items, dealt, strict=True) if s == k] for k in range(3)]


def test_the_shards_cover_the_pass_once_a_one_shard_module_whole(shards: list[list[str]]) -> None:
    everything = [i for s in shards for i in s]
    assert len(everything) == len(set(everything)) == 14
    holding = [s for s in shards if any(i.startswith("test_scenario.py") for i in s)]
    assert len(holding) == 1 and sum(i.startswith("test_scenario.py") for i in holding[0]) == 3


def test_the_longest_test_gets_a_shard_to_itself(shards: list[list[str]]) -> None:
    median = sorted(SECONDS.values())[len(SECONDS) // 2]
    loads = [sum(SECONDS.get(i, median) for i in s) for s in shards]
    assert ["test_long.py::test_two_minutes"] in shards
    # 328 s in all: the 2-minute test's shard holds nothing else and is the longest, the others
    # are within a test of each other (96.1 and 96.5 s: dealt longest first).
    assert sorted(round(x, 1) for x in loads) == [96.1, 96.5, 135.0]


def test_a_shard_process_runs_its_shard_only(suite: pytest.Pytester,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    durations = suite.path / "durations.json"
    durations.write_text(json.dumps(SECONDS))
    monkeypatch.setattr(shard, "DURATIONS", durations)
    result = suite.runpytest_inprocess("-p", "tests.support.shard", "--shard=2/3")
    result.assert_outcomes(passed=6, deselected=8)


def test_the_first_shard_names_the_tests_the_durations_file_lacks(
        suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    durations = suite.path / "durations.json"
    durations.write_text(json.dumps(SECONDS))
    monkeypatch.setattr(shard, "DURATIONS", durations)
    first = suite.runpytest_inprocess("-p", "tests.support.shard", "--shard=1/3")
    first.stdout.fnmatch_lines(["shard: 1 test not in durations.json, dealt as the median "
                                "(test_scenario.py::test_b...): `COACH_SAVE_DURATIONS=1 "
                                "./test.sh` records them"])
    second = suite.runpytest_inprocess("-p", "tests.support.shard", "--shard=2/3")
    assert "not in durations.json" not in second.stdout.str()


def test_a_bad_shard_is_a_usage_error(suite: pytest.Pytester) -> None:
    result = suite.runpytest_inprocess("-p", "tests.support.shard", "--shard=4/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--shard 4/3: want K/N with 1 <= K <= N*"])


def test_the_durations_file_records_each_test_by_its_node_id(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        '<testsuites><testsuite><testcase classname="tests.e2e.test_run" '
        'name="test_two_minutes[pulse]" time="134.812"/></testsuite></testsuites>')
    assert shard.record([report]) == {"tests/e2e/test_run.py::test_two_minutes[pulse]": 134.81}
