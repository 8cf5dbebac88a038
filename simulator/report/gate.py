"""The regression gate of `twinsim check`: a router's runs against a baseline report's, paired by instance.

A CI replays its router on a committed recording and asks: did it resolve fewer
instances, spend more, or leave the recording more often than the baseline did?
Runs are paired by (instance, sample), as `compare` pairs them; an incomplete
trajectory counts as not resolved here (a gate must not pass because a router
broke), and a baseline instance missing from the current runs is a breach (a
gate must not pass because fewer instances ran). The paired statistics of
`compare` (McNemar, bootstrap interval of the spend difference) come along,
for the record: the gate itself is on the limits, which a team sets.

JSON schema `twinsim.check/1`:

    {"schema", "router", "baseline_router", "cost_model",
     "limits": {"max_resolved_drop", "max_spend_increase_pct", "max_incomplete"},
     "n",                                        # paired instances
     "resolved": {"baseline", "current"},        # over the pairs; incomplete = not resolved
     "resolved_drop",                            # baseline − current
     "spend_usd": {"baseline", "current"},       # over the pairs
     "spend_increase_pct",                       # null when the baseline spent nothing
     "incomplete", "approximate",                # current trajectories (all of the router's runs)
     "missing": [instance_id, ...],              # baseline instances the current runs lack
     "worse": [{"instance_id", "sample", "status": [baseline, current],
                "spend_usd": [baseline, current], "why": [str, ...]}],
     "mcnemar_p", "spend_diff_ci95",             # from the paired comparison of complete pairs
     "breaches": [str, ...], "passed": bool}
"""

from dataclasses import asdict, dataclass

from simulator.records import fixed
from simulator.report.compare import paired_comparison

SCHEMA = "twinsim.check/1"


@dataclass(frozen=True)
class Limits:
    """How much worse than the baseline a router may get before the gate fails."""

    max_resolved_drop: int = 0
    max_spend_increase_pct: float = 10.0
    max_incomplete: int = 0


def routers_of(report: dict) -> list[str]:
    return list(dict.fromkeys(r["router"] for r in report["runs"]))


def pick_router(report: dict, name: str | None = None, *, prefer: str | None = None, what: str = "the report") -> str:
    """The router of `report` to use: `name` if given; else the one named `prefer`; else the only one."""
    known = routers_of(report)
    if name is not None:
        if name not in known:
            raise ValueError(f"router {name!r} has no runs in {what}; there are: {', '.join(known) or 'none'}")
        return name
    if prefer in known:
        return prefer
    if len(known) == 1:
        return known[0]
    raise ValueError(f"{what} has {len(known)} routers ({', '.join(known) or 'none'}): name the one to use")


def gate(current: dict, router: str, baseline: dict, baseline_router: str, limits: Limits, *, seed: int = 0) -> dict:
    """Check `router`'s runs in `current` against `baseline_router`'s in `baseline` (both `twinsim.report/*`)."""
    cost_models = current.get("cost_model", "simulated"), baseline.get("cost_model", "simulated")
    if cost_models[0] != cost_models[1]:
        raise ValueError(
            f"the baseline was priced with the {cost_models[1]} cost model, this run with {cost_models[0]}"
        )
    ours = [r for r in current["runs"] if r["router"] == router]
    theirs = [r for r in baseline["runs"] if r["router"] == baseline_router]
    mine = {(r["instance_id"], r["sample"]): r for r in ours}
    pairs = [(b, mine[(b["instance_id"], b["sample"])]) for b in theirs if (b["instance_id"], b["sample"]) in mine]
    missing = [b["instance_id"] for b in theirs if (b["instance_id"], b["sample"]) not in mine]
    solved = lambda run: run["status"] == "resolved"
    resolved = {"baseline": sum(solved(b) for b, _ in pairs), "current": sum(solved(c) for _, c in pairs)}
    spend = {
        "baseline": fixed(sum(b["spend_usd"] for b, _ in pairs)),
        "current": fixed(sum(c["spend_usd"] for _, c in pairs)),
    }
    increase = (
        fixed(100 * (spend["current"] - spend["baseline"]) / spend["baseline"]) if spend["baseline"] > 0 else None
    )
    # The paired statistics of `compare`, on both routers' runs under fixed labels (their names may be equal).
    runs = [r | {"router": "baseline"} for r in theirs] + [r | {"router": "current"} for r in ours]
    stats = paired_comparison({**current, "runs": runs}, "current", "baseline", seed=seed)
    result = {
        "schema": SCHEMA,
        "router": router,
        "baseline_router": baseline_router,
        "cost_model": cost_models[0],
        "limits": asdict(limits),
        "n": len(pairs),
        "resolved": resolved,
        "resolved_drop": resolved["baseline"] - resolved["current"],
        "spend_usd": spend,
        "spend_increase_pct": increase,
        "incomplete": sum(r["status"] == "incomplete" for r in ours),
        "approximate": sum(bool(r["approximations"]) and r["status"] != "incomplete" for r in ours),
        "missing": missing,
        "worse": [w for b, c in pairs if (w := _worse(b, c, limits))],
        "mcnemar_p": stats["mcnemar_p"],
        "spend_diff_ci95": stats["spend_diff_ci95"],
    }
    result["breaches"] = breaches(result, limits)
    result["passed"] = not result["breaches"]
    return result


def _worse(baseline: dict, current: dict, limits: Limits) -> dict | None:
    """How one instance got worse (None: it did not): lost its resolution, broke, or spent more than the limit."""
    why = []
    if baseline["status"] == "resolved" and current["status"] != "resolved":
        why.append("no longer resolved")
    if current["status"] == "incomplete" and baseline["status"] != "incomplete":
        why.append(f"incomplete: {current['reason']}")
    before, after = baseline["spend_usd"], current["spend_usd"]
    if after > before * (1 + limits.max_spend_increase_pct / 100) and after > before:
        why.append(f"spend +{100 * (after - before) / before:.0f}%" if before else "spend up from 0")
    if not why:
        return None
    return {
        "instance_id": current["instance_id"],
        "sample": current["sample"],
        "status": [baseline["status"], current["status"]],
        "spend_usd": [before, after],
        "why": why,
    }


def breaches(c: dict, limits: Limits) -> list[str]:
    """Each limit the current runs exceed, in words."""
    out = []
    if c["resolved_drop"] > limits.max_resolved_drop:
        out.append(
            f"resolved dropped by {c['resolved_drop']} ({c['resolved']['baseline']} → {c['resolved']['current']} of "
            f"{c['n']}; at most {limits.max_resolved_drop} allowed)"
        )
    pct, spend = c["spend_increase_pct"], c["spend_usd"]
    if pct is not None and pct > limits.max_spend_increase_pct:
        out.append(
            f"spend rose {pct:+.1f}% ({spend['baseline']:.6f} → {spend['current']:.6f} USD; at most "
            f"+{limits.max_spend_increase_pct:g}% allowed)"
        )
    elif pct is None and spend["current"] > 0:
        out.append(f"spend rose from 0 to {spend['current']:.6f} USD")
    if c["incomplete"] > limits.max_incomplete:
        out.append(f"{c['incomplete']} incomplete trajectories (at most {limits.max_incomplete} allowed)")
    if c["missing"]:
        out.append(f"{len(c['missing'])} baseline instances not run: {', '.join(c['missing'])}")
    return out


def verdict_lines(c: dict) -> list[str]:
    """A short verdict: pass or fail, the numbers, each breach, each instance that got worse."""
    head = "PASS" if c["passed"] else "FAIL"
    pct = "n/a" if c["spend_increase_pct"] is None else f"{c['spend_increase_pct']:+.1f}%"
    lines = [
        f"{head} {c['router']} vs baseline {c['baseline_router']} on {c['n']} paired instances: resolved "
        f"{c['resolved']['baseline']} → {c['resolved']['current']}, spend {c['spend_usd']['baseline']:.6f} → "
        f"{c['spend_usd']['current']:.6f} USD ({pct}), incomplete {c['incomplete']}"
        + (f", approximate {c['approximate']}" if c["approximate"] else ""),
    ]
    ci = c["spend_diff_ci95"]
    lines.append(
        f"  paired: McNemar p = {c['mcnemar_p']:.3g}"
        + (f", spend difference per trajectory 95% CI [{ci[0]:+.6f}, {ci[1]:+.6f}] USD" if ci else "")
    )
    lines += [f"  breach: {b}" for b in c["breaches"]]
    lines += [
        f"  worse: {w['instance_id']}: {w['status'][0]} → {w['status'][1]}, {w['spend_usd'][0]:.6f} → "
        f"{w['spend_usd'][1]:.6f} USD ({'; '.join(w['why'])})"
        for w in c["worse"]
    ]
    return lines
