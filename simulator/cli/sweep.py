"""`twinsim sweep`: replay a router family over a parameter grid and report its quality curve."""

import sys
from pathlib import Path

import click

from simulator.cli.common import (
    RECORDING,
    check_routers,
    console,
    fail,
    html_report,
    recording_options,
    replay,
    replay_setup,
    report_of,
    report_source,
)
from simulator.cli.output import print_table


@click.command("sweep")
@click.argument("recording", type=RECORDING)
@click.option(
    "--router",
    "-r",
    "family",
    required=True,
    help="The router family: a router spec the grid's parameters are added to (`escalate`, `random:seed=1`).",
)
@click.option(
    "--grid",
    "grids",
    multiple=True,
    required=True,
    help="key=v1,v2,... (repeatable: every combination is a point). Values may hold '/' and ':' as specs do.",
)
@click.option(
    "--bank",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A static bank of this recording (`twinsim label --out`): adds the per-step oracle gold:bank=BANK.",
)
@click.option(
    "--baseline",
    type=click.Choice(["random", "none"]),
    default="random",
    show_default=True,
    help="The reference curve: the weighted random router over its top-tier weight (0.2 ... 0.8, seed 0).",
)
@recording_options
@click.option("--json", "json_path", default=None, help="Write the sweep as JSON here ('-' for stdout instead).")
@click.option(
    "--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the curve here."
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the HTML report of every replayed router here, the sweep's curve and metrics first.",
)
def sweep_command(recording, family, grids, bank, baseline, json_path, png_path, html_path, instances, **options):
    """Replay the router family (-r) on RECORDING at every setting of the grid, with the cheapest and the top
    always-tier as references, both oracles and the random baseline; print every point and the curve metrics
    (APGR, CPT(50%), CPT(80%), AIQ, oracle gap) on both cost axes: share of steps on the top tier, and spend."""
    from simulator.report.sweep import always, baseline_specs, expand, parse_grid, sweep_report

    try:
        grid = parse_grid(list(grids))
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    settings = expand(family, grid)
    jobs, quiet, max_live_usd = (options.pop(k) for k in ("jobs", "quiet", "max_live_usd"))
    setup, _, instances = replay_setup(recording, routers=[s for s, _ in settings], instances=instances, **options)
    if not instances:
        fail("the recording has no runs: name --instance")
    tiers = setup.pool.names
    base = baseline_specs(tiers) if baseline == "random" else []
    gold = f"gold:bank={bank}" if bank else None
    extra = [*map(always, tiers), *(s for s, _ in base), *([gold] if gold else [])]
    check_routers(setup, extra)
    routers = list(dict.fromkeys([*extra[: len(tiers)], *(s for s, _ in settings), *extra[len(tiers) :]]))
    from simulator.report.aggregate import deterministic, report_json

    results = replay(setup, routers, instances, jobs=jobs, quiet=quiet, max_live_usd=max_live_usd)
    report = deterministic(report_of(setup, results, report_source(setup, recording)))
    sweep = sweep_report(report, family, grid, settings, base, gold)
    if json_path == "-":
        sys.stdout.write(report_json(sweep))
    else:
        _print(sweep)
    for line in _notes(sweep):  # on stderr, also when the JSON goes to stdout
        console.print(line, soft_wrap=True)
    from simulator.report.sweep_views import sweep_html, sweep_png

    writers = (
        (None if json_path == "-" else json_path, lambda: report_json(sweep).encode()),
        (png_path, lambda: sweep_png(sweep)),
        (html_path, lambda: html_report(setup, report, [sweep_html(sweep)]).encode()),
    )
    for path, render in writers:
        if path:
            try:
                Path(path).write_bytes(render())
            except OSError as e:
                fail(f"cannot write {path}: {e}")


def _print(sweep: dict) -> None:
    from simulator.report.sweep import metric_rows, point_rows

    header, rows = point_rows(sweep)
    print_table(f"twinsim sweep — {sweep['family']} on {sweep['source'].get('name', '')}", header, rows)
    header, rows = metric_rows(sweep)
    print_table("curve metrics (APGR, CPT against the cheapest and the top always-tier)", header, rows)
    console.print(
        "points: used in the metrics (approximate / left out as incomplete / outside the references' cost range, "
        "left out of APGR and CPT); gap: resolved-rate points the hull lacks at the oracle's cost / the extra cost "
        "it needs for the oracle's resolved rate"
    )


def _notes(sweep: dict) -> list[str]:
    notes = []
    weak, strong = sweep["references"]["weak"], sweep["references"]["strong"]
    if sweep["metrics"]["sweep"]["gap"] <= 0:
        notes.append(
            f"no APGR or CPT: {strong['router']} resolves no more than {weak['router']} here (no gap to recover)"
        )
    for name, m in sweep["metrics"].items():
        if m and m["excluded_incomplete"]:
            notes.append(f"[yellow]incomplete[/] {name}: {m['excluded_incomplete']} points left out of the metrics")
        if m and m["approximate_points"]:
            notes.append(f"[yellow]approximate[/] {name}: {m['approximate_points']} of {m['points']} points")
    return notes
