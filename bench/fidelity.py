"""Fidelity of approximate replay: held-out routers replayed approximately, then run live.

    python bench/fidelity.py --base recordings/quickstart --held-out random:seed=7 --held-out random:seed=8 \\
        --out bench/fidelity.json [--instance ID ...] [--cache bench/fidelity-cache] [--jobs N] [--max-live-usd X]

For each held-out router (the base recording must not contain it):
1. replay it from the base recording under `--on-miss approximate` (no model calls);
2. run it live against the base recording's pool (its endpoints must be up, e.g.
   `twinsim serve-local` for the local pool) with a separate cache: nothing is borrowed
   from the base recording, and a second run resumes from what the first computed;
3. compare resolved rate and mean spend per trajectory, live vs approximate, and put
   next to them the error of the simplest static baseline: each always-tier's resolved
   rate and mean spend in the base recording, weighted by the router's tier mix (its
   share of steps per tier in the approximate replay).

Prints a markdown table for the README and writes every number to --out (JSON).
"""

import argparse
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from simulator.recording import RecordingError
from simulator.records import RunResult
from simulator.replay.context import MissPolicy
from simulator.replay.engine import run_replays
from simulator.replay.setup import Setup

METRICS = ("resolved_rate", "mean_spend_usd")


def outcome(runs: list[RunResult]) -> dict:
    n = len(runs)
    return {
        "n": n,
        "resolved_rate": sum(r.status == "resolved" for r in runs) / n,
        "mean_spend_usd": sum(r.spend_usd for r in runs) / n,
        "incomplete": sum(r.status == "incomplete" for r in runs),
    }


def tier_mix(runs: list[RunResult]) -> dict[str, float]:
    """Share of the router's steps at each tier."""
    counts = Counter(step.tier for run in runs for step in run.steps)
    total = sum(counts.values())
    return {tier: counts[tier] / total for tier in sorted(counts)}


def always_outcomes(base_runs: list[RunResult], instances: set[str]) -> dict[str, dict]:
    """Per tier: how its always-router did in the base recording on these instances."""
    by_tier = {}
    for router in sorted({r.router for r in base_runs if r.router.startswith("always:")}):
        runs = [r for r in base_runs if r.router == router and r.instance_id in instances]
        if runs:
            by_tier[router.split(":", 1)[1]] = outcome(runs)
    return by_tier


def baseline(mix: dict[str, float], always: dict[str, dict]) -> dict | None:
    """The always-tier outcomes weighted by the tier mix; None when a tier of the mix has no always-run."""
    if not mix or any(tier not in always for tier in mix):
        return None
    return {m: sum(share * always[tier][m] for tier, share in mix.items()) for m in METRICS}


def compare(router: str, live: list[RunResult], approximate: list[RunResult], always: dict[str, dict]) -> dict:
    """One held-out router: the live truth, the approximate replay, the baseline, and their errors."""
    truth, approx = outcome(live), outcome(approximate)
    approx |= {
        "exact": sum(r.exact for r in approximate),
        "approximated_steps": sum(len({a.step for a in r.approximations}) for r in approximate),
        "steps": sum(len(r.steps) for r in approximate),
    }
    mix = tier_mix(approximate)
    base = baseline(mix, always)
    live_status = {r.instance_id: r.status for r in live}
    return {
        "router": router,
        "live": truth,
        "approximate": approx,
        "tier_mix": mix,
        "baseline": base,
        "error": {
            "approximate": {m: abs(approx[m] - truth[m]) for m in METRICS},
            "baseline": {m: abs(base[m] - truth[m]) for m in METRICS} if base else None,
        },
        "same_status": sum(live_status.get(r.instance_id) == r.status for r in approximate) / len(approximate),
    }


def cell(x: float | None, fmt: str) -> str:
    return "–" if x is None else format(x, fmt)


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| router | n | resolved live | approx. | baseline | spend/traj. live $ | approx. $ | baseline $ | abs. "
        "error resolved: approx. / baseline | abs. error spend $: approx. / baseline | approximated steps | same "
        "outcome |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        live, approx, base = row["live"], row["approximate"], row["baseline"] or {}
        error, base_error = row["error"]["approximate"], row["error"]["baseline"] or {}
        lines.append(
            f"| {row['router']} | {live['n']} | {cell(live['resolved_rate'], '.0%')} | "
            f"{cell(approx['resolved_rate'], '.0%')} | {cell(base.get('resolved_rate'), '.0%')}"
            f" | {cell(live['mean_spend_usd'], '.4f')} | {cell(approx['mean_spend_usd'], '.4f')} | "
            f"{cell(base.get('mean_spend_usd'), '.4f')}"
            f" | {cell(error['resolved_rate'], '.2f')} / {cell(base_error.get('resolved_rate'), '.2f')}"
            f" | {cell(error['mean_spend_usd'], '.4f')} / {cell(base_error.get('mean_spend_usd'), '.4f')}"
            f" | {approx['approximated_steps']}/{approx['steps']} | {row['same_status']:.0%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base", type=Path, required=True, help="Recording to replay from (must not contain the held-out routers)."
    )
    parser.add_argument("--held-out", action="append", required=True, help="Router spec (repeatable).")
    parser.add_argument(
        "--instance", action="append", help="Instance id (repeatable); default: those of the base recording."
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("bench/fidelity-cache"),
        help="Cache of the live runs (kept apart from cache/).",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/fidelity.json"))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--max-live-usd", type=float, default=None)
    args = parser.parse_args(argv)

    try:
        setup = Setup.from_recording(args.base, policy=MissPolicy.parse("approximate"))
    except RecordingError as e:
        sys.exit(str(e))
    manifest = setup.manifest
    if clash := sorted(set(args.held_out) & {r.router for r in manifest.runs}):
        sys.exit(
            f"{args.base} already contains {', '.join(clash)}: a held-out router must not be in the base recording"
        )
    instances = args.instance or setup.recorded_runs[1]

    approximate = run_replays(setup, args.held_out, instances, jobs=args.jobs)
    live_setup = replace(setup, policy=MissPolicy.parse("live"), recording=None, cache_dir=args.cache)
    live = run_replays(live_setup, args.held_out, instances, jobs=args.jobs, max_live_usd=args.max_live_usd)

    always = always_outcomes(manifest.runs, set(instances))
    rows = [
        compare(r, [x for x in live if x.router == r], [x for x in approximate if x.router == r], always)
        for r in args.held_out
    ]
    report = {
        "base": str(args.base),
        "instances": instances,
        "always": always,
        "rows": rows,
        "runs": {
            "approximate": [r.model_dump(mode="json") for r in approximate],
            "live": [r.model_dump(mode="json") for r in live],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
