"""`coach history --plot` reads at a glance: one panel per program and exercise, dates on a date
axis of the sessions drawn (a session stopped while preparing draws nothing), whole-rep and
whole-second ticks, left and right in two colours even when they agree, and the load on its own
axis. Real SQLite histories, the real matplotlib figure (its axes, lines and tick labels) and the
PNG it writes, read back as pixels."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.dates import num2date
from matplotlib.figure import Figure
from matplotlib.image import imread

from coach.cli import main
from coach.core.records import SessionRecord, SetRecord
from coach.report import plots, views
from coach.store.history import History

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
BSS = "Bulgarian split squat"
LAST_DONE = T0 + timedelta(days=10)  # the newest session with sets in it
STOPPED = T0 + timedelta(days=13)  # two sessions stopped while preparing


def record(h: History, program: str, when: datetime,
           exercises: list[tuple[str, int | None, int | None, str | None, dict[str, int]]],
           ) -> None:
    """One finished session: per exercise (name, reps, hold_ms, side, {side: feel}), one set
    done, rated per side as given."""
    s = h.start_session(program, f"/p/{program}.yaml", when)
    for i, (name, reps, hold_ms, side, feel) in enumerate(exercises):
        h.record_used(s, i, name, reps, hold_ms, 1)
        x = h.start_set(s, name, i, 1, 1, side, i * 60_000, when)
        h.end_set(x, "completed", when)
        for rated_side, value in feel.items():
            h.rate(s, x, name, i, 1, None if rated_side == "both" else rated_side, "feel",
                   value, when)
    h.end_session(s, "completed", when + timedelta(minutes=30))


def stopped_while_preparing(h: History, program: str, when: datetime,
                            exercises: list[tuple[str, int | None, int | None]]) -> None:
    """What the daemon writes for a start stopped before its clips were ready: the session and
    the values it would use, no set."""
    s = h.start_session(program, f"/p/{program}.yaml", when)
    for i, (name, reps, hold_ms) in enumerate(exercises):
        h.record_used(s, i, name, reps, hold_ms, 2)
    h.end_session(s, "stopped", when + timedelta(seconds=3))


def build(db: Path) -> History:
    """Legs A (Bulgarian split squat 8 → 9 → 10 reps, rated per side, and a Wall sit hold of
    35 → 37.5 → 40 s) and Legs B (Goblet squat 10 reps, unrated, and Bulgarian split squat 12
    reps with left and right rated alike) alternate every two days; then a Legs A and a Core
    session are stopped while preparing."""
    h = History(db)
    for d in range(6):
        when = T0 + timedelta(days=2 * d)
        k = d // 2
        if d % 2 == 0:
            record(h, "Legs A", when, [(BSS, 8 + k, None, "both", {"left": 4, "right": 2 + k}),
                                       ("Wall sit", None, 35000 + 2500 * k, None, {"both": 3})])
        else:
            record(h, "Legs B", when, [("Goblet squat", 10, None, None, {}),
                                       (BSS, 12, None, "both", {"left": 3, "right": 3})])
    stopped_while_preparing(h, "Legs A", STOPPED, [(BSS, 11, None), ("Wall sit", None, 42500)])
    stopped_while_preparing(h, "Core", STOPPED, [("Plank", None, 45000), ("Dead bug", 10, None)])
    return h


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "coach" / "history.sqlite3"


def sessions_of(db: Path) -> list[SessionRecord]:
    h = build(db)
    try:
        return h.recent(None)
    finally:
        h.close()


def drawn(fig: Figure) -> Figure:
    FigureCanvasAgg(fig).draw()  # tick labels exist once drawn
    return fig


def panels_of(fig: Figure) -> list[tuple[str, str, list[Axes]]]:
    """Each panel as (exercise, program, its axes): a panel's top axes carries the titles, and
    every axes drawing the same panel shares its x axis."""
    out = []
    for top in (ax for ax in fig.axes if ax.get_title(loc="left")):
        group = [top] + [ax for ax in fig.axes
                         if ax is not top and top.get_shared_x_axes().joined(top, ax)]
        out.append((top.get_title(loc="left"), top.get_title(loc="right"), group))
    return out


def axis_for(group: list[Axes], label: str) -> Axes:
    [ax] = [ax for ax in group if label in ax.get_ylabel()]
    return ax


def ydata(ax: Axes) -> list[list[float]]:
    return [[float(v) for v in np.asarray(line.get_ydata())] for line in ax.get_lines()]


def visible_ticks(ax: Axes, axis: str) -> list[str]:
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    ticks = ax.get_yticks() if axis == "y" else ax.get_xticks()
    return [t.get_text() for t, v in zip(labels, ticks) if lo <= v <= hi]


def test_one_panel_per_program_and_exercise(tmp_path: Path) -> None:
    panels = views.plot_data(sessions_of(tmp_path / "h.sqlite3"))
    fig = plots.history_figure(panels)
    got = panels_of(fig)
    assert [(ex, prog) for ex, prog, _ in got] == [
        (BSS, "Legs A"), ("Wall sit", "Legs A"), ("Goblet squat", "Legs B"), (BSS, "Legs B")]
    # Each program's own reps, not one line stepping between 8-10 and 12.
    assert ydata(axis_for(got[0][2], "reps")) == [[8, 9, 10]]
    assert ydata(axis_for(got[3][2], "reps")) == [[12, 12, 12]]
    assert [(p.program, p.exercise, p.unilateral) for p in panels] == [
        ("Legs A", BSS, True), ("Legs A", "Wall sit", False), ("Legs B", "Goblet squat", False),
        ("Legs B", BSS, True)]
    svg = tmp_path / "h.svg"
    plots.save_history_plot(panels, svg)
    text = svg.read_text()
    assert text.count(f">{BSS}<") == 2 and ">Legs A<" in text and ">Legs B<" in text


def test_a_session_stopped_while_preparing_draws_nothing(tmp_path: Path, data_home: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    build(data_home).close()
    png = tmp_path / "h.png"
    assert main(["history", "--plot", str(png)]) == 0
    assert capsys.readouterr().out == f"{png}: 4 exercise panels from 8 sessions\n"
    fig = drawn(plots.history_figure(views.plot_data(sessions_of(tmp_path / "h.sqlite3"))))
    got = panels_of(fig)
    assert "Plank" not in [ex for ex, _, _ in got] and "Dead bug" not in [ex for ex, _, _ in got]
    # Every panel spans the sessions that were done, give or take a day: not 2024 to 2028,
    # not stretched to the stopped ones.
    for ex, prog, group in got:
        for ax in group:
            lo, hi = (num2date(x) for x in ax.get_xlim())
            assert T0 - timedelta(days=2) <= lo <= T0 and LAST_DONE <= hi < STOPPED, (ex, prog)
        for label in visible_ticks(group[-1], "x"):  # dates, in this year
            assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}(\n2026)?", label), (ex, prog, label)
    # The Legs A sessions stopped while preparing left no reps or hold behind.
    assert ydata(axis_for(got[1][2], "hold")) == [[35.0, 37.5, 40.0]]
    # Only the newest three sessions (two stopped, one done): that one's panels, its days.
    assert main(["history", "--plot", str(png), "--sessions", "3"]) == 0
    assert capsys.readouterr().out == f"{png}: 2 exercise panels from 3 sessions\n"
    newest = sessions_of(tmp_path / "h2.sqlite3")[:3]
    only = panels_of(plots.history_figure(views.plot_data(newest)))
    assert [(ex, prog) for ex, prog, _ in only] == [("Goblet squat", "Legs B"), (BSS, "Legs B")]
    lo, hi = (num2date(x) for x in only[0][2][0].get_xlim())
    assert hi - lo <= timedelta(days=2) and lo < LAST_DONE < hi


def test_ticks_are_whole_reps_and_whole_seconds(tmp_path: Path) -> None:
    fig = drawn(plots.history_figure(views.plot_data(sessions_of(tmp_path / "h.sqlite3"))))
    seen = set()
    for ex, prog, group in panels_of(fig):
        for ax in group:
            label = ax.get_ylabel()
            if not label.startswith(("rating", "reps", "hold")):
                continue
            seen.add(label)
            ticks = visible_ticks(ax, "y")
            assert len(ticks) >= 2, (ex, prog, label, ticks)
            for t in ticks:
                assert re.fullmatch(r"\d+", t), (ex, prog, label, ticks)
            if label == "rating":
                assert ticks == ["1", "2", "3", "4", "5"]
    assert seen == {"rating", "reps", "hold s"}


def test_left_and_right_show_in_two_colours_even_when_they_agree(
        tmp_path: Path, data_home: Path) -> None:
    h = History(data_home)
    for d in range(3):
        record(h, "Legs B", T0 + timedelta(days=2 * d),
               [(BSS, 12, None, "both", {"left": 3, "right": 3})])
    sessions = h.recent(None)
    h.close()
    png = tmp_path / "h.png"
    assert main(["history", "--plot", str(png)]) == 0
    img = imread(png)
    left, right = (mask(img, c) for c in (plots.LEFT_COLOUR, plots.RIGHT_COLOUR))
    # The left side drawn wider under the right: both colours on screen at the same height.
    assert left.sum() > 200 and right.sum() > 200, (left.sum(), right.sum())
    rows_l, rows_r = np.nonzero(left)[0], np.nonzero(right)[0]
    assert abs(rows_l.mean() - rows_r.mean()) < 3
    fig = plots.history_figure(views.plot_data(sessions))
    [(_, _, group)] = panels_of(fig)
    colours = {to_hex(str(line.get_color())) for line in axis_for(group, "rating").get_lines()}
    assert colours == {plots.LEFT_COLOUR, plots.RIGHT_COLOUR}
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "left" in legend and "right" in legend and "both sides" not in legend


if "load" in {f.name for f in fields(SetRecord)}:  # the history records carry the load
    def with_load(row: SetRecord, load: str) -> SetRecord:
        changes: dict[str, Any] = {"load": load}
        return replace(row, **changes)
else:  # until they do: a set record as it will be, so the plot is ready for it
    @dataclass(frozen=True)
    class _LoadedSet(SetRecord):
        load: str | None = None

    def with_load(row: SetRecord, load: str) -> SetRecord:
        return _LoadedSet(**asdict(row), load=load)


def loaded(sessions: list[SessionRecord], loads: dict[tuple[str, str], list[str]]
           ) -> list[SessionRecord]:
    """The sessions with each set of (program, exercise) carrying the next load of the list
    (one per session that did it, oldest first)."""
    done: dict[tuple[str, str], int] = {}
    out = []
    for s in reversed(sessions):
        rows = []
        for row in s.sets:
            key = (s.program, row.exercise)
            if key in loads:
                rows.append(with_load(row, loads[key][done.get(key, 0)]))
                done[key] = done.get(key, 0) + 1
            else:
                rows.append(row)
        out.append(replace(s, sets=rows))
    return out[::-1]


def test_load_gets_its_own_axis(tmp_path: Path) -> None:
    assert [views.load_value(x) for x in ("24kg", "24.5 kg", "50lb", "50 LBS", "bodyweight",
                                          None, "heavy")] == [
        (24.0, "kg"), (24.5, "kg"), (50.0, "lb"), (50.0, "lb"), None, None, None]
    sessions = loaded(sessions_of(tmp_path / "h.sqlite3"), {
        ("Legs B", "Goblet squat"): ["24kg", "24kg", "26.5 kg"],
        ("Legs A", BSS): ["bodyweight"] * 3,
        ("Legs B", BSS): ["20lb", "20lb", "25lb"]})
    panels = {(p.program, p.exercise): p for p in views.plot_data(sessions)}
    goblet = panels[("Legs B", "Goblet squat")]
    days = [T0 + timedelta(days=d) for d in (2, 6, 10)]
    assert (goblet.load, goblet.load_unit) == (list(zip(days, [24.0, 24.0, 26.5])), "kg")
    assert panels[("Legs B", BSS)].load_unit == "lb"
    assert panels[("Legs A", BSS)].load == []  # bodyweight: nothing to plot
    png = tmp_path / "h.png"
    plots.save_history_plot(list(panels.values()), png)
    fig = drawn(plots.history_figure(list(panels.values())))
    got = {(ex, prog): group for ex, prog, group in panels_of(fig)}
    group = got[("Goblet squat", "Legs B")]
    load, reps = axis_for(group, "load"), axis_for(group, "reps")
    assert load is not reps and load.get_ylabel() == "load kg"
    assert ydata(load) == [[24.0, 24.0, 26.5]] and ydata(reps) == [[10, 10, 10]]
    lo, hi = load.get_ylim()
    assert lo < 24 and 26.5 < hi
    assert not [ax for ax in got[(BSS, "Legs A")] if "load" in ax.get_ylabel()]
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "load" in legend
    img = imread(png)
    assert mask(img, plots.LOAD_COLOUR).sum() > 200


def mask(img: Any, colour: str, tol: float = 2 / 255) -> np.ndarray:
    return (np.abs(img[:, :, :3] - np.array(to_rgb(colour))) <= tol).all(axis=2)


def bands(column: np.ndarray, min_len: int = 40) -> list[tuple[int, int]]:
    """Runs of True at least ``min_len`` long (the rows of each panel's background)."""
    out, start = [], None
    for i, v in enumerate([*column, False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start >= min_len:
                out.append((start, i))
            start = None
    return out


def test_the_png_shows_each_panel_with_its_colours(tmp_path: Path, data_home: Path) -> None:
    build(data_home).close()
    png = tmp_path / "h.png"
    assert main(["history", "--plot", str(png)]) == 0
    img = imread(png)
    assert img.std() > 0.05  # not blank
    x = int(img.shape[1] * 0.09)  # just inside the panels' left edge
    found = bands(mask(img, plots.PANEL_BG)[:, x])
    assert len(found) == 4, found  # a panel per program and exercise, its strips touching
    left, right, both, grey = (mask(img, c) for c in (plots.LEFT_COLOUR, plots.RIGHT_COLOUR,
                                                      plots.BOTH_COLOUR, plots.VOLUME_COLOUR))
    (a0, a1), (w0, w1), (g0, g1), (b0, b1) = found
    for y0, y1 in ((a0, a1), (b0, b1)):  # the two Bulgarian split squats: both sides
        assert left[y0:y1].sum() > 100 and right[y0:y1].sum() > 100
        assert both[y0:y1].sum() == 0
    assert both[w0:w1].sum() > 100 and left[w0:w1].sum() == right[w0:w1].sum() == 0
    assert left[g0:g1].sum() == right[g0:g1].sum() == both[g0:g1].sum() == 0  # unrated
    for y0, y1 in found:  # reps or hold in every panel
        assert grey[y0:y1].sum() > 50
