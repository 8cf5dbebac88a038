"""Quality curves of a router sweep: APGR and CPT (RouteLLM), AIQ (RouterBench), the gap to an oracle.

A sweep point is a (cost, quality) pair: quality is the resolved rate of whole
trajectories, cost is either the share of steps on the top tier (RouteLLM's axis,
`share`) or the mean spend per trajectory in USD (`spend`).

- APGR: the performance gap recovered, PGR = (q - q_weak) / (q_strong - q_weak),
  averaged over the cost axis normalised to [0, 1] between the weak reference
  (0) and the strong one (1). The curve runs through the points in cost order and
  is pinned at both references; between points it is linear (what mixing the two
  neighbouring routers would give in expectation). Points outside [0, 1] are left
  out and counted.
- CPT(x%): the least normalised cost at which that curve first recovers x% of
  the gap (linear interpolation), reported back in the axis' own units.
- AIQ: the area under the non-decreasing convex hull of the points divided by
  their cost range. The hull is the upper convex hull from the cheapest point
  (best quality among equally cheap ones) up to the best point, flat after it.
- Oracle gap, both ways: how much quality the hull lacks at the oracle's cost, and
  how much more the hull costs to reach the oracle's quality (None: it never does).
"""

from collections.abc import Sequence

from simulator.records import fixed

Curve = list[tuple[float, float]]
AXES = ("share", "spend")
CPT_TARGETS = (0.5, 0.8)


def pinned_curve(points: Sequence[tuple[float, float]], weak: tuple[float, float], strong: tuple[float, float]):
    """(normalised cost, PGR) through the points inside the references' cost range, pinned at (0, 0) and (1, 1),
    and how many points fell outside; None when the references leave no gap (same cost, or strong no better)."""
    (xw, yw), (xs, ys) = weak, strong
    if xs == xw or ys <= yw:
        return None
    normalised = [((x - xw) / (xs - xw), (y - yw) / (ys - yw)) for x, y in points]
    inside = [(u, g) for u, g in normalised if 0 <= u <= 1]
    return sorted([(0.0, 0.0), *inside, (1.0, 1.0)]), len(normalised) - len(inside)


def area(curve: Curve) -> float:
    """Trapezoid area under a curve sorted by x."""
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(curve, curve[1:]))


def apgr(curve: Curve) -> float:
    """Average PGR over [0, 1] of a pinned curve."""
    return area(curve)


def cpt(curve: Curve, target: float) -> float | None:
    """The first normalised cost at which the pinned curve reaches PGR `target` (linear between points)."""
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if y0 >= target:
            return x0
        if y1 >= target:
            return x0 + (x1 - x0) * (target - y0) / (y1 - y0)
    return curve[-1][0] if curve and curve[-1][1] >= target else None


def nondecreasing_hull(points: Sequence[tuple[float, float]]) -> Curve:
    """RouterBench's non-decreasing convex hull: the upper hull from the cheapest point to the best one."""
    top: dict[float, float] = {}
    for x, y in points:  # of equally costly points only the best can be on the hull
        top[x] = max(y, top.get(x, y))
    ordered = sorted(top.items())
    if not ordered:
        return []
    best = max(ordered, key=lambda p: (p[1], -p[0]))
    start = ordered[0]
    hull: Curve = []
    for p in [start, *(q for q in ordered if start[0] < q[0] <= best[0])]:
        # Pop while the last two hull points and p do not turn clockwise (upper hull).
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()
        hull.append(p)
    return hull


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def hull_at(hull: Curve, x: float) -> float | None:
    """Quality of the hull at cost x (flat after its best point); None below its cheapest point."""
    if not hull or x < hull[0][0]:
        return None
    for (x0, y0), (x1, y1) in zip(hull, hull[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return hull[-1][1]


def hull_cost_for(hull: Curve, y: float) -> float | None:
    """The least cost at which the hull reaches quality y; None if it never does."""
    if not hull or y > hull[-1][1]:
        return None
    if y <= hull[0][1]:
        return hull[0][0]
    for (x0, y0), (x1, y1) in zip(hull, hull[1:]):
        if y <= y1:
            return x0 + (x1 - x0) * (y - y0) / (y1 - y0)
    return None  # unreachable: y <= the last point's quality


def aiq(points: Sequence[tuple[float, float]]) -> float | None:
    """Area under the non-decreasing convex hull over the points' cost range, divided by that range."""
    if not points:
        return None
    hull = nondecreasing_hull(points)
    lo, hi = min(x for x, _ in points), max(x for x, _ in points)
    if hi == lo:
        return hull[-1][1]
    return (area(hull) + (hi - hull[-1][0]) * hull[-1][1]) / (hi - lo)


def oracle_gap(hull: Curve, oracle: tuple[float, float]) -> dict:
    """Quality the hull lacks at the oracle's cost, and the extra cost it needs for the oracle's quality."""
    x, y = oracle
    at = hull_at(hull, x)
    cost = hull_cost_for(hull, y)
    return {
        "quality_gap": None if at is None else fixed(y - at),
        "extra_cost": None if cost is None else fixed(cost - x),
    }


def axis_metrics(
    points: Sequence[tuple[float, float]],
    weak: tuple[float, float],
    strong: tuple[float, float],
    oracles: dict[str, tuple[float, float]],
) -> dict:
    """APGR, CPT, AIQ and oracle gaps of the points on one cost axis; AIQ and the hull include the references."""
    with_refs = [weak, strong, *points]
    hull = nondecreasing_hull(with_refs)
    pinned = pinned_curve(points, weak, strong)
    out: dict = {"apgr": None, "outside_reference_range": None}
    out |= {f"cpt{round(100 * t)}": None for t in CPT_TARGETS}
    if pinned is not None:
        curve, outside = pinned
        out["apgr"] = fixed(apgr(curve))
        out["outside_reference_range"] = outside
        for t in CPT_TARGETS:
            u = cpt(curve, t)
            out[f"cpt{round(100 * t)}"] = None if u is None else fixed(weak[0] + u * (strong[0] - weak[0]))
    out["aiq"] = fixed(aiq(with_refs))
    out["hull"] = [[fixed(x), fixed(y)] for x, y in hull]
    out["oracle_gap"] = {name: oracle_gap(hull, point) for name, point in oracles.items()}
    return out


def point_of(aggregate: dict, top_tier: str) -> dict:
    """A report aggregate as a sweep point: both costs, quality and how trustworthy it is."""
    return {
        "router": aggregate["router"],
        "share": aggregate["tier_mix"].get(top_tier, 0.0),
        "spend": aggregate["mean_cost_usd"],
        "resolved_rate": aggregate["resolved_rate"],
        "resolved_rate_bounds": aggregate["resolved_rate_bounds"],
        "n": aggregate["n"],
        "resolved": aggregate["resolved"],
        "exact": aggregate["exact"],
        "approximate": aggregate["approximate"],
        "incomplete": aggregate["incomplete"],
    }


def curve_metrics(points: list[dict], weak: dict, strong: dict, oracles: dict[str, dict]) -> dict:
    """Metrics of one curve (sweep points as from `point_of`) on both axes.

    A point with incomplete trajectories has no resolved rate to trust: it is left out
    and counted; points with approximate trajectories are kept and counted.
    """
    used = [p for p in points if not p["incomplete"]]
    result = {
        "points": len(used),
        "approximate_points": sum(1 for p in used if p["approximate"]),
        "excluded_incomplete": len(points) - len(used),
        # The curve is pinned at the references: say when they are not exact.
        "approximate_references": sum(1 for p in (weak, strong) if p["approximate"]),
        "incomplete_references": sum(1 for p in (weak, strong) if p["incomplete"]),
        # APGR and CPT need a gap: the top always-tier must resolve more than the cheapest.
        "gap": fixed(strong["resolved_rate"] - weak["resolved_rate"]),
    }
    for axis in AXES:
        if not used:  # the references alone make no curve
            result[axis] = None
            continue
        xy = [(p[axis], p["resolved_rate"]) for p in used]
        ref = {name: (o[axis], o["resolved_rate"]) for name, o in oracles.items()}
        result[axis] = axis_metrics(
            xy, (weak[axis], weak["resolved_rate"]), (strong[axis], strong["resolved_rate"]), ref
        )
    return result
