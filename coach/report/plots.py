"""Pictures: the history (one panel per program and exercise: ratings over time per side, the
reps/hold used and the load, each on its own axis) and one session's plan as a horizontal
strip. matplotlib's object API with the Agg (PNG) and SVG backends only: no pyplot, no display,
no global state. The numbers drawn come from pure functions (``report.views.plot_data``,
``plan_strip``), which tests check."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach.core.errors import CoachError, Diagnostic
from coach.core.timeline import Timeline
from coach.report.views import Panel

logging.getLogger("matplotlib").setLevel(logging.WARNING)  # its font cache notes are not ours

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FORMATS = ("png", "svg")
# History: one colour per side, one for a bilateral exercise, one for the values used.
LEFT_COLOUR = "#1f5fbf"  # blue
RIGHT_COLOUR = "#d7301f"  # red
BOTH_COLOUR = "#238b45"  # green
VOLUME_COLOUR = "#8c8c8c"  # grey
LOAD_COLOUR = "#6a3d9a"  # purple
PROGRAM_COLOUR = "#555555"  # the program's name, right of each panel's title
PANEL_BG = "#f3f0e8"  # each panel's background (tests find the panels by it)
SIDE_COLOURS = {"left": LEFT_COLOUR, "right": RIGHT_COLOUR, "both": BOTH_COLOUR}
SIDE_ORDER = {"left": 0, "right": 1, "both": 2}  # drawing order: right over left
QUESTION_STYLE: dict[str, tuple[Any, str]] = {"feel": ("-", "o"), "effort": ("--", "s")}  # line style, marker
# Layout, in inches: the legend on top; each panel its title, a ratings strip (when rated), a
# reps / hold strip and a load strip (when recorded), and its dates.
FIG_WIDTH_IN, LEGEND_IN, TITLE_IN, DATES_IN, DPI = 9.0, 0.55, 0.3, 0.6, 100
RATING_IN, WORK_IN, LOAD_IN = 1.35, 0.85, 0.85
PANEL_LEFT, PANEL_WIDTH = 0.08, 0.88  # figure fractions
YLABEL_X = -0.055  # each strip's y label, in its axes' fraction: left of the widest ticks
MAX_DATE_TICKS = 9  # up to this many session days each get their own tick

# Plan strip: work phases one family (warm), rest its own blue, the others their own.
WORK_COLOURS = {
    "eccentric": "#b2182b", "bottom_pause": "#e08214", "concentric": "#d6604d",
    "top_pause": "#f4a582", "hold": "#c51b7d", "rep": "#ef6548", "pose": "#a50f15",
}
OTHER_COLOURS = {
    "rest": "#2c7fb8", "announce": "#756bb1", "lead_in": "#bdbdbd", "switch": "#31a354",
    "answer": "#01665e",
}
UNKNOWN_COLOUR = "#636363"
# Where the strip sits in the figure (fractions: left, bottom, width, height); tests read it.
STRIP_RECT = (0.03, 0.22, 0.94, 0.30)
TICKS_RECT = (0.03, 0.52, 0.94, 0.08)
STRIP_HEIGHT_IN, DPI_PLAN = 3.2, 100


def check_format(path: str | Path, option: str) -> str:
    """The picture format a file name asks for ("png" or "svg"), or a one-line CoachError."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise CoachError(Diagnostic(str(path), 0, 0,
                                    f"{option} writes .svg or .png files, not "
                                    f"{'.' + ext if ext else 'a file without an extension'}"))
    return ext


def _save(fig: Figure, path: str | Path, fmt: str) -> None:
    from matplotlib import rc_context
    try:
        # Text stays text in an SVG (searchable, selectable, and smaller than glyph paths).
        with rc_context({"svg.fonttype": "none"}):
            fig.savefig(path, format=fmt, facecolor="white")
    except OSError as e:
        raise CoachError(Diagnostic(str(path), 0, 0, f"cannot write: {e.strerror or e}")) from None


def _colour(kind: str) -> str:
    return WORK_COLOURS.get(kind) or OTHER_COLOURS.get(kind) or UNKNOWN_COLOUR


# --- history ------------------------------------------------------------------------------

def _value_axis(ax: Axes, values: list[float], pad: float, whole: bool) -> None:
    """A y axis for values the lifter counts: about 3 ticks (whole numbers when ``whole``,
    else steps of 1, 2, 2.5 or 5 times a power of ten), never below 0, the values never on an
    edge (one that never changed sits in the middle), and the top tick a little below the top
    so it never meets the ratings strip's lowest one."""
    from matplotlib.ticker import FixedLocator, MaxNLocator, ScalarFormatter
    lo = max(0.0, math.floor(min(values) - pad))
    hi = math.ceil(max(values) + pad)
    steps = [1, 2, 5, 10] if whole else [1, 2, 2.5, 5, 10]
    ticks = [t for t in MaxNLocator(nbins=3, steps=steps, integer=whole).tick_values(lo, hi)
             if lo <= t <= hi]
    span = hi - lo
    ax.set_ylim(lo - 0.15 * span, hi + 0.25 * span)
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))


def _x(points: list[tuple[datetime, float]] | list[tuple[datetime, int]]) -> list[float]:
    """Where the points' dates lie on a date axis (matplotlib's day numbers)."""
    from matplotlib.dates import date2num
    return [float(date2num(t)) for t, _ in points]


def date_range(panels: list[Panel]) -> tuple[datetime, datetime]:
    """The dates every panel spans: the sessions drawn, with a margin (at least a day each
    side, so a single session still reads as a date and not as hours)."""
    dates = [t for p in panels for t in p.dates()]
    lo, hi = min(dates), max(dates)
    pad = max((hi - lo) * 0.06, timedelta(days=1))
    return lo - pad, hi + pad


def _date_axis(ax: Axes, panel: Panel, span: tuple[datetime, datetime]) -> None:
    """Dates under the panel, in the lifter's own time zone: a tick at each day it has a
    session while they fit side by side (a lifter reads the date of each point), else
    matplotlib's day/week/month ticks; the year under the first tick."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num, num2date
    from matplotlib.ticker import FixedLocator, FuncFormatter
    tz = datetime.now().astimezone().tzinfo
    days: dict[date, datetime] = {}
    for t in panel.dates():
        days.setdefault(t.astimezone(tz).date(), t)
    ticks = [float(date2num(t)) for t in days.values()]
    room = (span[1] - span[0]) / timedelta(days=1) / MAX_DATE_TICKS  # days per label
    if len(ticks) <= MAX_DATE_TICKS and all(b - a >= room for a, b in zip(ticks, ticks[1:])):
        def label(x: float, pos: int | None) -> str:
            d = num2date(x, tz)
            return f"{d:%b} {d.day}" + (f"\n{d:%Y}" if pos == 0 else "")
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(label))
    else:
        locator = AutoDateLocator(tz=tz, minticks=3, maxticks=MAX_DATE_TICKS)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(
            locator, tz=tz, formats=["%Y", "%b", "%b %d", "%H:%M", "%H:%M", "%S.%f"],
            zero_formats=["", "%Y", "%b %d", "%b %d", "%H:%M", "%H:%M"],
            offset_formats=["", "%Y", "%Y", "%Y %b %d", "%Y %b %d", "%Y %b %d %H:%M"]))


def _draw_ratings(ax: Axes, panel: Panel, question_label: str) -> set[str]:
    """Each side's mean rating per session, 1-5; returns the sides and questions drawn."""
    drawn: set[str] = set()
    # Left first and wider, right on top and narrower: equal ratings still show both colours.
    for (side, question), points in sorted(panel.ratings.items(),
                                           key=lambda kv: (SIDE_ORDER[kv[0][0]], kv[0][1])):
        style, marker = QUESTION_STYLE.get(question, (":", "^"))
        wide = side == "left"
        ax.plot(_x(points), [v for _, v in points], linestyle=style, marker=marker,
                color=SIDE_COLOURS[side], linewidth=3.2 if wide else 1.8,
                markersize=9 if wide else 5, label=f"{side} {question}")
        drawn |= {side, question}
    ax.set_ylim(0.5, 5.5)
    ax.set_yticks([1, 2, 3, 4, 5])
    ax.set_ylabel(question_label)
    return drawn


def _draw_work(ax: Axes, panel: Panel) -> set[str]:
    """The reps / hold seconds used (grey, whole ticks); returns what was drawn."""
    drawn: set[str] = set()
    values: list[float] = []
    for points, key, style in ((panel.reps, "reps", "-"), (panel.hold_s, "hold", "-.")):
        if points:
            ax.plot(_x(points), [v for _, v in points], drawstyle="steps-post",
                    color=VOLUME_COLOUR, linewidth=1.8, linestyle=style, marker="o",
                    markersize=4.5, label=key)
            values += [v for _, v in points]
            drawn.add(key)
    _value_axis(ax, values, max(1.0, 0.15 * max(values)), whole=True)
    ax.set_ylabel(" / ".join(x for x, key in (("reps", "reps"), ("hold s", "hold"))
                             if key in drawn), color=VOLUME_COLOUR)
    ax.tick_params(axis="y", colors=VOLUME_COLOUR)
    return drawn


def _draw_load(ax: Axes, panel: Panel) -> set[str]:
    """The heaviest load of each session (purple), in the panel's load unit."""
    values = [v for _, v in panel.load]
    ax.plot(_x(panel.load), values, color=LOAD_COLOUR, linewidth=2, marker="D",
            markersize=5, label="load")
    _value_axis(ax, values, max(2.5 if panel.load_unit == "kg" else 5.0, 0.1 * max(values)),
                whole=False)
    ax.set_ylabel(f"load {panel.load_unit}", color=LOAD_COLOUR)
    ax.tick_params(axis="y", colors=LOAD_COLOUR)
    return {"load"}


def history_figure(panels: list[Panel], question_label: str = "rating") -> Figure:
    """One panel per program and exercise, top to bottom, the exercise left of its title and
    the program right. A panel is up to three strips, touching, on one background, each with
    its own y axis: each side's rating per session (1-5), the reps / hold used (grey), the
    load (purple). Each strip its own axis, so no line ever crosses another of a different
    scale. Every panel spans the same dates (the sessions drawn and no more) and ticks its own
    sessions' days."""
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    def strips(p: Panel) -> list[tuple[str, float]]:
        return [(kind, h) for kind, h, want in (("ratings", RATING_IN, p.ratings),
                                                 ("work", WORK_IN, p.reps or p.hold_s),
                                                 ("load", LOAD_IN, p.load)) if want]

    height = LEGEND_IN + sum(TITLE_IN + sum(h for _, h in strips(p)) + DATES_IN
                             for p in panels)
    fig = Figure(figsize=(FIG_WIDTH_IN, height), dpi=DPI)
    x0, x1 = date_range(panels)
    drawn: set[str] = set()
    y = height - LEGEND_IN  # the top of the next panel, inches from the bottom
    for panel in panels:
        y -= TITLE_IN
        axes: list[Axes] = []
        for kind, h in strips(panel):
            y -= h
            ax = fig.add_axes((PANEL_LEFT, y / height, PANEL_WIDTH, h / height),
                              sharex=axes[0] if axes else None)
            ax.set_facecolor(PANEL_BG)
            if kind == "ratings":
                drawn |= _draw_ratings(ax, panel, question_label)
            elif kind == "work":
                drawn |= _draw_work(ax, panel)
            else:
                drawn |= _draw_load(ax, panel)
            if axes:  # one panel: no line and no dates between its strips
                axes[-1].spines["bottom"].set_visible(False)
                axes[-1].tick_params(axis="x", bottom=False, labelbottom=False)
                ax.spines["top"].set_visible(False)
            ax.yaxis.set_label_coords(YLABEL_X, 0.5)  # one column of labels down the panel
            axes.append(ax)
        y -= DATES_IN
        axes[0].set_title(panel.exercise, loc="left", fontsize=10, fontweight="bold")
        axes[0].set_title(panel.program, loc="right", fontsize=9, color=PROGRAM_COLOUR)
        _date_axis(axes[-1], panel, (x0, x1))
        axes[-1].set_xlim(float(date2num(x0)), float(date2num(x1)))
    handles = [Line2D([], [], color=SIDE_COLOURS[s], linewidth=2, label=label)
               for s, label in (("left", "left"), ("right", "right"), ("both", "both sides"))
               if s in drawn]
    handles += [Line2D([], [], color="black", linestyle=s, marker=m, label=q)
                for q, (s, m) in QUESTION_STYLE.items() if q in drawn]
    if "reps" in drawn:
        handles.append(Line2D([], [], color=VOLUME_COLOUR, marker="o", markersize=4.5,
                              label="reps"))
    if "hold" in drawn:
        handles.append(Line2D([], [], color=VOLUME_COLOUR, linestyle="-.", marker="o",
                              markersize=4.5, label="hold s"))
    if "load" in drawn:
        handles.append(Line2D([], [], color=LOAD_COLOUR, linewidth=2, marker="D",
                              markersize=5, label="load"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False,
               fontsize=8)
    return fig


def save_history_plot(panels: list[Panel], path: str | Path) -> int:
    """Draw the history panels to ``path`` (PNG or SVG by its extension); returns the number
    of panels drawn. A CoachError (one line) for another extension, nothing to draw, or a file
    that cannot be written."""
    fmt = check_format(path, "--plot")
    if not panels:
        raise CoachError(Diagnostic(str(path), 0, 0, "no ratings or recorded sessions to plot yet"))
    _save(history_figure(panels), path, fmt)
    return len(panels)


# --- the plan strip -----------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    t_ms: int
    duration_ms: int
    kind: str  # the phase
    colour: str


@dataclass(frozen=True)
class Strip:
    """What the plan picture draws: coloured phase blocks, cue ticks, one label per set."""

    program: str
    duration_ms: int
    blocks: tuple[Block, ...]
    ticks_ms: tuple[int, ...]
    labels: tuple[tuple[int, str], ...]  # (t_ms of the set's start, "Row 2/3")

    def fraction(self, kinds: set[str]) -> float:
        """The share of the session the phases of these kinds take."""
        if self.duration_ms <= 0:
            return 0.0
        return sum(b.duration_ms for b in self.blocks if b.kind in kinds) / self.duration_ms


def plan_strip(timeline: Timeline) -> Strip:
    blocks = tuple(Block(p.t_ms, p.duration_ms, p.phase, _colour(p.phase))
                   for p in timeline.phases if p.duration_ms > 0)
    ticks = tuple(sorted({c.t_ms for c in timeline.cues}))
    labels = tuple((s.start_ms, f"{s.exercise} {s.set}/{s.sets}") for s in timeline.sets)
    return Strip(timeline.program, timeline.duration_ms, blocks, ticks, labels)


def _mmss(x: float, _pos: object = None) -> str:
    s = int(round(x / 1000))
    return f"{s // 60}:{s % 60:02d}"


def plan_size_in(duration_ms: int, sets: int) -> tuple[float, float]:
    """The plan strip's size in inches (at DPI_PLAN): wider for a longer program and more sets."""
    width = min(max(10.0, duration_ms / 60_000 * 0.6 + sets * 0.25), 48.0)
    return width, STRIP_HEIGHT_IN


def plan_size_px(timeline: Timeline) -> tuple[int, int]:
    """The plan PNG's size in pixels: the page reserves its box before the image has come, so
    nothing below it moves when it does (a tap on Start landed on the strip instead, in CI)."""
    w, h = plan_size_in(timeline.duration_ms, len(timeline.sets))
    return round(w * DPI_PLAN), round(h * DPI_PLAN)


def plan_figure(strip: Strip) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    width, height = plan_size_in(strip.duration_ms, len(strip.labels))
    fig = Figure(figsize=(width, height), dpi=DPI_PLAN)
    ax = fig.add_axes(STRIP_RECT)
    end = max(strip.duration_ms, 1)
    for b in strip.blocks:
        ax.add_patch(Rectangle((b.t_ms, 0), b.duration_ms, 1, facecolor=b.colour,
                               edgecolor="none", linewidth=0, antialiased=False))
    ax.set_xlim(0, end)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(nbins=max(4, int(width)), steps=[1, 2, 3, 5, 6, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(_mmss))
    for spine in ax.spines.values():
        spine.set_visible(False)
    tk = fig.add_axes(TICKS_RECT)
    tk.vlines(strip.ticks_ms, 0, 1, color="black", linewidth=0.6)
    tk.set_xlim(0, end)
    tk.set_ylim(0, 1)
    tk.axis("off")
    for t, text in strip.labels:
        fig.text(STRIP_RECT[0] + STRIP_RECT[2] * t / end, TICKS_RECT[1] + TICKS_RECT[3] + 0.01,
                 text, rotation=40, fontsize=7, ha="left", va="bottom")
    kinds = sorted({b.kind for b in strip.blocks}, key=lambda k: (k in WORK_COLOURS, k))
    fig.legend(handles=[Patch(color=_colour(k), label=k.replace("_", " ")) for k in kinds],
               loc="lower center", ncol=len(kinds), frameon=False, fontsize=7)
    fig.text(0.01, 0.97, f"{strip.program} — {_mmss(strip.duration_ms)}", fontsize=9,
             va="top")
    return fig


def save_plan_plot(timeline: Timeline, path: str | Path) -> Strip:
    """Draw the session's strip to ``path`` (PNG or SVG by its extension); returns the strip."""
    fmt = check_format(path, "--svg")
    strip = plan_strip(timeline)
    _save(plan_figure(strip), path, fmt)
    return strip
