"""Reports: per-router aggregates, the JSON and CSV reports.

The JSON report is a pure function of the results: same recording, routers
and seed give the same bytes on any machine (no wall times, no paths).
Schema `twinsim.report/4`:

    {"schema": "twinsim.report/4",
     "source": {..., "pool": Pool},             # where the runs come from; the pool that priced them
     "policy": str,
     "cost_model": "simulated" | "recorded",    # what priced the steps (replay/promptcache.py)
     "tiers": [str, ...],                       # the pool's tiers, cheapest first
     "routers": [{"router", "n", "resolved", "unresolved", "incomplete",
                  "exact", "approximate",       # trajectories by fidelity (with incomplete: sum n)
                  "approximated": {"response", "observation", "evaluation"},  # substituted objects
                  "approximated_steps", "env_runs",  # steps with a substitution; actions run / patches graded locally
                  "resolved_rate", "resolved_rate_bounds": [lo, hi], "resolved_rate_ci95": [lo, hi],
                  "router_cost_usd", "mean_cost_usd", "cost_per_resolved_usd",  # null when none resolved
                  "router_cost_usd_bounds": [lo, hi],
                  "leaderboard_bill_usd",       # the worst case when trajectories are incomplete
                  "leaderboard_bill_usd_bounds": [lo, hi], "mean_steps",
                  "tier_mix": {tier: share of steps},
                  "hit_rate", "live_calls", "live_usd",
                  "pareto",                     # no incomplete trajectory, and no other such router spends less
                                                # per trajectory (mean) and resolves at least as often, or
                                                # resolves more for no more
                  "router_ms": {"mean", "p95"} | null}],  # only with --timings: wall time
     "runs": [RunResult, ...],
     "partial": {"finished": int, "planned": int}}  # only when Ctrl-C stopped the replay: the runs that finished

`resolved_rate` counts incomplete trajectories as unresolved; the bounds count
them as unresolved / resolved. `resolved_rate_ci95` is the 95% Wilson score
interval; with incomplete trajectories it runs from the interval's low end at
the lower bound to its high end at the upper bound. The bill charges 0.60 USD
per trajectory that is not resolved (incomplete included).

An incomplete trajectory stopped early, so what it spent is a lower bound:
`router_cost_usd`, `mean_cost_usd` and `cost_per_resolved_usd` count only its
steps so far. `router_cost_usd_bounds` runs from that to the worst case, where
each incomplete trajectory costs as much as the costliest complete trajectory
of the report (any router; its own spend if that is more, or if none is
complete). `leaderboard_bill_usd_bounds` runs from the best case (spend so far,
incomplete trajectories resolved) to the worst case (worst-case spend,
incomplete trajectories unresolved), and `leaderboard_bill_usd` is the worst
case, so failing early never bills less. Without incomplete trajectories both
bounds are the value itself.

Changes from `twinsim.report/3`: `router_cost_usd_bounds` and
`leaderboard_bill_usd_bounds` are new; `leaderboard_bill_usd` is the worst case
(it was the spend so far plus penalties); a router with an incomplete
trajectory is never on the Pareto frontier.

Changes from `twinsim.report/2`: `source.pool` (written by replay and record) and
each step's `cache_lookup`, `started_at` and `finished_at` (virtual seconds) are
new: with them a report is enough to write TwinRouterBench run directories
(`report/trb.py`). Cache entries are stamped at the start of their call (they
were stamped at its end).

Changes from `twinsim.report/1`: `exact` counts exact trajectories (it counted
complete ones); `approximate`, `approximated`, `resolved_rate_ci95`,
`cost_per_resolved_usd`, `tier_mix`, `pareto`, `tiers`, `router_ms`,
`approximated_steps` and `env_runs` are new. Every trajectory is exact,
approximate or incomplete (`RunResult.fidelity`); `env_runs` counts actions run
and patches graded locally under `--on-miss approximate` (no API cost; under
`live` they count as live calls).

The CSV report has one row per router with the same numbers and the cost model, nested fields
flattened (`resolved_rate_ci95_lo`, `tier_mix_low`, `approximated_response`).
"""

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence

import numpy as np

from simulator.records import RunResult, fixed
from simulator.replay.context import OBJECT_KINDS
from simulator.report.stats import wilson_interval

SCHEMA = "twinsim.report/4"
UNRESOLVED_PENALTY_USD = 0.60
TIMINGS = "router_ms"


def _router_ms(runs: list[RunResult]) -> dict | None:
    ms = [s.router_ms for r in runs for s in r.steps if s.router_ms is not None]
    return {"mean": round(float(np.mean(ms)), 3), "p95": round(float(np.percentile(ms, 95)), 3)} if ms else None


def worst_case_usd(results: list[RunResult]) -> float:
    """What an incomplete trajectory may cost at most, as far as the report knows: its costliest complete one."""
    return max((r.spend_usd for r in results if r.fidelity != "incomplete"), default=0.0)


def aggregate(router: str, runs: list[RunResult], tiers: Sequence[str], worst_usd: float = 0.0) -> dict:
    n = len(runs)
    resolved = sum(r.status == "resolved" for r in runs)
    fidelity = Counter(r.fidelity for r in runs)
    incomplete = fidelity["incomplete"]
    spend = sum(r.spend_usd for r in runs)
    hits = sum(sum(r.hits.values()) for r in runs)
    misses = sum(sum(r.misses.values()) for r in runs)
    steps = Counter(s.tier for r in runs for s in r.steps)
    n_steps = sum(steps.values())
    approximated = Counter(a.kind for r in runs for a in r.approximations)
    spend_hi = spend + sum(max(0.0, worst_usd - r.spend_usd) for r in runs if r.fidelity == "incomplete")
    bill_hi = spend_hi + UNRESOLVED_PENALTY_USD * (n - resolved)
    return {
        "router": router,
        "n": n,
        "resolved": resolved,
        "unresolved": n - resolved - incomplete,
        "incomplete": incomplete,
        "exact": fidelity["exact"],
        "approximate": fidelity["approximate"],
        "approximated": {kind: approximated[kind] for kind in OBJECT_KINDS},
        "approximated_steps": sum(len({a.step for a in r.approximations}) for r in runs),
        "env_runs": sum(a.how in ("live-env", "live-eval") for r in runs for a in r.approximations),
        "resolved_rate": fixed(resolved / n) if n else 0.0,
        "resolved_rate_bounds": [fixed(resolved / n), fixed((resolved + incomplete) / n)] if n else [0.0, 0.0],
        "resolved_rate_ci95": [
            fixed(wilson_interval(resolved, n)[0]),
            fixed(wilson_interval(resolved + incomplete, n)[1]),
        ],
        "router_cost_usd": fixed(spend),
        "mean_cost_usd": fixed(spend / n) if n else 0.0,
        "cost_per_resolved_usd": fixed(spend / resolved) if resolved else None,
        "router_cost_usd_bounds": [fixed(spend), fixed(spend_hi)],
        "leaderboard_bill_usd": fixed(bill_hi),
        "leaderboard_bill_usd_bounds": [
            fixed(spend + UNRESOLVED_PENALTY_USD * (n - resolved - incomplete)),
            fixed(bill_hi),
        ],
        "mean_steps": fixed(n_steps / n) if n else 0.0,
        "tier_mix": {tier: fixed(steps[tier] / n_steps) if n_steps else 0.0 for tier in tiers},
        "hit_rate": fixed(hits / (hits + misses)) if hits + misses else 1.0,
        "live_calls": sum(sum(r.live.values()) for r in runs),
        "live_usd": fixed(sum(r.live_usd for r in runs)),
        TIMINGS: _router_ms(runs),
    }


def pareto_optimal(points: list[tuple[float, float]]) -> list[bool]:
    """For (cost, rate) points: True where no other point costs no more and rates no lower, one strictly."""
    return [not any(c <= cost and r >= rate and (c, r) != (cost, rate) for c, r in points) for cost, rate in points]


def build_report(
    results: list[RunResult], *, source: dict, policy: str, tiers: Sequence[str] = (), cost_model: str = "simulated"
) -> dict:
    """The report, router select latency included; `deterministic()` removes it for files."""
    used = sorted({s.tier for r in results for s in r.steps} - set(tiers))
    tiers = [*tiers, *used]
    routers = list(dict.fromkeys(r.router for r in results))
    worst = worst_case_usd(results)
    aggregates = [aggregate(name, [r for r in results if r.router == name], tiers, worst) for name in routers]
    # A router that did not finish has no known place on the frontier: failing early must not look cheap.
    complete = [a for a in aggregates if not a["incomplete"]]
    optimal = pareto_optimal([(a["mean_cost_usd"], a["resolved_rate"]) for a in complete])
    for a in aggregates:
        a["pareto"] = False
    for a, on_frontier in zip(complete, optimal):
        a["pareto"] = on_frontier
    return {
        "schema": SCHEMA,
        "source": source,
        "policy": policy,
        "cost_model": cost_model,
        "tiers": tiers,
        "routers": aggregates,
        "runs": [r.model_dump(mode="json") for r in results],
    }


def deterministic(report: dict) -> dict:
    """The report without wall times: what files get unless --timings asks for them."""
    return report | {"routers": [{k: v for k, v in a.items() if k != TIMINGS} for a in report["routers"]]}


def report_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _flat(aggregate: dict) -> dict:
    row = {}
    for key, value in aggregate.items():
        if isinstance(value, list):  # [lo, hi]
            row[f"{key}_lo"], row[f"{key}_hi"] = value
        elif key == TIMINGS:
            row |= {f"{key}_{stat}": value[stat] if value else None for stat in ("mean", "p95")}
        elif isinstance(value, dict):
            row |= {f"{key}_{sub}": v for sub, v in value.items()}
        else:
            row[key] = value
    return row


def report_csv(report: dict) -> str:
    """One row per router: the JSON aggregates, flattened; empty cell for null."""
    rows = [_flat(a) | {"cost_model": report.get("cost_model", "simulated")} for a in report["routers"]]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["router"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: v if isinstance(v, str) else "" if v is None else json.dumps(v) for k, v in row.items()})
    return out.getvalue()
