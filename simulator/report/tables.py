"""The terminal table of a report (the HTML table shows the same cells)."""

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from simulator.report.aggregate import TIMINGS, UNRESOLVED_PENALTY_USD


def rate_text(a: dict) -> str:
    lo, hi = a["resolved_rate_bounds"]
    rate = f"{a['resolved']}/{a['n']} ({a['resolved_rate']:.0%})" if lo == hi else f"{lo:.0%}–{hi:.0%}"
    return f"≈{rate}" if a["approximate"] else rate  # an approximate number never looks exact


def ci_text(a: dict) -> str:
    lo, hi = a["resolved_rate_ci95"]
    return f"{lo:.0%}–{hi:.0%}"


def money(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"


def mix_text(a: dict, tiers: Sequence[str]) -> str:
    return "/".join(f"{a['tier_mix'][t]:.0%}".rstrip("%") for t in tiers)


def table_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """The table's header and cells, as text: the terminal table and the HTML table are these."""
    tiers = report["tiers"]
    timings = any(TIMINGS in a for a in report["routers"])
    header = [
        "router",
        "resolved",
        "95% CI",
        "spend $",
        "mean $",
        "$/resolved",
        "bill $",
        "steps",
        f"tier % {'/'.join(tiers)}",
        "hits",
        "exact/apx/inc",
        "live",
    ]
    header += ["select ms mean/p95"] if timings else []
    rows = []
    for a in report["routers"]:
        row = [
            a["router"] + (" *" if a["pareto"] else ""),
            rate_text(a),
            ci_text(a),
            money(a["router_cost_usd"]),
            money(a["mean_cost_usd"]),
            money(a["cost_per_resolved_usd"]),
            money(a["leaderboard_bill_usd"]),
            f"{a['mean_steps']:.1f}",
            mix_text(a, tiers),
            f"{a['hit_rate']:.0%}",
            f"{a['exact']}/{a['approximate']}/{a['incomplete']}",
            str(a["live_calls"]),
        ]
        if timings:
            ms = a.get(TIMINGS)
            row.append(f"{ms['mean']:.2f}/{ms['p95']:.2f}" if ms else "–")
        rows.append(row)
    return header, rows


def wide_console(table: Table) -> Console:
    """A console as wide as the table needs: pipes get 80 columns otherwise, and cells must not be cut."""
    return Console(width=max(Console().width, Console(width=10_000).measure(table).maximum))


def print_table(report: dict, console: Console | None = None) -> None:
    cost = report.get("cost_model", "simulated")
    title = f"twinsim replay — {report['source'].get('name', '')} (on miss: {report['policy']}; {cost} cost)"
    table = Table(
        title=title,
        caption="* on the spend / resolved-rate Pareto frontier; 95% CI: Wilson; "
        f"bill: spend + {UNRESOLVED_PENALTY_USD:.2f} USD per unresolved",
        box=box.SIMPLE_HEAD,
    )
    header, rows = table_rows(report)
    for column in header:
        table.add_column(column, justify="left" if column == "router" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console = console or wide_console(table)
    console.print(table)
    for a in report["routers"]:
        if a["approximate"]:
            kinds = ", ".join(f"{n} {kind}s" for kind, n in a["approximated"].items() if n)
            console.print(
                f"[yellow]approximate[/] {a['router']}: {a['approximate']} of {a['n']} trajectories, "
                f"{a['approximated_steps']} steps ({kinds} approximated)"
            )
    for run in report["runs"]:
        if run["status"] == "incomplete":
            console.print(f"[yellow]incomplete[/] {run['router']} × {run['instance_id']}: {run['reason']}")
