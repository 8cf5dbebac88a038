"""The HTML report: one self-contained file (inline CSS, pictures as data URIs, no scripts).

The router table (the terminal table's cells), the spend / resolved-rate
picture, the tier strip, and a drill-down per (router, instance) with every
step's tier, cost, source and the action the model answered. Every text from
the report or the recording is escaped.
"""

import base64
import json
from collections.abc import Sequence
from html import escape

from simulator.report.aggregate import UNRESOLVED_PENALTY_USD
from simulator.report.figures import png_bytes
from simulator.report.tables import table_rows
from simulator.text import billable_text

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #1b1b1b; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
td.action { text-align: left; white-space: normal; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 12px; max-width: 70ch; }
details { margin: 0.2em 0; } summary { cursor: pointer; }
.resolved { color: #1a7f37; } .incomplete { color: #c2410c; } .unresolved { color: #666; }
img { max-width: 100%; }
"""


def action_text(response: dict | None) -> str:
    """What the model answered at a step: its message text and any tool calls (name and arguments)."""
    if response is None:
        return "(response not in the store)"
    return billable_text(response["message"])


def _img(report: dict, panel: str, alt: str) -> str:
    data = base64.b64encode(png_bytes(report, (panel,))).decode()
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def html_table(header: list[str], rows: list[list[str]], cls: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td{f' class={c}' if c else ''}>{cell}</td>" for cell, c in zip(row, cls or [""] * len(row)))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _run(run: dict, responses: dict[str, dict]) -> str:
    summary = (
        f"{escape(run['router'])} × {escape(run['instance_id'])} — <span "
        f'class="{run["status"]}">{run["status"]}</span>, '
        f"{run['spend_usd']:.6f} USD, {len(run['steps'])} steps, {run['fidelity']}"
    )
    reason = f"<p>{escape(run['reason'])}</p>" if run["reason"] else ""
    approximated = "".join(
        f"<p>approximated {escape(a['kind'])} at step {a['step']}: {escape(a['how'])}, similarity "
        f"{a['similarity']:.2f}</p>"
        for a in run["approximations"]
    )
    rows = [
        [
            str(s["step"]),
            escape(s["tier"]),
            f"{s['cost_usd']:.6f}",
            s["source"],
            f"<pre>{escape(action_text(responses.get(s['response'])))}</pre>",
        ]
        for s in run["steps"]
    ]
    steps = html_table(["step", "tier", "cost $", "source", "action"], rows, ["", "", "", "", "action"])
    return f"<details><summary>{summary}</summary>{reason}{approximated}{steps}</details>"


def report_html(report: dict, responses: dict[str, dict], sections: Sequence[str] = ()) -> str:
    """`responses`: the stored response record of every step's response key (missing ones say so);
    `sections`: HTML shown before the report's own pictures (a sweep's curve)."""
    header, rows = table_rows(report)
    title = f"twinsim report — {report['source'].get('name', '')}"
    source = escape(json.dumps(report["source"], sort_keys=True))
    notes = "".join(
        f"<p class=incomplete>incomplete {escape(r['router'])} × {escape(r['instance_id'])}: {escape(r['reason'])}</p>"
        for r in report["runs"]
        if r["status"] == "incomplete"
    )
    cost = escape(report.get("cost_model", "simulated"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p>On miss: {escape(report["policy"])}. Cost: {cost}. Schema {escape(report["schema"])}.
Source: <code>{source}</code></p>
{html_table(header, [[escape(c) for c in row] for row in rows])}
<p>* on the spend / resolved-rate Pareto frontier. 95% CI: Wilson score interval of the resolved rate.
Bill: spend + {UNRESOLVED_PENALTY_USD:.2f} USD per unresolved trajectory. Tier %: share of steps per tier.</p>
{notes}
{"".join(sections)}
<h2>Spend vs resolved rate</h2>
{_img(report, "frontier", "mean spend per trajectory against resolved rate, with the Pareto frontier")}
<h2>Tiers per step</h2>
{_img(report, "strip", "the tier chosen at each step of each trajectory")}
<h2>Trajectories</h2>
{"".join(_run(run, responses) for run in report["runs"])}
</body></html>
"""
