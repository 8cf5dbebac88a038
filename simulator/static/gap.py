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


def gap(static_scores: list[dict], dynamic: list[dict]) -> dict:
    """Per router its static scores next to its replay aggregate, and how the two orderings agree.

    `combined_vs_bill` correlates COMBINED with the negated bill (lower bill is
    better), so +1 means both tracks order the routers the same way.
    """
    by_router = {a["router"]: a for a in dynamic}
    routers = [
        {"router": s["router"], **{m: s[m] for m in METRICS}}
        | {
            k: by_router[s["router"]][k]
            for k in ("n", "resolved_rate", "incomplete", "router_cost_usd", "leaderboard_bill_usd")
        }
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
    }


def gap_figure(result: dict) -> bytes:
    """PNG: static COMBINED against the dynamic leaderboard bill, one labelled point per router."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    points: dict[tuple[float, float], list[str]] = {}  # routers on the same point share one label
    for r in result["routers"]:
        points.setdefault((math.nan if r["combined"] is None else r["combined"], r["leaderboard_bill_usd"]), []).append(
            r["router"]
        )
    fig = Figure(figsize=(7, 5), dpi=100)
    ax = fig.add_subplot()
    for (x, y), names in points.items():
        ax.scatter(x, y, color="tab:blue")
        ax.annotate("\n".join(names), (x, y), textcoords="offset points", xytext=(5, 3), fontsize=8)
    ax.margins(0.2)
    rho = result["spearman"]["combined_vs_bill"]
    ax.set(
        xlabel="static COMBINED (%)",
        ylabel="dynamic bill (USD, lower is better)",
        title=f"Static vs dynamic — Spearman(COMBINED, −bill) = {'n/a' if rho is None else f'{rho:.2f}'}",
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
