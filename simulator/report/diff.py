"""Trajectory diffs (`twinsim diff`): per instance, what changed between two runs of it, and where they diverge.

Two runs of one instance are paired by (instance, sample). A step's response
key is the content address of (prefix, tier, sample): the first step whose keys
differ is where the trajectories diverge, either because the tier changed there
or because what came before differs. Both sides of that step are shown: the
tier, the head of the model's answer, and the head of what came back (the
messages the next step's prefix adds after the answer, or how the run ended).

JSON schema `twinsim.diff/1`:

    {"schema", "a", "b",                                   # router labels
     "instances": [{"instance_id", "sample",
                    "status": [a, b], "steps": [a, b], "spend_usd": [a, b], "tiers": [[...], [...]],
                    "changed": {"outcome", "steps", "spend", "tiers"},   # bools
                    "same_trajectory",                     # every step's response and every observation equal
                    "divergence": null | {"step", "a": Side | null, "b": Side | null}}],
     "only_a": [instance_id, ...], "only_b": [...]}
    Side = {"tier", "action", "observation"}               # heads of the texts; null past a run's last step
"""

from html import escape

from rich.markup import escape as markup_escape
from rich.table import Table

from simulator import keys
from simulator.report.html import STYLE, action_text, html_table
from simulator.store import Store
from simulator.text import billable_text

SCHEMA = "twinsim.diff/1"
HEAD_CHARS = 240
WALK_LIMIT = 16  # messages between two steps' prefixes: an answer and its observation(s), never many


def head(text: str, chars: int = HEAD_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= chars else text[:chars] + " …"


def trajectory_diff(a_runs: list[dict], b_runs: list[dict], store: Store | None) -> dict:
    """Pair two routers' runs by (instance, sample) and say what changed; `store` gives the texts (None: keys only)."""
    label = lambda runs: runs[0]["router"] if runs else ""
    b_by_case = {(r["instance_id"], r["sample"]): r for r in b_runs}
    a_cases = {(r["instance_id"], r["sample"]) for r in a_runs}
    return {
        "schema": SCHEMA,
        "a": label(a_runs),
        "b": label(b_runs),
        "instances": [
            _instance(a, b_by_case[(a["instance_id"], a["sample"])], store)
            for a in a_runs
            if (a["instance_id"], a["sample"]) in b_by_case
        ],
        "only_a": [r["instance_id"] for r in a_runs if (r["instance_id"], r["sample"]) not in b_by_case],
        "only_b": [r["instance_id"] for r in b_runs if (r["instance_id"], r["sample"]) not in a_cases],
    }


def _instance(a: dict, b: dict, store: Store | None) -> dict:
    tiers = [[s["tier"] for s in a["steps"]], [s["tier"] for s in b["steps"]]]
    responses = [s["response"] for s in a["steps"]], [s["response"] for s in b["steps"]]
    step = next((i for i, (x, y) in enumerate(zip(*responses)) if x != y), min(map(len, responses)))
    same = responses[0] == responses[1] and a["observations"] == b["observations"]
    diverges = not same and step < max(map(len, responses))
    return {
        "instance_id": a["instance_id"],
        "sample": a["sample"],
        "status": [a["status"], b["status"]],
        "steps": [len(a["steps"]), len(b["steps"])],
        "spend_usd": [a["spend_usd"], b["spend_usd"]],
        "tiers": tiers,
        "changed": {
            "outcome": a["status"] != b["status"],
            "steps": len(a["steps"]) != len(b["steps"]),
            "spend": a["spend_usd"] != b["spend_usd"],
            "tiers": tiers[0] != tiers[1],
        },
        "same_trajectory": same,
        "divergence": {"step": step, "a": _side(a, step, store), "b": _side(b, step, store)} if diverges else None,
    }


def _side(run: dict, step: int, store: Store | None) -> dict | None:
    """Tier, answer and what came back at `step` of a run (None when the run had ended before it)."""
    if step >= len(run["steps"]):
        return None
    trace = run["steps"][step]
    if store is None:
        return {"tier": trace["tier"], "action": f"response {trace['response'][:12]}", "observation": ""}
    record = store.get("response", trace["response"])
    return {
        "tier": trace["tier"],
        "action": head(action_text(record)),
        "observation": head(_observation(run, step, store)),
    }


def _observation(run: dict, step: int, store: Store) -> str:
    """What the agent got back after `step`'s answer: the messages the next step's prefix adds to its own."""
    steps = run["steps"]
    ending = f"(the run ends: {run['exit_status']}, {run['status']}{': ' + run['reason'] if run['reason'] else ''})"
    if step + 1 >= len(steps):
        return ending
    this, after = (store.get("response", steps[i]["response"]) for i in (step, step + 1))
    if not this or not after:
        return "(response not in the store)"
    added, node = [], after["prefix"]
    while node != this["prefix"] and node != keys.ROOT and len(added) < WALK_LIMIT:
        prefix = store.get("prefix", node)
        if prefix is None:
            break
        added.append(store.get("message", prefix["message"])["message"])
        node = prefix["parent"]
    if node != this["prefix"]:  # an approximated answer stands at another prefix
        return "(not on the recorded path: approximated)"
    # The answer itself is there unless it was malformed (mini-swe-agent keeps only the format error then).
    return "\n".join(billable_text(m) for m in reversed(added) if m.get("role") != "assistant")


def summary(d: dict) -> str:
    """One line per instance: what changed, and where the trajectories diverge."""
    parts = []
    if d["changed"]["outcome"]:
        parts.append(f"outcome {d['status'][0]} → {d['status'][1]}")
    if d["changed"]["steps"]:
        parts.append(f"steps {d['steps'][0]} → {d['steps'][1]}")
    if d["changed"]["spend"]:
        parts.append(f"spend {d['spend_usd'][0]:.6f} → {d['spend_usd'][1]:.6f}")
    if d["changed"]["tiers"]:
        parts.append("tiers changed")
    where = f"first divergent step: {d['divergence']['step']}" if d["divergence"] else "same trajectory"
    return f"{d['instance_id']}: {', '.join(parts) or 'no change'}; {where}"


def side_by_side(d: dict) -> list[tuple[str, str, str]]:
    """(field, A, B) rows of the divergent step."""
    div = d["divergence"]
    cell = lambda side, field: "(ended before this step)" if side is None else side[field]
    return [(f, cell(div["a"], f), cell(div["b"], f)) for f in ("tier", "action", "observation")]


def print_diff(diff: dict, console) -> None:
    console.print(f"twinsim diff — A = {diff['a']}, B = {diff['b']}")
    for d in diff["instances"]:
        console.print(summary(d), markup=False, highlight=False)
        if d["divergence"]:
            table = Table(title=f"step {d['divergence']['step']}", show_lines=True, title_justify="left")
            table.add_column("")
            table.add_column(f"A {diff['a']}", overflow="fold", ratio=1)
            table.add_column(f"B {diff['b']}", overflow="fold", ratio=1)
            for row in side_by_side(d):
                table.add_row(*map(markup_escape, row))
            console.print(table)
    for side in ("a", "b"):
        for instance_id in diff[f"only_{side}"]:
            console.print(f"only {side.upper()} ran {instance_id}", markup=False)


def diff_html(diff: dict) -> str:
    """The diff as one self-contained page in the report's style."""
    title = f"twinsim diff — A = {diff['a']}, B = {diff['b']}"
    rows = [
        [
            escape(d["instance_id"]),
            " → ".join(map(escape, d["status"])) if d["changed"]["outcome"] else escape(d["status"][0]),
            "{} → {}".format(*d["steps"]),
            "{:.6f} → {:.6f}".format(*d["spend_usd"]),
            "changed" if d["changed"]["tiers"] else "same",
            str(d["divergence"]["step"]) if d["divergence"] else "–",
        ]
        for d in diff["instances"]
    ]
    table = html_table(["instance", "outcome", "steps", "spend $", "tiers", "diverges at step"], rows)
    details = "".join(
        f"<details><summary>{escape(summary(d))}</summary>"
        + html_table(
            ["", f"A {escape(diff['a'])}", f"B {escape(diff['b'])}"],
            [[escape(row[0]), *(f"<pre>{escape(text)}</pre>" for text in row[1:])] for row in side_by_side(d)],
            ["", "action", "action"],
        )
        + "</details>"
        for d in diff["instances"]
        if d["divergence"]
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
{table}
<h2>Where they diverge</h2>
{details}
</body></html>
"""
