"""The terminal table of a report (the HTML table shows the same cells)."""

import os
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


def spend_text(a: dict) -> str:
    """Total spend; with incomplete trajectories the range from spent so far to the worst case."""
    if not a["incomplete"]:
        return money(a["router_cost_usd"])
    lo, hi = a["router_cost_usd_bounds"]
    return f"{lo:.4f}–{hi:.4f}"


def bill_text(a: dict) -> str:
    """The leaderboard bill; with incomplete trajectories its worst case, marked ≤."""
    return ("≤" if a["incomplete"] else "") + money(a["leaderboard_bill_usd"])


def spend_texts(a: dict) -> tuple[str, str, str, str]:
    """Spend, mean, $/resolved and bill; with incomplete trajectories the spend is a range (so far – worst
    case), mean and $/resolved are lower bounds (≥) and the bill is its worst case (≤)."""
    lower = "≥" if a["incomplete"] else ""
    per_resolved = a["cost_per_resolved_usd"]
    return (
        spend_text(a),
        lower + money(a["mean_cost_usd"]),
        "–" if per_resolved is None else lower + money(per_resolved),
        bill_text(a),
    )


def incomplete_warnings(report: dict) -> list[str]:
    """One line per router whose trajectories are mostly incomplete: its numbers are little more than bounds."""
    return [
        f"{a['incomplete']} of {a['n']} trajectories of {a['router']} are incomplete: its resolved rate, spend and "
        "bill are wide bounds. `--on-miss approximate` continues from the nearest recorded steps (marked ≈), "
        "`--on-miss live` computes the misses."
        for a in report["routers"]
        if a["incomplete"] * 2 > a["n"]
    ]


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
            *spend_texts(a),
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


def wide_console(*tables: Table) -> Console:
    """A console as wide as the tables need: pipes get 80 columns otherwise, and cells must not be cut."""
    return Console(width=max(Console().width, *(Console(width=10_000).measure(t).maximum for t in tables)))


def _table(header: list[str], rows: list[list[str]], columns: list[int], **titles) -> Table:
    table = Table(box=box.SIMPLE_HEAD, **titles)
    for i in columns:
        table.add_column(header[i], justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(row[i] for i in columns))
    return table


def column_groups(header: list[str], rows: list[list[str]], width: int | None) -> list[list[int]]:
    """The columns in tables no wider than `width`, each starting with the router (one table if it fits)."""
    if width is None:
        return [list(range(len(header)))]
    measure = lambda columns: Console(width=10_000).measure(_table(header, rows, columns)).maximum
    groups = [[0]]
    for i in range(1, len(header)):
        if len(groups[-1]) > 1 and measure([*groups[-1], i]) > width:
            groups.append([0])
        groups[-1].append(i)
    return groups


def _terminal_width() -> int | None:
    """A terminal's width (or COLUMNS'); a pipe or file gets one row per router, however wide."""
    console = Console()
    return console.width if console.is_terminal or "COLUMNS" in os.environ else None


def print_table(report: dict, console: Console | None = None) -> None:
    cost = report.get("cost_model", "simulated")
    title = f"twinsim replay — {report['source'].get('name', '')} (on miss: {report['policy']}; {cost} cost)"
    caption = (
        "* on the spend / resolved-rate Pareto frontier (routers without incomplete trajectories); 95% CI: Wilson; "
        f"bill: spend + {UNRESOLVED_PENALTY_USD:.2f} USD per unresolved"
    )
    if any(a["incomplete"] for a in report["routers"]):
        caption += "; with incomplete trajectories: spend so far – worst case, ≥ lower bound, ≤ worst-case bill"
    header, rows = table_rows(report)
    groups = column_groups(header, rows, console.width if console else _terminal_width())
    tables = [_table(header, rows, columns, title=title if n == 0 else None) for n, columns in enumerate(groups)]
    console = console or wide_console(*tables)
    for table in tables:
        console.print(table)
    console.print(caption, style="dim", width=min(console.width, 120))
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
