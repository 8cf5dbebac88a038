"""A sweep as a picture and as an HTML section (matplotlib's Agg canvas, no pyplot state).

Two panels side by side, one per cost axis (share of steps on the top tier, mean
spend per trajectory), resolved rate on y: the sweep's points in grid order, the
non-decreasing convex hull of its curve, the references, both oracles and the
random baseline. Hollow markers: a point with approximate trajectories; a cross:
a point with incomplete trajectories (at its lower bound, outside the metrics).
"""

import base64
import io
from html import escape

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from simulator.report.figures import DPI, FONT, WIDTH_IN, label_points
from simulator.report.html import html_table
from simulator.report.sweep import metric_rows, point_rows

HEIGHT_IN = 4.6
SWEEP, HULL, BASELINE, REFERENCE = "#1f4e8c", "#d62728", "#e08a00", "0.15"
ORACLES = {"per_instance": ("*", "#1a7f37", "per-instance oracle"), "per_step": ("D", "#7b3294", "per-step oracle")}


def _marker(ax, point: dict, axis: str, marker: str, color: str, size: float = 6, **kwargs) -> None:
    x, y = _xy(point, axis)
    if point["incomplete"]:  # no resolved rate to trust: its lower bound, crossed out
        ax.plot(x, y, "x", color="0.5", ms=size, zorder=3)
        return
    face = "white" if point["approximate"] else color
    ax.plot(x, y, marker, ms=size, color=color, mfc=face, zorder=3, **kwargs)


def _xy(point: dict, axis: str) -> tuple[float, float]:
    """Where a point is drawn: (cost, resolved %), a point with incomplete trajectories at its lower bound."""
    rate = point["resolved_rate_bounds"][0] if point["incomplete"] else point["resolved_rate"]
    return (100 * point[axis] if axis == "share" else point[axis]), 100 * rate


def _draw(ax, sweep: dict, axis: str) -> None:
    complete = [p for p in sweep["points"] if not p["incomplete"]]
    metrics = sweep["metrics"]["sweep"][axis]
    if metrics:
        hull = [((100 * x if axis == "share" else x), 100 * y) for x, y in metrics["hull"]]
        right = max(_xy(p, axis)[0] for p in [*sweep["points"], *sweep["references"].values()])
        hx, hy = zip(*hull, (right, hull[-1][1]))
        ax.plot(hx, hy, color=HULL, lw=1.2, ls="--", zorder=2)
    if complete:
        line = sorted(_xy(p, axis) for p in complete)
        ax.plot(*zip(*line), color=SWEEP, lw=0.8, alpha=0.6, zorder=2)
    for p in sweep["points"]:
        _marker(ax, p, axis, "o", SWEEP)
    base = sorted((p for p in sweep["baseline"] if not p["incomplete"]), key=lambda p: p[axis])
    if base:
        ax.plot(*zip(*(_xy(p, axis) for p in base)), color=BASELINE, lw=0.8, ls=":", zorder=2)
    for p in sweep["baseline"]:
        _marker(ax, p, axis, "^", BASELINE)
    for p in sweep["references"].values():
        _marker(ax, p, axis, "s", REFERENCE)
    for name, p in sweep["oracles"].items():
        if p:
            marker, color, _ = ORACLES[name]
            _marker(ax, p, axis, marker, color, size=9 if marker == "*" else 6)
    # Limits before the labels: the labels are placed in pixels.
    xs = [_xy(p, axis)[0] for p in _all(sweep)]
    pad = 0.08 * (max(xs) - min(xs) or 1)
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    top = max(100 * p["resolved_rate_bounds"][1] for p in _all(sweep))
    ax.set_ylim(-4, min(104, max(top, 10) + 10))
    labelled = [*sweep["points"], *sweep["references"].values()]
    label_points(
        ax,
        [_xy(p, axis) for p in labelled],
        [",".join(f"{k}={v}" for k, v in p["settings"].items()) if "settings" in p else p["router"] for p in labelled],
    )
    ax.set_xlabel(
        f"share of steps on {sweep['tiers'][-1]} (%)" if axis == "share" else "mean spend per trajectory (USD)",
        fontsize=FONT + 1,
    )
    ax.set_ylabel("resolved rate (%)", fontsize=FONT + 1)
    ax.tick_params(labelsize=FONT)
    ax.grid(True, color="0.92", zorder=0)


def _all(sweep: dict) -> list[dict]:
    oracles = [o for o in sweep["oracles"].values() if o]
    return [*sweep["points"], *sweep["baseline"], *sweep["references"].values(), *oracles]


def _legend(fig, sweep: dict) -> None:
    handles = [
        Line2D([], [], marker="o", color=SWEEP, lw=0.8, label=f"{sweep['family']} ({', '.join(sweep['grid'])})"),
        Line2D([], [], color=HULL, ls="--", lw=1.2, label="non-decreasing convex hull"),
        Line2D([], [], marker="s", color=REFERENCE, lw=0, label="always-tier references"),
    ]
    if sweep["baseline"]:
        handles.append(Line2D([], [], marker="^", color=BASELINE, ls=":", lw=0.8, label="random baseline"))
    handles += [
        Line2D([], [], marker=ORACLES[n][0], color=ORACLES[n][1], lw=0, label=ORACLES[n][2])
        for n, o in sweep["oracles"].items()
        if o
    ]
    if any(p["approximate"] for p in _all(sweep)):
        handles.append(Line2D([], [], marker="o", color=SWEEP, mfc="white", lw=0, label="approximate"))
    if any(p["incomplete"] for p in _all(sweep)):
        handles.append(Line2D([], [], marker="x", color="0.5", lw=0, label="incomplete (lower bound, not in metrics)"))
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=FONT, frameon=False)


def sweep_png(sweep: dict) -> bytes:
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    bottom = 1.15 / HEIGHT_IN
    height = (HEIGHT_IN - 1.15 - 0.55) / HEIGHT_IN
    for i, axis in enumerate(("share", "spend")):
        ax = fig.add_axes((0.07 + i * 0.5, bottom, 0.41, height))
        _draw(ax, sweep, axis)
    n = sweep["references"]["strong"]["n"]
    fig.suptitle(
        f"Sweep of {sweep['family']} — {sweep['source'].get('name', '')}, {n} trajectories per point",
        fontsize=FONT + 2,
        x=0.07,
        ha="left",
    )
    _legend(fig, sweep)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def sweep_html(sweep: dict) -> str:
    """The sweep as a section of the HTML report: the picture, every point, the metrics."""
    data = base64.b64encode(sweep_png(sweep)).decode()
    points, metrics = point_rows(sweep), metric_rows(sweep)
    return (
        f"<h2>Sweep of {escape(sweep['family'])}</h2>"
        f'<img alt="resolved rate against top-tier share and spend for every point of the sweep" '
        f'src="data:image/png;base64,{data}">'
        + html_table(points[0], [[escape(c) for c in row] for row in points[1]])
        + html_table(metrics[0], [[escape(c) for c in row] for row in metrics[1]])
        + "<p>APGR and CPT against the cheapest and the top always-tier; AIQ over the non-decreasing convex hull. "
        "Points with incomplete trajectories are shown but left out of the metrics; ≈ marks approximate ones.</p>"
    )
