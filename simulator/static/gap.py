"""The static–dynamic gap: each router's static scores next to its replay, and how the two orderings agree."""

import io
import math
from collections.abc import Iterable

import numpy as np

from simulator.records import fixed
from simulator.static.score import METRICS


def average_ranks(values: Iterable[float]) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank."""
    _, inverse, counts = np.unique(np.asarray(list(values), dtype=float), return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2)[inverse]


def spearman(x: Iterable[float], y: Iterable[float]) -> float:
    """Spearman's rank correlation with average ranks for ties; NaN when a side is constant or n < 2."""
    rx, ry = average_ranks(x), average_ranks(y)
    if len(rx) != len(ry):
        raise ValueError("spearman needs two sequences of the same length")
    if len(rx) < 2 or np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return math.nan
    dx, dy = rx - rx.mean(), ry - ry.mean()
    return float((dx * dy).sum() / math.sqrt((dx * dx).sum() * (dy * dy).sum()))


DYNAMIC = (
    "n",
    "resolved",
    "resolved_rate",
    "resolved_rate_bounds",
    "exact",
    "approximate",
    "incomplete",
    "router_cost_usd",
    "router_cost_usd_bounds",
    "leaderboard_bill_usd",
    "leaderboard_bill_usd_bounds",
)  # of each router's replay aggregate (report/aggregate.py): fidelity and bounds travel with the numbers


def caveat(routers: list[dict]) -> str | None:
    """What the dynamic side rests on when it is not all exact; None when it is."""
    shaky = [r for r in routers if r["approximate"] or r["incomplete"]]
    if not shaky:
        return None
    approximate, incomplete = (sum(r[k] for r in routers) for k in ("approximate", "incomplete"))
    names = ", ".join(r["router"] for r in shaky)
    return (
        f"the dynamic side rests on {approximate} approximate and {incomplete} incomplete trajectories ({names}): "
        "their resolved rates are approximate (≈) or bounds, their bills worst cases (≤)"
    )


def gap(static_scores: list[dict], dynamic: list[dict]) -> dict:
    """Per router its static scores next to its replay aggregate, and how the two orderings agree.

    `combined_vs_bill` correlates COMBINED with the negated bill (lower bill is
    better), so +1 means both tracks order the routers the same way.
    """
    by_router = {a["router"]: a for a in dynamic}
    routers = [
        {"router": s["router"], **{m: s[m] for m in METRICS}} | {k: by_router[s["router"]][k] for k in DYNAMIC}
        for s in static_scores
    ]
    scored = [r for r in routers if r["combined"] is not None]  # a router with no COMBINED has no static rank
    combined = [r["combined"] for r in scored]
    return {
        "routers": routers,
        "spearman": {
            "combined_vs_bill": fixed(spearman(combined, [-r["leaderboard_bill_usd"] for r in scored])),
            "combined_vs_resolved_rate": fixed(spearman(combined, [r["resolved_rate"] for r in scored])),
        },
        "caveat": caveat(routers),
    }


def gap_figure(result: dict) -> bytes:
    """PNG: static COMBINED against the dynamic leaderboard bill, one labelled point per router; hollow where the
    replay is approximate or incomplete (its bill a worst case), labels moved apart where they would overlap."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points: dict[tuple[float, float, bool], list[str]] = {}  # routers on the same point share one label
    for r in result["routers"]:
        shaky = bool(r["approximate"] or r["incomplete"])
        x = math.nan if r["combined"] is None else r["combined"]
        points.setdefault((x, r["leaderboard_bill_usd"], shaky), []).append(("≈ " if shaky else "") + r["router"])
    fig = Figure(figsize=(7, 5), dpi=100)
    FigureCanvasAgg(fig)  # a renderer to measure the labels with
    ax = fig.add_subplot()
    labels = []
    for (x, y, shaky), names in points.items():
        ax.scatter(x, y, facecolors="none" if shaky else "tab:blue", edgecolors="tab:blue")
        labels.append(
            ax.annotate(
                "\n".join(names),
                (x, y),
                textcoords="offset points",
                xytext=(5, 3),
                fontsize=8,
                arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5},
            )
        )
    ax.margins(0.2)
    rho = result["spearman"]["combined_vs_bill"]
    ax.set(
        xlabel="static COMBINED (%)",
        ylabel="dynamic bill (USD, lower is better)",
        title=f"Static vs dynamic — Spearman(COMBINED, −bill) = {'n/a' if rho is None else f'{rho:.2f}'}",
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    separate_labels(fig, labels)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def separate_labels(fig, labels: list) -> list:
    """Move each label down (in order, top first) until its text overlaps no label placed before it; the boxes."""
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()

    def box(label):  # the text alone: an annotation's own extent includes its connecting line
        label.update_positions(renderer)
        return Text.get_window_extent(label, renderer)

    placed = []
    for label in sorted(labels, key=lambda a: -box(a).y1):
        extent = box(label)
        while any(extent.overlaps(other) for other in placed):
            dx, dy = label.xyann
            label.xyann = (dx, dy - extent.height * 72 / fig.dpi - 1)  # one label height, in points
            extent = box(label)
        placed.append(extent)
    return placed
