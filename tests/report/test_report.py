"""History reports and pictures on real SQLite and real matplotlib files: the JSON contract
with ratings per side, plain text, imbalance, the history picture and the plan strip (read
back as pixels and SVG text)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from coach.cli import main
from coach.core.imbalance import imbalance
from coach.core.program import load_program
from coach.core.records import SENT, TAPPED, RatedBy
from coach.core.timeline import compile_program
from coach.report import plots, views
from coach.store.history import History
from tests.support.real import ROOT

T0 = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
BSS = "Bulgarian split squat"


def build(db: Path, right_feel: list[int], left_feel: int = 4) -> History:
    """Sessions two days apart: BSS (both sides, 2 sets) rated per side, a bilateral Wall sit."""
    h = History(db)
    for d, rf in enumerate(right_feel):
        now = T0 + timedelta(days=2 * d)
        s = h.start_session("Legs", "/p/legs.yaml", now)
        h.record_used(s, 0, BSS, 8 + d, None, 2)
        h.record_used(s, 1, "Wall sit", None, 30000 + 5000 * d, 1)
        for n in (1, 2):
            x = h.start_set(s, BSS, 0, n, 2, "both", n * 1000, now)
            h.end_set(x, "completed", now)
            h.rate(s, x, BSS, 0, n, "left", "feel", left_feel, now)
            h.rate(s, x, BSS, 0, n, "right", "feel", rf, now)
        w = h.start_set(s, "Wall sit", 1, 1, 1, None, 9000, now)
        h.end_set(w, "skipped" if d == 0 else "completed", now)
        if d > 0:
            h.rate(s, w, "Wall sit", 1, 1, None, "feel", 3, now)
            h.rate(s, w, "Wall sit", 1, 1, None, "effort", 4, now)
        h.end_session(s, "completed", now + timedelta(minutes=30))
    return h


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "coach" / "history.sqlite3"


def test_history_json_lists_each_side_with_its_ratings(data_home: Path, capsys) -> None:
    build(data_home, [2, 3]).close()
    assert main(["history", "--json", "-n", "1"]) == 0
    [session] = json.loads(capsys.readouterr().out)
    assert (session["program"], session["status"]) == ("Legs", "completed")
    got = [(x["exercise"], x["set"], x["side"], x["status"], x["ratings"]) for x in session["sets"]]
    assert got == [
        (BSS, 1, "left", "completed", {"feel": 4}), (BSS, 1, "right", "completed", {"feel": 3}),
        (BSS, 2, "left", "completed", {"feel": 4}), (BSS, 2, "right", "completed", {"feel": 3}),
        ("Wall sit", 1, None, "completed", {"feel": 3, "effort": 4}),
    ]
    # The keys from before stay (scripts read them).
    first = session["sets"][0]
    assert {"id", "set_no", "sets", "exercise_index", "started_at", "start_ms"} <= set(first)
    assert first["set_no"] == 1 and session["used"][0]["reps"] == 9
    # An unrated set: an empty map.
    assert main(["history", "--json"]) == 0
    older = json.loads(capsys.readouterr().out)[1]
    assert older["sets"][-1]["ratings"] == {} and older["sets"][-1]["status"] == "skipped"


def test_history_text_shows_ratings_per_side(data_home: Path, capsys) -> None:
    build(data_home, [2]).close()
    assert main(["history"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "    Bulgarian split squat set 1 of 2: completed  left feel 4 · right feel 2" in out
    assert "    Wall sit set 1 of 1: skipped" in out


def test_history_says_how_each_rating_was_given_and_what_the_mic_heard(
        data_home: Path, capsys) -> None:
    # A near-rhyme the mic took for a number ("that was hard" as "it was a four") is then a
    # rating the log says it heard, with the words: the lifter can see it and correct it.
    h = History(data_home)
    s = h.start_session("Legs", "/p/legs.yaml", T0)
    for side, value, by in (("left", 4, RatedBy("voice", "it was a four", 0.62)),
                            ("right", 2, TAPPED)):
        x = h.start_set(s, BSS, 0, 1, 1, side, 0, T0)
        h.end_set(x, "completed", T0)
        h.rate(s, x, BSS, 0, 1, side, "feel", value, T0, by)
        h.rate(s, x, BSS, 0, 1, side, "effort", 3, T0, SENT)
    h.end_session(s, "completed", T0)
    h.close()
    assert main(["history", "--json"]) == 0
    [session] = json.loads(capsys.readouterr().out)
    got = [(x["side"], x["ratings"], x["given"], x["heard"]) for x in session["sets"]]
    assert got == [
        ("left", {"feel": 4, "effort": 3}, {"feel": "voice", "effort": "sent"},
         {"feel": {"words": "it was a four", "confidence": 0.62}}),
        ("right", {"feel": 2, "effort": 3}, {"feel": "taps", "effort": "sent"}, {}),
    ]
    assert main(["history"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (f"    {BSS} set 1 of 1 (left): completed  left feel 4 (heard 'it was a four') "
            "effort 3" in out), out
    assert f"    {BSS} set 1 of 1 (right): completed  right feel 2 effort 3" in out, out


def test_imbalance_finds_the_lagging_side(data_home: Path, capsys) -> None:
    build(data_home, [2, 3, 2, 5, 3]).close()  # right 2 points behind in 3, 1 in 1, even in 1
    assert main(["history", "--imbalance", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"exercise": BSS, "sessions": 5, "left": 4.0, "right": 3.0, "lagging": "right"}]
    assert main(["history", "--imbalance"]) == 0
    assert capsys.readouterr().out == (
        "Bulgarian split squat: left 4.0, right 3.0 over 5 sessions — right side lagging\n")
    # Over the last 2 sessions only one had the right side behind: not lagging.
    assert main(["history", "--imbalance", "--sessions", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"exercise": BSS, "sessions": 2, "left": 4.0, "right": 4.0, "lagging": None}]


def test_imbalance_by_effort_lags_the_side_that_needed_more(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    for d in range(3):
        s = h.start_session("Legs", "/p/legs.yaml", T0 + timedelta(days=d))
        h.rate(s, None, BSS, 0, 1, "left", "effort", 5, T0)
        h.rate(s, None, BSS, 0, 1, "right", "effort", 3, T0)
        h.rate(s, None, BSS, 0, 1, "left", "feel", 4, T0)
        h.rate(s, None, BSS, 0, 1, "right", "feel", 4, T0)
    sessions = h.recent(None)
    h.close()
    [x] = imbalance(sessions, "effort")
    assert (x.left, x.right, x.lagging, x.sessions) == (5.0, 3.0, "left", 3)
    [y] = imbalance(sessions, "feel")
    assert y.lagging is None
    assert imbalance(sessions[:2], "effort")[0].lagging is None  # 2 sessions < 3


def test_user_mistakes_are_one_line(data_home: Path, tmp_path: Path, capsys) -> None:
    for argv in (["history", "--plot", str(tmp_path / "h.jpg")],
                 ["history", "--imbalance", "--sessions", "0"],
                 ["history", "--plot", str(tmp_path / "h.png")],  # nothing recorded yet
                 ["plan", str(ROOT / "programs" / "posing.yaml"), "--svg", str(tmp_path / "p")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    build(data_home, [2]).close()
    assert main(["history", "--plot", str(tmp_path / "no" / "dir" / "h.png")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_plot_data_numbers(tmp_path: Path) -> None:
    h = build(tmp_path / "h.sqlite3", [2, 3, 5])
    panels = views.plot_data(h.recent(None))
    h.close()
    assert [(p.exercise, p.unilateral) for p in panels] == [(BSS, True), ("Wall sit", False)]
    bss, wall = panels
    days = [T0 + timedelta(days=2 * d) for d in range(3)]
    assert bss.ratings[("left", "feel")] == [(d, 4.0) for d in days]
    assert bss.ratings[("right", "feel")] == list(zip(days, [2.0, 3.0, 5.0]))
    assert bss.reps == list(zip(days, [8, 9, 10])) and bss.hold_s == []
    assert wall.ratings == {("both", "feel"): [(days[1], 3.0), (days[2], 3.0)],
                            ("both", "effort"): [(days[1], 4.0), (days[2], 4.0)]}
    assert wall.hold_s == list(zip(days, [30.0, 35.0, 40.0]))


def _mask(img: np.ndarray, colour: str, tol: float = 2 / 255) -> np.ndarray:
    return (np.abs(img[:, :, :3] - np.array(to_rgb(colour))) <= tol).all(axis=2)


def _bands(column: np.ndarray, min_len: int = 40) -> list[tuple[int, int]]:
    """Runs of True at least ``min_len`` long (rows of a panel's background)."""
    out, start = [], None
    for i, v in enumerate(list(column) + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start >= min_len:
                out.append((start, i))
            start = None
    return out


def test_history_png_has_a_panel_per_exercise_with_each_sides_colour(tmp_path: Path,
                                                                      data_home: Path) -> None:
    build(data_home, [2, 3, 5]).close()
    png = tmp_path / "h.png"
    assert main(["history", "--plot", str(png)]) == 0
    img = imread(png)
    assert img.std() > 0.05  # not blank
    bg = _mask(img, plots.PANEL_BG)
    x = int(img.shape[1] * 0.09)  # just inside the panels' left edge (subplots left = 0.08)
    bands = _bands(bg[:, x])
    assert len(bands) == 2, bands  # one panel per exercise
    (a0, a1), (b0, b1) = bands
    left, right, both = (_mask(img, c) for c in
                         (plots.LEFT_COLOUR, plots.RIGHT_COLOUR, plots.BOTH_COLOUR))
    assert left[a0:a1].sum() > 100 and right[a0:a1].sum() > 100  # BSS: both sides drawn
    assert both[a0:a1].sum() == 0
    assert both[b0:b1].sum() > 100  # Wall sit: one colour
    assert left[b0:b1].sum() == 0 and right[b0:b1].sum() == 0
    # The right side starts 2 points below the left: its line lies lower in the panel.
    assert np.nonzero(right[a0:a1])[0].mean() > np.nonzero(left[a0:a1])[0].mean()


def test_history_svg_names_each_exercise(tmp_path: Path, data_home: Path) -> None:
    build(data_home, [2]).close()
    svg = tmp_path / "h.svg"
    assert main(["history", "--plot", str(svg)]) == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert f">{BSS}<" in text and ">Wall sit<" in text


def test_plan_strip_rest_share_matches_the_timeline(tmp_path: Path, capsys) -> None:
    path = ROOT / "programs" / "unilateral-check.yaml"
    timeline = compile_program(load_program(path))
    rest_ms = sum(p.duration_ms for p in timeline.phases if p.phase == "rest")
    expected = rest_ms / timeline.duration_ms
    assert 0.1 < expected < 0.9
    png = tmp_path / "plan.png"
    assert main(["plan", str(path), "--svg", str(png)]) == 0
    assert "rest" in capsys.readouterr().out
    img = imread(png)
    h, w = img.shape[:2]
    left, bottom, width, height = plots.STRIP_RECT
    row = int(round(h * (1 - bottom - height / 2)))
    x0, x1 = int(round(w * left)), int(round(w * (left + width)))
    strip = img[row : row + 1, x0:x1]
    got = _mask(strip, plots.OTHER_COLOURS["rest"]).mean()
    assert got == pytest.approx(expected, abs=0.03)
    work = sum(_mask(strip, c).sum() for c in plots.WORK_COLOURS.values()) / (x1 - x0)
    work_ms = sum(p.duration_ms for p in timeline.phases if p.phase in plots.WORK_COLOURS)
    assert work == pytest.approx(work_ms / timeline.duration_ms, abs=0.05)


def test_plan_strip_data_and_svg(tmp_path: Path) -> None:
    path = ROOT / "programs" / "unilateral-check.yaml"
    timeline = compile_program(load_program(path))
    svg = tmp_path / "plan.svg"
    strip = plots.save_plan_plot(timeline, svg)
    assert sum(b.duration_ms for b in strip.blocks) == pytest.approx(timeline.duration_ms, rel=0.01)
    assert strip.ticks_ms == tuple(sorted({c.t_ms for c in timeline.cues}))
    assert [t for t, _ in strip.labels] == [s.start_ms for s in timeline.sets]
    text = svg.read_text()
    for name in ("Single-arm cable row 1/2", "Bulgarian split squat 2/2",
                 "Single-leg glute bridge hold 1/1"):
        assert f">{name}<" in text
    colours = {b.colour for b in strip.blocks}
    assert plots.OTHER_COLOURS["rest"] in colours and plots.OTHER_COLOURS["switch"] in colours
