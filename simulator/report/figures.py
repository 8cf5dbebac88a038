"""Pictures of a report (matplotlib's Agg canvas, no display, no pyplot state).

Two panels, 900 px wide: mean spend per trajectory against resolved rate with
95% Wilson intervals and the Pareto frontier, and a strip with one row per
(router, instance) and one cell per step coloured by the tier the router chose.
"""

import io
import math

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from matplotlib.transforms import Bbox, blended_transform_factory

WIDTH_IN, DPI = 9.0, 100
FONT = 8
FRONTIER_IN = 4.4
ROW_IN = 0.16
STATUS = {
    "resolved": ("✓ resolved", "#1a7f37"),
    "unresolved": ("unresolved", "0.45"),
    "incomplete": ("incomplete", "#c2410c"),
}


def tier_colors(tiers: list[str]) -> dict[str, tuple]:
    """Cheapest tier light, most expensive dark (viridis: readable in grey and for colour-blind readers)."""
    cmap = colormaps["viridis"]
    return {t: cmap(0.92 - 0.8 * i / max(1, len(tiers) - 1)) for i, t in enumerate(tiers)}


def _text_px(renderer, text: str, size: float = FONT) -> tuple[float, float]:
    w, h, _ = renderer.get_text_width_height_descent(text, FontProperties(size=size), ismath=False)
    return w, h


def draw_frontier(ax, report: dict) -> None:
    routers = report["routers"]
    xs = [a["mean_cost_usd"] for a in routers]
    ys = [100 * a["resolved_rate"] for a in routers]
    log = min(xs) > 0 and max(xs) / min(xs) > 10
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(xs) / 1.8, max(xs) * 1.8)
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.set_xlim(0, max(max(xs) * 1.2, 1e-6))
    top = max(100 * a["resolved_rate_ci95"][1] for a in routers)
    ax.set_ylim(-4, min(104, top + 12))
    for a, x, y in zip(routers, xs, ys):
        lo, hi = (100 * v for v in a["resolved_rate_ci95"])
        exact = a["exact"] == a["n"]
        ax.errorbar(
            x,
            y,
            yerr=[[y - lo], [hi - y]],
            fmt="o",
            ms=6,
            capsize=3,
            lw=1,
            color="#1f4e8c",
            mfc="#1f4e8c" if exact else "white",
            zorder=3,
        )
    front = sorted((x, y) for a, x, y in zip(routers, xs, ys) if a["pareto"])
    if front:
        fx, fy = zip(*front)
        ax.plot(
            [*fx, ax.get_xlim()[1]],
            [*fy, fy[-1]],
            drawstyle="steps-post",
            color="#d62728",
            lw=1.2,
            ls="--",
            zorder=2,
            label="Pareto frontier",
        )
    handles = [ax.get_legend_handles_labels()[0][0]] if front else []
    handles.append(
        ax.errorbar([], [], yerr=[], fmt="o", color="#1f4e8c", capsize=3, label="router (95% Wilson interval)")
    )
    if any(a["exact"] < a["n"] for a in routers):
        handles.append(
            ax.errorbar(
                [], [], yerr=[], fmt="o", color="#1f4e8c", mfc="white", capsize=3, label="not every trajectory exact"
            )
        )
    ax.legend(handles=handles, loc="upper left", fontsize=FONT, frameon=False)
    ax.set_xlabel(f"mean spend per trajectory (USD{', log scale' if log else ''})", fontsize=FONT + 1)
    ax.set_ylabel("resolved rate (%)", fontsize=FONT + 1)
    n = max(a["n"] for a in routers)
    ax.set_title(
        f"Spend vs resolved rate — {report['source'].get('name', '')}, {n} trajectories per router"
        + (" (recorded cost)" if report.get("cost_model") == "recorded" else ""),
        fontsize=FONT + 2,
        loc="left",
    )
    ax.tick_params(labelsize=FONT)
    ax.grid(True, color="0.92", zorder=0)
    label_points(ax, [(x, y) for x, y in zip(xs, ys)], [a["router"] for a in routers])


def label_points(ax, points: list[tuple[float, float]], labels: list[str]) -> None:
    """Each label beside its point; a label that would overlap another label or a point moves
    up or down (with a leader line) to the nearest free place inside the axes."""
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pixels = [tuple(ax.transData.transform(p)) for p in points]
    taken = [Bbox.from_bounds(px - 5, py - 5, 10, 10) for px, py in pixels]
    px_to_pt = 72 / ax.figure.dpi
    for i in sorted(range(len(points)), key=lambda i: (-points[i][1], points[i][0])):
        px, py = pixels[i]
        w, h = _text_px(renderer, labels[i])
        # Above right of the point first (clear of the frontier line through it), then further away.
        options = [
            (dx, k * 1.25 * h + 0.75 * h) for k in (0, -1.2, 1, -2.2, 2, -3.2, 3, -4.2, 4, 5, 6) for dx in (6, -6 - w)
        ]
        boxes = [Bbox.from_bounds(px + dx, py + dy - h / 2, w, h) for dx, dy in options]
        free = [
            j
            for j, b in enumerate(boxes)
            if frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1) and not any(b.overlaps(t) for t in taken)
        ]
        j = free[0] if free else 0
        dx, dy = options[j]
        taken.append(boxes[j])
        arrow = (
            {"arrowstyle": "-", "color": "0.6", "lw": 0.6, "shrinkA": 0, "shrinkB": 4} if abs(dy) > 1.5 * h else None
        )
        ax.annotate(
            labels[i],
            points[i],
            xytext=(dx * px_to_pt, dy * px_to_pt),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize=FONT,
            arrowprops=arrow,
            zorder=4,
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
        )


def strip_rows(report: dict) -> list[tuple[str, dict | None]]:
    """Rows of the strip, top to bottom: a header per router, then its runs."""
    rows: list[tuple[str, dict | None]] = []
    for a in report["routers"]:
        rows.append((a["router"], None))
        rows += [(run["instance_id"], run) for run in report["runs"] if run["router"] == a["router"]]
    return rows


def draw_strip(ax, report: dict) -> None:
    rows = strip_rows(report)
    colors = tier_colors(report["tiers"])
    cells: dict[str, tuple[list, list]] = {t: ([], []) for t in report["tiers"]}
    approximated: tuple[list, list] = ([], [])
    for y, (_, run) in enumerate(rows):
        if run is None:
            continue
        for step in run["steps"]:
            cells[step["tier"]][0].append(y)
            cells[step["tier"]][1].append(step["step"])
        for a in run["approximations"]:
            if a["kind"] == "response":
                approximated[0].append(y)
                approximated[1].append(a["step"])
        text, color = STATUS[run["status"]]
        ax.text(
            1.01,
            y,
            text,
            transform=blended_transform_factory(ax.transAxes, ax.transData),
            va="center",
            fontsize=FONT - 0.5,
            color=color,
        )
    handles = []
    for tier, (ys, xs) in cells.items():
        ax.barh(ys, 0.92, left=[x - 0.46 for x in xs], height=0.78, color=colors[tier])
        handles.append(Patch(color=colors[tier], label=tier))
    if approximated[0]:
        ax.barh(
            approximated[0],
            0.92,
            left=[x - 0.46 for x in approximated[1]],
            height=0.78,
            fill=False,
            hatch="////",
            edgecolor="white",
            lw=0,
        )
        handles.append(Patch(facecolor="0.6", hatch="////", edgecolor="white", label="approximated"))
    longest = max((len(run["steps"]) for _, run in rows if run), default=1)
    ax.set_xlim(-0.6, max(longest, 1) - 0.4)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    # A router's name heads its rows across the whole width (its row has no cells), so no name is cut.
    ax.set_yticks(range(len(rows)), [label if run else "" for label, run in rows], fontsize=FONT - 0.5)
    for y, (label, run) in enumerate(rows):
        if run is None:
            ax.text(-0.55, y, label, va="center", ha="left", fontsize=FONT, fontweight="bold", clip_on=False)
    ax.tick_params(axis="y", length=0)
    if longest <= 40:
        ax.set_xticks(range(longest))
    ax.tick_params(axis="x", labelsize=FONT)
    ax.set_xlabel("step", fontsize=FONT + 1)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title("Tier chosen at each step, one row per trajectory", fontsize=FONT + 2, loc="left", pad=18)
    ax.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=len(handles),
        fontsize=FONT,
        frameon=False,
        handlelength=1.2,
        borderaxespad=0.2,
    )


def _figure(report: dict, panels: tuple[str, ...]) -> Figure:
    """Panels stacked top to bottom on a fixed layout (inches), so the picture never depends on a layout solver."""
    fig = Figure(figsize=(WIDTH_IN, 1), dpi=DPI)
    renderer = FigureCanvasAgg(fig).get_renderer()
    label_in = max((_text_px(renderer, label, FONT - 0.5)[0] for label, run in strip_rows(report) if run), default=0)
    label_in = label_in / DPI + 0.2
    heights = {"frontier": FRONTIER_IN, "strip": ROW_IN * len(strip_rows(report))}
    margins = {"frontier": (0.75, 0.3), "strip": (label_in, 0.95)}  # left, right
    top, gap, bottom = 0.45, 1.05, 0.55
    total = top + sum(heights[p] for p in panels) + gap * (len(panels) - 1) + bottom
    fig.set_size_inches(WIDTH_IN, math.ceil(total * DPI) / DPI)
    y = total - top
    for panel in panels:
        y -= heights[panel]
        left, right = margins[panel]
        ax = fig.add_axes((left / WIDTH_IN, y / total, (WIDTH_IN - left - right) / WIDTH_IN, heights[panel] / total))
        (draw_frontier if panel == "frontier" else draw_strip)(ax, report)
        y -= gap
    return fig


def png_bytes(report: dict, panels: tuple[str, ...] = ("frontier", "strip")) -> bytes:
    out = io.BytesIO()
    _figure(report, panels).savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
