"""`twinsim import-trajectories`: a user's own mini-swe-agent runs and harness reports as a recording."""

import time
from pathlib import Path

import click

from simulator.cli.common import console, fail
from simulator.cli.output import print_table
from simulator.cli.stores import session
from simulator.config import Pricing


def _pricing(text: str | None) -> Pricing | None:
    if text is None:
        return None
    try:
        return Pricing(**{k: float(v) for k, v in (part.split("=", 1) for part in text.split(",") if part)})
    except (ValueError, TypeError) as e:
        raise click.BadParameter(
            f"{text!r}: use input=X,cache_read=X,cache_write=X,output=X in USD per 1M tokens ({e})"
        ) from None


def _money(x: float | None) -> str:
    return "–" if x is None else f"{x:.6f}"


def _error(estimate: float, truth: float) -> str:
    return f"{(estimate - truth) / truth:+.1%}" if truth else "–"


@click.command("import-trajectories")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="The recording to write.")
@click.option("--tier", required=True, help="The tier these runs' model is in the recording's pool.")
@click.option(
    "--reports",
    "reports_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A folder of SWE-bench harness reports (<instance_id>/report.json or <instance_id>.report.json).",
)
@click.option(
    "--pricing",
    "pricing_text",
    default=None,
    help="The tier's prices, USD per 1M tokens: input=X,cache_read=X,cache_write=X,output=X.",
)
@click.option("--model", default=None, help="The tier's litellm model string (default: the runs' model).")
@click.option("--extend", is_flag=True, help="Add to the recording at --out (another tier, more instances).")
@click.option(
    "--strict", is_flag=True, help="Refuse the whole import at the first bad file (default: skip it, say why)."
)
@click.option(
    "--cache-rule",
    "cache",
    default="default",
    show_default=True,
    help="The tier's prompt-cache rule for simulated spend: default, fit (from these runs), or block=N,min=N,hit=F.",
)
def import_command(paths, out, tier, reports_dir, pricing_text, model, extend, strict, cache):
    """Import mini-swe-agent trajectories (PATH: a .traj.json file or a folder of them) as a recording.

    Every run is replayed strictly afterwards and compared with its file; the table says which
    reproduce exactly, and what the recorded and the simulated cost model make of its spend."""
    from simulator.imports.check import check, parse_cache_rule
    from simulator.imports.importer import import_runs
    from simulator.imports.trajectory import TrajectoryError
    from simulator.recording import write_manifest

    if cache not in ("default", "fit"):
        try:
            parse_cache_rule(cache)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
    start = time.monotonic()
    try:
        result = import_runs(list(paths), out, tier=tier, pricing=_pricing(pricing_text), reports_dir=reports_dir,
                             model=model, extend=extend, strict=strict)  # fmt: skip
    except (TrajectoryError, FileExistsError, FileNotFoundError, ValueError) as e:
        fail(f"{e} (nothing was written)")
    for path, reason in result.skipped:
        click.echo(f"skipped {reason if reason.startswith(path) else f'{path}: {reason}'}", err=True)
    checks, rule, runs = check(result.setup, tier, result.runs, result.reports, cache)
    _print(checks, rule)
    setup = result.setup
    if rule is not None:
        setup.pool.tier(tier).cache = rule
    summary = {
        "tier": tier,
        "imported": len(result.runs),
        "skipped": [{"file": p, "reason": r} for p, r in result.skipped],
        "cache_rule": rule.model_dump() if rule else None,
        "runs": [c.json() for c in checks],
    }
    made = session(time.monotonic() - start) | {"import": summary}
    old = {(r.router, r.instance_id, r.sample): r for r in setup.manifest.runs}
    merged = old | {(r.router, r.instance_id, r.sample): r for r in runs}
    sessions = [*setup.manifest.made_with.get("sessions", []), made]
    manifest = setup.manifest.model_copy(update={
        "pool": setup.pool, "runs": [merged[k] for k in sorted(merged)], "made_with": {"sessions": sessions},
    })  # fmt: skip
    write_manifest(out, manifest)
    exact = sum(c.exact for c in checks)
    console.print(
        f"wrote {out}: {len(result.runs)} runs imported as tier {tier} ({exact} replay exactly), "
        f"{len(result.skipped)} skipped"
    )


def _print(checks, rule) -> None:
    columns = ["instance", "replay", "resolved", "instance_cost $", "recorded $", "simulated $"]
    columns += ["fitted $"] if rule else []
    rows = []
    for c in checks:
        replay, resolved = "exact" if c.exact else c.mismatch, {True: "yes", False: "no", None: "–"}[c.resolved]
        recorded = _money(c.recorded_usd) + ("" if c.reproducible else " *")
        row = [c.instance_id, replay, resolved, _money(c.instance_cost), recorded, _money(c.simulated_usd)]
        rows.append(row + ([_money(c.fitted_usd)] if rule else []))
    print_table("imported runs, replayed strictly", columns, rows)
    for c in checks:
        if not c.reproducible:
            console.print(f"* {c.instance_id}: recorded cost not reproducible: {c.reason}")
    recorded = sum(c.recorded_usd for c in checks)
    simulated = sum(c.simulated_usd for c in checks)
    line = f"spend over {len(checks)} runs: recorded {recorded:.6f} USD, "
    line += f"simulated {simulated:.6f} ({_error(simulated, recorded)})"
    if rule:
        fitted = sum(c.fitted_usd for c in checks)
        named = f"block={rule.block_tokens},min={rule.min_tokens},hit={rule.hit_rate}"
        line += f", with cache rule {named}: {fitted:.6f} ({_error(fitted, recorded)})"
    click.echo(line)
