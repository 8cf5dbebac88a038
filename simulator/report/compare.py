"""Paired comparison of two routers on the same instances.

Only instances both routers ran are paired; a pair where either trajectory is
incomplete is listed apart and counted nowhere (its outcome is unknown).
Resolution: McNemar's exact test on the discordant pairs. Spend: mean
per-trajectory difference (A − B) with a seeded paired bootstrap 95% interval.
JSON schema `twinsim.compare/1`:

    {"schema", "source", "policy", "cost_model", "a", "b", "seed",
     "n",                                   # complete pairs
     "resolved": {"a", "b"}, "discordant": {"a_only", "b_only"}, "mcnemar_p",
     "approximate_pairs",                   # complete pairs with an approximate trajectory
     "spend_diff_mean_usd", "spend_diff_ci95": [lo, hi],   # null when n = 0
     "bill_diff_usd",                       # leaderboard bill of A minus B over the pairs
     "verdict": str,                        # ends with a caveat when it rests on approximate or incomplete pairs
     "differing": [{"instance_id", "sample", "status": [a, b], "spend_usd": [a, b], "steps": [a, b]}],
     "incomplete": [{"instance_id", "sample", "status": [a, b], "reason": str}],
     "unpaired": [{"router", "instance_id", "sample"}]}
"""

from rich.console import Console
from rich.table import Table

from simulator.records import fixed
from simulator.report.aggregate import UNRESOLVED_PENALTY_USD
from simulator.report.stats import mcnemar_exact, paired_bootstrap_ci

SCHEMA = "twinsim.compare/1"
ALPHA = 0.05


def paired_comparison(report: dict, a: str, b: str, *, seed: int = 0) -> dict:
    """Compare routers `a` and `b` over the runs of a report (`twinsim.report/*`)."""
    if a == b:
        raise ValueError("name two different routers")
    runs = {(r["router"], r["instance_id"], r["sample"]): r for r in report["runs"]}
    known = list(dict.fromkeys(r["router"] for r in report["runs"]))
    for name in (a, b):
        if name not in known:
            raise ValueError(f"router {name!r} has no runs here; there are: {', '.join(known) or 'none'}")
    cases = {router: [(i, s) for r, i, s in runs if r == router] for router in (a, b)}
    both = set(cases[a]) & set(cases[b])
    paired = [case for case in cases[a] if case in both]
    unpaired = [
        {"router": router, "instance_id": i, "sample": s}
        for router in (a, b)
        for i, s in cases[router]
        if (i, s) not in both
    ]
    complete, incomplete = [], []
    for i, s in paired:
        ra, rb = runs[(a, i, s)], runs[(b, i, s)]
        if "incomplete" in (ra["status"], rb["status"]):
            incomplete.append(
                {
                    "instance_id": i,
                    "sample": s,
                    "status": [ra["status"], rb["status"]],
                    "reason": ra["reason"] or rb["reason"],
                }
            )
        else:
            complete.append((ra, rb))
    n = len(complete)
    solved = [(ra["status"] == "resolved", rb["status"] == "resolved") for ra, rb in complete]
    a_only, b_only = sum(x and not y for x, y in solved), sum(y and not x for x, y in solved)
    p = mcnemar_exact(a_only, b_only)
    spend = None
    if n:
        spend = paired_bootstrap_ci(
            [ra["spend_usd"] for ra, _ in complete], [rb["spend_usd"] for _, rb in complete], seed=seed
        )
    resolved = {"a": sum(x for x, _ in solved), "b": sum(y for _, y in solved)}
    bill = sum(ra["spend_usd"] - rb["spend_usd"] for ra, rb in complete) + UNRESOLVED_PENALTY_USD * (
        resolved["b"] - resolved["a"]
    )
    result = {
        "schema": SCHEMA,
        "source": report["source"],
        "policy": report["policy"],
        "cost_model": report.get("cost_model", "simulated"),
        "a": a,
        "b": b,
        "seed": seed,
        "n": n,
        "resolved": resolved,
        "discordant": {"a_only": a_only, "b_only": b_only},
        "mcnemar_p": fixed(p),
        "approximate_pairs": sum(bool(ra["approximations"] or rb["approximations"]) for ra, rb in complete),
        "spend_diff_mean_usd": fixed(spend[0]) if spend else None,
        "spend_diff_ci95": [fixed(spend[1]), fixed(spend[2])] if spend else None,
        "bill_diff_usd": fixed(bill),
        "differing": [
            {
                "instance_id": ra["instance_id"],
                "sample": ra["sample"],
                "status": [ra["status"], rb["status"]],
                "spend_usd": [ra["spend_usd"], rb["spend_usd"]],
                "steps": [len(ra["steps"]), len(rb["steps"])],
            }
            for ra, rb in complete
            if (ra["status"], ra["spend_usd"], len(ra["steps"])) != (rb["status"], rb["spend_usd"], len(rb["steps"]))
        ],
        "incomplete": incomplete,
        "unpaired": unpaired,
    }
    result["verdict"] = verdict(result)
    return result


def verdict(c: dict) -> str:
    """One line: is there a difference in resolution, and in spend, at this n?"""
    a, b, n = c["a"], c["b"], c["n"]
    if not n:
        return "nothing to compare: no instance has a complete trajectory under both routers" + caveat(c)
    ra, rb, p = c["resolved"]["a"], c["resolved"]["b"], c["mcnemar_p"]
    if p < ALPHA:
        more, fewer = (a, b) if ra > rb else (b, a)
        counts = f"{max(ra, rb)} vs {min(ra, rb)} of {n}, McNemar p = {p:.3g}"
        resolution = f"{more} resolves significantly more than {fewer} ({counts})"
    else:
        resolution = f"no significant difference in resolved rate at n={n} ({ra} vs {rb}, McNemar p = {p:.3g})"
    lo, hi = c["spend_diff_ci95"]
    if lo > 0 or hi < 0:
        spend = f"{a} spends significantly {'more' if lo > 0 else 'less'} per trajectory than {b}"
    else:
        spend = "no significant spend difference"
    return f"{resolution}; {spend}" + caveat(c)


def caveat(c: dict) -> str:
    """What the verdict rests on when not every pair is exact: approximate pairs, and incomplete ones left out."""
    notes = []
    if c["approximate_pairs"]:
        notes.append(f"{c['approximate_pairs']} of the {c['n']} pairs rest on approximate trajectories (≈)")
    if c["incomplete"]:
        notes.append(f"{len(c['incomplete'])} pairs with an incomplete trajectory are left out")
    return f" — caveat: {'; '.join(notes)}" if notes else ""


def print_comparison(c: dict, console: Console | None = None) -> None:
    console = console or Console(width=max(Console().width, 120))
    a, b = c["a"], c["b"]
    summary = Table(
        title=f"twinsim compare — {c['source'].get('name', '')}: A = {a}, B = {b} (on miss: {c['policy']})",
        show_header=False,
    )
    summary.add_column(no_wrap=True)
    summary.add_column()
    summary.add_row(
        "paired instances",
        f"{c['n']} complete"
        + (f" ({c['approximate_pairs']} with an approximate trajectory)" if c["approximate_pairs"] else ""),
    )
    summary.add_row("resolved A vs B", f"{c['resolved']['a']} vs {c['resolved']['b']} of {c['n']}")
    summary.add_row(
        "McNemar exact",
        f"p = {c['mcnemar_p']:.4g} (only A resolved: {c['discordant']['a_only']}, only B: {c['discordant']['b_only']})",
    )
    if c["spend_diff_ci95"]:
        lo, hi = c["spend_diff_ci95"]
        summary.add_row(
            "spend A − B",
            f"{c['spend_diff_mean_usd']:+.6f} USD per trajectory, 95% CI [{lo:+.6f}, {hi:+.6f}] (paired bootstrap, "
            f"seed {c['seed']})",
        )
    summary.add_row("bill A − B", f"{c['bill_diff_usd']:+.4f} USD over the paired instances")
    summary.add_row("verdict", c["verdict"])
    console.print(summary)
    if c["differing"]:
        table = Table(title="Where they differ")
        for column in ("instance", "status A", "status B", "spend A $", "spend B $", "steps A", "steps B"):
            table.add_column(
                column, justify="left" if column in ("instance", "status A", "status B") else "right", no_wrap=True
            )
        for d in c["differing"]:
            flag = " ≠" if d["status"][0] != d["status"][1] else ""
            table.add_row(
                d["instance_id"] + flag,
                *d["status"],
                *(f"{x:.6f}" for x in d["spend_usd"]),
                *(str(x) for x in d["steps"]),
            )
        console.print(table)
    for d in c["incomplete"]:
        console.print(
            f"[yellow]not counted[/] {d['instance_id']}: A {d['status'][0]}, B {d['status'][1]} — {d['reason']}"
        )
    for u in c["unpaired"]:
        console.print(f"[yellow]unpaired[/] {u['router']} × {u['instance_id']} (the other router did not run it)")
