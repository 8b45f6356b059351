"""The duck plan in whole steps, as the ducker schedules it: the step at each frame and where
it next changes, worked out per interval (coach.core.duckplan.Steps), agree with the plan's
own gain at every frame."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coach.core.duckplan import DuckPlan, Steps


@st.composite
def plans(draw) -> tuple[DuckPlan, int]:
    down = draw(st.integers(0, 400))
    up = draw(st.integers(0, 400))
    t = draw(st.integers(-500, 500))
    starts, ends = [], []
    for _ in range(draw(st.integers(1, 4))):
        length = draw(st.integers(1, 1500))
        starts.append(t)
        ends.append(t + length)
        t += length + draw(st.integers(1, 600))
    return DuckPlan(48000, tuple(starts), tuple(ends), down, up), draw(st.integers(1, 8))


@settings(max_examples=150, deadline=None)
@given(plans())
def test_steps_agree_with_the_plan_at_every_frame(drawn) -> None:
    plan, n = drawn
    steps = Steps(plan, n)
    lo, hi = plan.starts[0] - 50, plan.ends[-1] + 50
    truth = [plan.step(f, n) for f in range(lo, hi)]
    # first[kk][i]: the first frame after lo + i more than kk down (None: none before hi)
    first: list[list[int | None]] = []
    for kk in range(n + 1):
        row: list[int | None] = [None] * len(truth)
        nxt: int | None = None
        for i in range(len(truth) - 1, -1, -1):
            row[i] = nxt
            if truth[i] > kk:
                nxt = lo + i
        first.append(row)
    change: list[int | None] = [None] * len(truth)  # the first frame after with another step
    for i in range(len(truth) - 2, -1, -1):
        change[i] = lo + i + 1 if truth[i + 1] != truth[i] else change[i + 1]
    for f in range(lo, hi):
        k, nxt = steps.at(f)
        assert k == truth[f - lo], (f, k)
        # The next change: every frame before it has the same step, and (unless it is only a
        # frame to ask again at, never one past the change) it differs there.
        assert nxt is None or nxt > f
        assert nxt == change[f - lo] or (change[f - lo] is None and nxt is not None
                                         and nxt >= hi - 50), (f, nxt)
        for kk in range(k, n + 1):  # (asked only where the step is at most kk)
            assert steps.next_deeper(f, kk) == first[kk][f - lo], (f, kk)
