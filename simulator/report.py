"""Reports: per-router aggregates, the terminal table and the JSON report.

The JSON report is a pure function of the results: same recording, routers
and seed give the same bytes on any machine (no wall times, no paths).
Schema `twinsim.report/1`:

    {"schema": "twinsim.report/1",
     "source": {...}, "policy": str,
     "routers": [{"router", "n", "resolved", "unresolved", "incomplete", "exact",
                  "approximate", "approximated_steps", "env_runs",
                  "resolved_rate", "resolved_rate_bounds": [lo, hi],
                  "router_cost_usd", "mean_cost_usd", "leaderboard_bill_usd",
                  "mean_steps", "hit_rate", "live_calls", "live_usd"}],
     "runs": [RunResult, ...]}

Every trajectory is exact, approximate or incomplete (`RunResult.fidelity`);
`approximated_steps` counts the steps with a substitution, `env_runs` the
actions run and patches graded locally under `--on-miss approximate` (no API
cost; under `live` they count as live calls). `resolved_rate` counts incomplete
trajectories as unresolved; the bounds count them as unresolved / resolved. The bill charges 0.60 USD per trajectory that
is not resolved (incomplete included).
"""

import json

from rich.console import Console
from rich.table import Table

from simulator.schemas import RunResult

SCHEMA = "twinsim.report/1"
UNRESOLVED_PENALTY_USD = 0.60


def _r(x: float) -> float:
    return round(x, 10)  # fixed precision: no float-formatting noise in reports


def aggregate(router: str, runs: list[RunResult]) -> dict:
    n = len(runs)
    resolved = sum(r.status == "resolved" for r in runs)
    incomplete = sum(r.status == "incomplete" for r in runs)
    spend = sum(r.spend_usd for r in runs)
    hits = sum(sum(r.hits.values()) for r in runs)
    misses = sum(sum(r.misses.values()) for r in runs)
    approximations = [a for r in runs for a in r.approximations]
    return {
        "router": router,
        "n": n,
        "resolved": resolved,
        "unresolved": n - resolved - incomplete,
        "incomplete": incomplete,
        "exact": sum(r.fidelity == "exact" for r in runs),
        "approximate": sum(r.fidelity == "approximate" for r in runs),
        "approximated_steps": sum(len({a.step for a in r.approximations}) for r in runs),
        "env_runs": sum(a.how in ("live-env", "live-eval") for a in approximations),
        "resolved_rate": _r(resolved / n) if n else 0.0,
        "resolved_rate_bounds": [_r(resolved / n), _r((resolved + incomplete) / n)] if n else [0.0, 0.0],
        "router_cost_usd": _r(spend),
        "mean_cost_usd": _r(spend / n) if n else 0.0,
        "leaderboard_bill_usd": _r(spend + UNRESOLVED_PENALTY_USD * (n - resolved)),
        "mean_steps": _r(sum(len(r.steps) for r in runs) / n) if n else 0.0,
        "hit_rate": _r(hits / (hits + misses)) if hits + misses else 1.0,
        "live_calls": sum(sum(r.live.values()) for r in runs),
        "live_usd": _r(sum(r.live_usd for r in runs)),
    }


def build_report(results: list[RunResult], *, source: dict, policy: str) -> dict:
    routers = list(dict.fromkeys(r.router for r in results))
    return {
        "schema": SCHEMA,
        "source": source,
        "policy": policy,
        "routers": [aggregate(name, [r for r in results if r.router == name]) for name in routers],
        "runs": [r.model_dump(mode="json") for r in results],
    }


def report_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def print_table(report: dict, console: Console | None = None) -> None:
    console = console or Console(width=max(Console().width, 120))  # pipes get 80 columns otherwise
    table = Table(title=f"twinsim replay — {report['source'].get('name', '')} (on miss: {report['policy']})")
    for column in ("router", "n", "resolved", "approximate", "incomplete", "spend $", "bill $", "steps", "hit rate", "live calls"):
        table.add_column(column, justify="left" if column == "router" else "right", no_wrap=True)
    for a in report["routers"]:
        lo, hi = a["resolved_rate_bounds"]
        rate = f"{a['resolved']}/{a['n']} ({a['resolved_rate']:.0%})" if lo == hi else f"{lo:.0%}–{hi:.0%}"
        rate = f"≈{rate}" if a["approximate"] else rate  # an approximate number never looks exact
        table.add_row(
            a["router"],
            str(a["n"]),
            rate,
            f"{a['approximate']} ({a['approximated_steps']} steps)" if a["approximate"] else "0",
            str(a["incomplete"]),
            f"{a['router_cost_usd']:.4f}",
            f"{a['leaderboard_bill_usd']:.4f}",
            f"{a['mean_steps']:.1f}",
            f"{a['hit_rate']:.0%}",
            str(a["live_calls"]),
        )
    console.print(table)
    for run in report["runs"]:
        if run["status"] == "incomplete":
            console.print(f"[yellow]incomplete[/] {run['router']} × {run['instance_id']}: {run['reason']}")
