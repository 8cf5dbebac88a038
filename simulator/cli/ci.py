"""Commands for CI: `check` (a regression gate against a baseline report, exit 1 on a breach) and `diff`."""

import sys
from pathlib import Path

import click
from rich.console import Console

from simulator.cli.common import fail, open_setup, replay_options, replayed_report, user_errors
from simulator.cli.output import read_report

DIFF_WIDTH = 140  # two answers side by side: a pipe's 80 columns would fold them to shreds
REPORT_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("check")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--baseline", required=True, type=REPORT_FILE, help="The baseline JSON report (`replay --json`).")
@click.option(
    "--router",
    "-r",
    "routers",
    multiple=True,
    help="Router to check (repeatable); default: with a recording, the baseline's routers; with a report, all of it.",
)
@click.option(
    "--instance", "-i", "instances", multiple=True, help="With a recording: instance id; default: the baseline's."
)
@click.option("--max-resolved-drop", type=int, default=0, show_default=True, help="Fail if fewer resolve than this.")
@click.option(
    "--max-spend-increase",
    type=float,
    default=10.0,
    show_default=True,
    help="Fail if spend over the paired instances rises more than this many percent.",
)
@click.option("--max-incomplete", type=int, default=0, show_default=True, help="Fail on more incomplete trajectories.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the paired bootstrap.")
@click.option("--json", "json_path", default=None, help="Write the verdicts as JSON here ('-' for stdout).")
@replay_options
def check_command(
    source,
    baseline,
    routers,
    instances,
    max_resolved_drop,
    max_spend_increase,
    max_incomplete,
    seed,
    json_path,
    **replay_settings,
):
    """Gate a router against a baseline: exit 1 if it resolves fewer instances, spends more or leaves the
    recording more often than the limits allow, listing the instances that got worse.

    SOURCE is a recording (the routers are replayed on the baseline's instances) or a JSON report
    (its runs are used as they are). A router is paired with the baseline's router of the same name,
    else with the baseline's only router; runs are paired by instance.
    """
    from simulator.report.aggregate import report_json
    from simulator.report.gate import Limits, gate, pick_router, routers_of, verdict_lines

    base = read_report(baseline)
    if source.is_dir():
        routers = list(routers or routers_of(base))
        instances = list(instances or dict.fromkeys(r["instance_id"] for r in base["runs"]))
        _, current = replayed_report(source, routers, instances, **replay_settings)
    else:
        current = read_report(source)
        routers = list(routers or routers_of(current))
    limits = Limits(max_resolved_drop, max_spend_increase, max_incomplete)
    with user_errors():
        checks = [
            gate(
                current,
                pick_router(current, router),
                base,
                pick_router(base, prefer=router, what=f"the baseline {baseline}"),
                limits,
                seed=seed,
            )
            for router in routers
        ]
    if json_path == "-":
        sys.stdout.write(report_json({"checks": checks}))
    else:
        for c in checks:
            click.echo("\n".join(verdict_lines(c)))
        if json_path:
            Path(json_path).write_text(report_json({"checks": checks}))
    if not all(c["passed"] for c in checks):
        sys.exit(1)


@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option(
    "--recording",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Replay A and B here when they are router specs; shows the answers and observations of reports too.",
)
@click.option("--router-a", default=None, help="Which router of report A (when it has several).")
@click.option("--router-b", default=None, help="Which router of report B (when it has several).")
@click.option("--instance", "-i", "instances", multiple=True, help="Only these instances (repeatable).")
@click.option("--json", "json_path", default=None, help="Write the diff as JSON here ('-' for stdout).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@replay_options
def diff_command(a, b, recording, router_a, router_b, instances, json_path, html_path, **replay_settings):
    """Per instance, what changed between A and B (outcome, steps, spend, tiers) and, where the
    trajectories differ, the first divergent step side by side: tier, answer, observation.

    A and B are each a JSON report (`replay --json`) or a router spec replayed on --recording.
    """
    from simulator.report.aggregate import report_json
    from simulator.report.diff import diff_html, print_diff, trajectory_diff
    from simulator.report.gate import pick_router

    files = {side: Path(x) for side, x in (("a", a), ("b", b)) if Path(x).is_file()}
    reports = {side: read_report(path) for side, path in files.items()}
    specs = [x for side, x in (("a", a), ("b", b)) if side not in files]
    if specs and recording is None:
        fail(f"{' and '.join(specs)}: no such report; to diff router specs, name the recording with --recording")
    store = None
    if recording is not None:
        if specs:  # on the instances of the report it is diffed with, else on those the recording ran
            ran = list(dict.fromkeys(r["instance_id"] for report in reports.values() for r in report["runs"]))
            setup, replayed = replayed_report(recording, specs, list(instances) or ran, **replay_settings)
            for side, x in (("a", a), ("b", b)):
                reports.setdefault(side, replayed | {"runs": [r for r in replayed["runs"] if r["router"] == x]})
        else:
            setup = open_setup(recording, sample=replay_settings["sample"])
        with user_errors():
            store = setup.open_store()
    chosen = {"a": router_a, "b": router_b}
    with user_errors():
        names = {
            side: pick_router(reports[side], chosen[side] if side in files else None, what=x)
            for side, x in (("a", a), ("b", b))
        }
    runs = {
        side: [
            r for r in reports[side]["runs"] if r["router"] == name and (not instances or r["instance_id"] in instances)
        ]
        for side, name in names.items()
    }
    diff = trajectory_diff(runs["a"], runs["b"], store)
    if json_path == "-":
        sys.stdout.write(report_json(diff))
    else:
        print_diff(diff, Console(width=max(Console().width, DIFF_WIDTH)))
        if json_path:
            Path(json_path).write_text(report_json(diff))
    if html_path:
        try:
            html_path.write_text(diff_html(diff))
        except OSError as e:
            fail(f"cannot write {html_path}: {e}")
