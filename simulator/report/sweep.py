"""A router sweep: the grid of router specs, and its report (every point, both oracles, the curve metrics).

Schema `twinsim.sweep/1`:

    {"schema": "twinsim.sweep/1", "source", "policy", "cost_model", "tiers",  # as in the replay report
     "family": str, "grid": {key: [value, ...]},
     "points": [Point + {"settings": {key: value}}],   # one per grid setting, in grid order
     "baseline": [Point + {"settings": {"weight": w}}],  # the weighted random router (empty: --baseline none)
     "references": {"weak": Point, "strong": Point},  # the cheapest and the top always-tier
     "oracles": {"per_instance": Point,               # per instance the cheapest resolving always-tier run
                 "per_step": Point | null},           # the gold-tier router of a bank (--bank)
     "metrics": {"sweep": Metrics, "baseline": Metrics | null},
     "routers": [aggregate, ...]}                    # every replayed router, as in the replay report

A Point is `report.curves.point_of` (router, share, spend, resolved_rate,
resolved_rate_bounds, n, resolved, exact, approximate, incomplete); Metrics is
`report.curves.curve_metrics`: the points used, how many rest on approximation, how many
were left out as incomplete, and per axis (`share`, `spend`) APGR, CPT(50%), CPT(80%) in
the axis' units, AIQ, the hull and the gap to each oracle.
"""

import itertools

from simulator.records import fixed
from simulator.report.curves import curve_metrics, point_of

SCHEMA = "twinsim.sweep/1"
BASELINE_WEIGHTS = (0.2, 0.4, 0.6, 0.8)
BASELINE_SEED = 0


def parse_grid(texts: list[str]) -> dict[str, list[str]]:
    """`key=v1,v2` options -> {key: [v1, v2]}, keys in the order given."""
    grid: dict[str, list[str]] = {}
    for text in texts:
        key, sep, values = text.partition("=")
        items = [v for v in values.split(",") if v]
        if not (sep and key and items):
            raise ValueError(f"--grid {text!r} is not key=v1,v2,...")
        if key in grid:
            raise ValueError(f"--grid key {key!r} given twice")
        grid[key] = list(dict.fromkeys(items))
    return grid


def expand(family: str, grid: dict[str, list[str]]) -> list[tuple[str, dict[str, str]]]:
    """Every setting of the grid (the product, last key fastest) as (router spec, settings)."""
    out = []
    for values in itertools.product(*grid.values()):
        settings = dict(zip(grid, values))
        extra = ",".join(f"{k}={v}" for k, v in settings.items())
        out.append((f"{family}{',' if ':' in family else ':'}{extra}" if extra else family, settings))
    return out


def baseline_specs(tiers: list[str]) -> list[tuple[str, dict]]:
    """The weighted random router between the cheapest and the top tier, over its top-tier weight."""
    low, top = tiers[0], tiers[-1]
    return [
        (f"random:seed={BASELINE_SEED},weights={low}:{fixed(1 - w)}/{top}:{w}", {"weight": w}) for w in BASELINE_WEIGHTS
    ]


def always(tier: str) -> str:
    return f"always:{tier}"


def instance_oracle(report: dict) -> dict:
    """Per instance, the always-tier run that resolves it for the least spend (else the least spend of all):
    what knowing the right tier per instance beforehand would give."""
    tiers = report["tiers"]
    chosen = []
    for instance in dict.fromkeys(r["instance_id"] for r in report["runs"]):
        runs = [r for t in tiers for r in report["runs"] if r["router"] == always(t) and r["instance_id"] == instance]
        resolving = [r for r in runs if r["status"] == "resolved"]
        chosen.append(min(resolving or runs, key=lambda r: r["spend_usd"]))  # min keeps the cheaper tier on ties
    steps = [s["tier"] for r in chosen for s in r["steps"]]
    n, resolved = len(chosen), sum(r["status"] == "resolved" for r in chosen)
    incomplete = sum(r["status"] == "incomplete" for r in chosen)
    return {
        "router": "oracle: cheapest resolving always-tier per instance",
        "share": fixed(steps.count(tiers[-1]) / len(steps)) if steps else 0.0,
        "spend": fixed(sum(r["spend_usd"] for r in chosen) / n) if n else 0.0,
        "resolved_rate": fixed(resolved / n) if n else 0.0,
        "resolved_rate_bounds": [fixed(resolved / n), fixed((resolved + incomplete) / n)] if n else [0.0, 0.0],
        "n": n,
        "resolved": resolved,
        "exact": sum(r["fidelity"] == "exact" for r in chosen),
        "approximate": sum(r["fidelity"] == "approximate" for r in chosen),
        "incomplete": incomplete,
    }


def sweep_report(
    report: dict,
    family: str,
    grid: dict[str, list[str]],
    settings: list[tuple[str, dict]],
    baseline: list[tuple[str, dict]],
    gold: str | None,
) -> dict:
    """The sweep's JSON from the replay report of every router it needed (`report.aggregate`, deterministic)."""
    tiers = report["tiers"]
    top = tiers[-1]
    by_router = {a["router"]: point_of(a, top) for a in report["routers"]}
    points = [by_router[spec] | {"settings": s} for spec, s in settings]
    base = [by_router[spec] | {"settings": s} for spec, s in baseline]
    weak, strong = by_router[always(tiers[0])], by_router[always(top)]
    oracles = {"per_instance": instance_oracle(report), "per_step": by_router[gold] if gold else None}
    present = {name: o for name, o in oracles.items() if o is not None and not o["incomplete"]}
    return {
        "schema": SCHEMA,
        **{k: report[k] for k in ("source", "policy", "cost_model", "tiers")},
        "family": family,
        "grid": grid,
        "points": points,
        "baseline": base,
        "references": {"weak": weak, "strong": strong},
        "oracles": oracles,
        "metrics": {
            "sweep": curve_metrics(points, weak, strong, present),
            "baseline": curve_metrics(base, weak, strong, present) if base else None,
        },
        "routers": report["routers"],
    }


def _cost(axis: str, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0%}" if axis == "share" else f"{value:.4f}"


def point_rows(sweep: dict) -> tuple[list[str], list[list[str]]]:
    """Every replayed point (references, oracles, sweep, baseline) as text cells, cheapest first per role."""
    from simulator.report.tables import rate_text

    top = sweep["tiers"][-1]
    header = ["router", "role", "resolved", f"{top} steps", "spend/traj $", "exact/apx/inc"]
    roles = [
        ("reference", [sweep["references"]["weak"], sweep["references"]["strong"]]),
        ("oracle", [o for o in sweep["oracles"].values() if o]),
        ("sweep", sweep["points"]),
        ("baseline", sweep["baseline"]),
    ]
    rows = [
        [
            p["router"],
            role,
            rate_text(p),
            _cost("share", p["share"]),
            _cost("spend", p["spend"]),
            f"{p['exact']}/{p['approximate']}/{p['incomplete']}",
        ]
        for role, points in roles
        for p in points
    ]
    return header, rows


def metric_rows(sweep: dict) -> tuple[list[str], list[list[str]]]:
    """Per curve and cost axis: APGR, CPT(50%), CPT(80%), AIQ and the gap to each oracle (quality / extra cost)."""
    oracles = [name for name, o in sweep["oracles"].items() if o and not o["incomplete"]]
    header = ["curve", "cost axis", "points (apx/inc/out)", "APGR", "CPT(50%)", "CPT(80%)", "AIQ"]
    header += [f"gap to {name.replace('_', '-')} oracle: resolved / cost" for name in oracles]
    rows = []
    for curve, m in sweep["metrics"].items():
        if m is None:
            continue
        for axis in ("share", "spend"):
            a = m[axis] or _NO_CURVE
            gaps = [a["oracle_gap"].get(name) for name in oracles]
            rows.append(
                [
                    curve,
                    f"{sweep['tiers'][-1]} steps" if axis == "share" else "spend/traj $",
                    f"{m['points']} ({m['approximate_points']}/{m['excluded_incomplete']}/"
                    f"{a['outside_reference_range'] or 0})",
                    "–" if a["apgr"] is None else f"{a['apgr']:.3f}",
                    _cost(axis, a["cpt50"]),
                    _cost(axis, a["cpt80"]),
                    "–" if a["aiq"] is None else f"{a['aiq']:.3f}",
                    *(_gap_text(axis, g) for g in gaps),
                ]
            )
    return header, rows


_NO_CURVE = {"outside_reference_range": None, "apgr": None, "cpt50": None, "cpt80": None, "aiq": None, "oracle_gap": {}}


def _gap_text(axis: str, gap: dict | None) -> str:
    if gap is None:
        return "–"
    quality = "–" if gap["quality_gap"] is None else f"{100 * gap['quality_gap']:+.1f} pp"
    cost = (
        "never"
        if gap["extra_cost"] is None
        else f"{'+' if gap['extra_cost'] >= 0 else ''}{_cost(axis, gap['extra_cost'])}"
    )
    return f"{quality} / {cost}"
