"""A pytest plugin that runs one of N shards of about equal time (`-p tests.support.shard
--shard K/N`): test.sh runs the real-time tests as N such processes side by side.

Why not xdist: its loadfile and loadscope hand out whole modules, and in collection order or by
their number of tests, so the real-time pass's longest test (a 2-minute `coach run`, 135 s of
the pass's 520) was handed out late and was the run's tail: 305 s on 2 workers, 285 s on 3,
where 173 s were possible. Its loadgroup, which could keep a module together while sharing out
the rest test by test, does not group under pytest 9 (xdist 3.8 renames `item._nodeid`, which
pytest 9 no longer reads), and pytest-split shares out test by test only, which would build
test_systemd's 46-s module-scoped scenario once per shard.

So: a work unit is a test, or a whole module where the module is marked `one_shard` (its tests
share a module-scoped scenario); units are dealt longest first to the shard with the least time
so far (Graham's LPT), from the seconds a run recorded in tests/durations.json. Every shard
process collects the same tests and deals them the same way, so the shards are disjoint and
cover the pass. A test the file does not know counts as the median of those it does.
`python -m tests.support.shard REPORT.xml...` writes the file from JUnit XML reports (test.sh
does with COACH_SAVE_DURATIONS=1).
"""

from __future__ import annotations

import heapq
import json
import statistics
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DURATIONS = Path(__file__).resolve().parent.parent / "durations.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--shard", metavar="K/N", default=None,
                     help="run only shard K (1..N) of N shards of about equal time")


def _unit(item: pytest.Item) -> str:
    if item.get_closest_marker("one_shard") is not None:
        return item.nodeid.split("::", 1)[0]
    return item.nodeid


def deal(items: list[pytest.Item], seconds: dict[str, float], shards: int) -> list[int]:
    """The shard (0..shards-1) of each item: units longest first, each to the least loaded."""
    default = statistics.median(seconds.values()) if seconds else 1.0
    total: dict[str, float] = {}
    for item in items:
        unit = _unit(item)
        total[unit] = total.get(unit, 0.0) + seconds.get(item.nodeid, default)
    # Ties by the unit's name: every shard process must deal the same way.
    loads = [(0.0, k) for k in range(shards)]
    shard_of: dict[str, int] = {}
    for unit in sorted(total, key=lambda u: (-total[u], u)):
        load, k = heapq.heappop(loads)
        shard_of[unit] = k
        heapq.heappush(loads, (load + total[unit], k))
    return [shard_of[_unit(item)] for item in items]


@pytest.hookimpl(trylast=True)  # after `-m` and `-k` have deselected theirs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    spec = config.getoption("--shard")
    if not spec:
        return
    try:
        k, n = (int(x) for x in str(spec).split("/"))
        if not 1 <= k <= n:
            raise ValueError
    except ValueError:
        raise pytest.UsageError(f"--shard {spec}: want K/N with 1 <= K <= N") from None
    try:
        seconds = {str(key): float(v) for key, v in json.loads(DURATIONS.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        seconds = {}
    shard = deal(items, seconds, n)
    unknown = [item.nodeid for item in items if item.nodeid not in seconds]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if unknown and k == 1 and reporter is not None:  # said once, by the first shard
        # Dealt as the median, tests longer than it leave the shards uneven: 9 such in session
        # 17 had CI's shards at 270, 207 and 207 s, 230 s each once recorded.
        reporter.write_line(
            f"shard: {len(unknown)} test{'s' if len(unknown) != 1 else ''} not in "
            f"{DURATIONS.name}, dealt as the median ({unknown[0]}...): "
            "`COACH_SAVE_DURATIONS=1 ./test.sh` records them")
    keep = [item for item, s in zip(items, shard, strict=True) if s == k - 1]
    drop = [item for item, s in zip(items, shard, strict=True) if s != k - 1]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


def record(reports: list[Path]) -> dict[str, float]:
    """Seconds per node id (setup, call and teardown) from JUnit XML reports."""
    seconds: dict[str, float] = {}
    for report in reports:
        for case in ET.parse(report).getroot().iter("testcase"):
            module = case.get("classname", "").replace(".", "/") + ".py"
            seconds[f"{module}::{case.get('name')}"] = round(float(case.get("time", 0)), 2)
    return dict(sorted(seconds.items()))


if __name__ == "__main__":
    recorded = record([Path(a) for a in sys.argv[1:] if Path(a).is_file()])
    DURATIONS.write_text(json.dumps(recorded, indent=0) + "\n")
    print(f"{DURATIONS}: {len(recorded)} tests, {sum(recorded.values()):.0f} s")
