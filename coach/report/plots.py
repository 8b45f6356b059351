"""Pictures: the history (one panel per exercise: ratings over time per side, reps/hold on a
second axis) and one session's plan as a horizontal strip. matplotlib's object API with the
Agg (PNG) and SVG backends only: no pyplot, no display, no global state. The numbers drawn come
from pure functions (``report.views.plot_data``, ``plan_strip``), which tests check."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coach.core.errors import CoachError, Diagnostic
from coach.core.timeline import Timeline
from coach.report.views import Panel

logging.getLogger("matplotlib").setLevel(logging.WARNING)  # its font cache notes are not ours

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("png", "svg")
# History: one colour per side, one for a bilateral exercise, one for the values used.
LEFT_COLOUR = "#1f5fbf"  # blue
RIGHT_COLOUR = "#d7301f"  # red
BOTH_COLOUR = "#238b45"  # green
VOLUME_COLOUR = "#8c8c8c"  # grey
PANEL_BG = "#f3f0e8"  # each panel's background (tests find the panels by it)
SIDE_COLOURS = {"left": LEFT_COLOUR, "right": RIGHT_COLOUR, "both": BOTH_COLOUR}
QUESTION_STYLE: dict[str, tuple[Any, str]] = {"feel": ("-", "o"), "effort": ("--", "s")}  # line style, marker
PANEL_HEIGHT_IN, FIG_WIDTH_IN, LEGEND_IN, DPI = 2.4, 9.0, 0.6, 100

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

def history_figure(panels: list[Panel], question_label: str = "rating") -> Figure:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    n = len(panels)
    height = LEGEND_IN + PANEL_HEIGHT_IN * n
    fig = Figure(figsize=(FIG_WIDTH_IN, height), dpi=DPI)
    top = 1 - LEGEND_IN / height
    fig.subplots_adjust(left=0.08, right=0.9, top=top, bottom=0.35 / height + 0.02,
                        hspace=0.45)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, panel in zip(axes, panels):
        ax.set_facecolor(PANEL_BG)
        ax.set_title(panel.exercise, loc="left", fontsize=10)
        for (side, question), points in sorted(panel.ratings.items()):
            style, marker = QUESTION_STYLE.get(question, (":", "^"))
            ax.plot([t.astimezone() for t, _ in points], [v for _, v in points],
                    linestyle=style, marker=marker, color=SIDE_COLOURS[side], linewidth=2,
                    markersize=6)
        ax.set_ylim(0.5, 5.5)
        ax.set_yticks([1, 2, 3, 4, 5])
        ax.set_ylabel(question_label)
        ax.margins(x=0.06)
        if panel.reps or panel.hold_s:
            ax2 = ax.twinx()
            if panel.reps:
                ax2.step([t.astimezone() for t, _ in panel.reps], [v for _, v in panel.reps],
                         where="post", color=VOLUME_COLOUR, linewidth=1.5, alpha=0.9)
            if panel.hold_s:
                ax2.step([t.astimezone() for t, _ in panel.hold_s],
                         [v for _, v in panel.hold_s], where="post", color=VOLUME_COLOUR,
                         linewidth=1.5, linestyle="-.", alpha=0.9)
            ax2.set_ylabel(" / ".join(x for x, have in (("reps", panel.reps),
                                                        ("hold s", panel.hold_s)) if have),
                           color=VOLUME_COLOUR)
            ax2.tick_params(axis="y", colors=VOLUME_COLOUR)
            ax2.set_ylim(bottom=0)
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    handles = [Line2D([], [], color=c, linewidth=2, label=k)
               for k, c in (("left", LEFT_COLOUR), ("right", RIGHT_COLOUR),
                            ("both sides", BOTH_COLOUR))]
    handles += [Line2D([], [], color="black", linestyle=s, marker=m, label=q)
                for q, (s, m) in QUESTION_STYLE.items()]
    handles.append(Line2D([], [], color=VOLUME_COLOUR, label="reps / hold (right axis)"))
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


def plan_figure(strip: Strip) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    minutes = strip.duration_ms / 60_000
    width = min(max(10.0, minutes * 0.6 + len(strip.labels) * 0.25), 48.0)
    fig = Figure(figsize=(width, STRIP_HEIGHT_IN), dpi=DPI_PLAN)
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
