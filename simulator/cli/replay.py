"""Commands that replay a recording: replay, compare, explain-miss, coverage."""

import sys
from pathlib import Path

import click

from simulator.cli.common import (
    INSTANCES,
    JOBS,
    RECORDING,
    check_routers,
    console,
    fail,
    open_setup,
    recording_options,
    replay,
    replay_options,
    replay_setup,
    replayed_report,
    report_options,
    report_source,
    run_and_report,
    user_errors,
    write_trb,
)
from simulator.cli.output import read_report

INCOMPLETE_EXIT = 3  # 1 is an error, 2 a usage error (click)


@click.command("replay")
@click.argument("recording", type=RECORDING)
@click.option(
    "--router", "-r", "routers", multiple=True, help="Router spec (repeatable); default: the routers the recording ran."
)
@recording_options
@click.option(
    "--trajectories",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write every replayed trajectory here, in mini-swe-agent's own format (<router>/<instance>.traj.json).",
)
@click.option(
    "--no-fast-path",
    is_flag=True,
    help="Replay every trajectory through the agent loop (the fast path walks transitions learned earlier in this "
    "command, with the same results).",
)
@report_options
@click.option(
    "--fail-on-incomplete",
    is_flag=True,
    help="Exit with status 3 (after writing the reports) when any trajectory is incomplete: for CI.",
)
def replay_command(
    recording,
    routers,
    instances,
    on_miss,
    cache_dir,
    max_live_usd,
    sample,
    jobs,
    executor,
    cost_model,
    select_timeout,
    env_runs,
    trajectories,
    no_fast_path,
    fail_on_incomplete,
    quiet,
    **report_files,
):
    """Replay trajectories of RECORDING under routers; zero API calls unless --on-miss allows them."""
    setup, routers, instances = replay_setup(
        recording,
        on_miss,
        cache_dir,
        sample,
        routers,
        instances,
        cost_model,
        select_timeout,
        env_runs,
        trajectories=trajectories,
        executor=executor,
        fast_path=not no_fast_path,
    )
    if not routers or not instances:
        fail("the recording has no runs: name --router and --instance")
    source = report_source(setup, recording)
    results = run_and_report(
        setup, routers, instances, jobs=jobs, max_live_usd=max_live_usd, source=source, quiet=quiet, **report_files
    )
    incomplete = sum(r.status == "incomplete" for r in results)
    if fail_on_incomplete and incomplete:
        console.print(f"[red]{incomplete} of {len(results)} trajectories are incomplete[/] (--fail-on-incomplete)")
        sys.exit(INCOMPLETE_EXIT)


@click.command("compare")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("router_a")
@click.argument("router_b")
@click.option(
    "--instance",
    "-i",
    "instances",
    multiple=True,
    help="With a recording: instance id (repeatable); default: those the recording ran.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the paired bootstrap.")
@click.option(
    "--json", "json_path", default=None, help="Write the comparison as JSON here ('-' for stdout instead of the text)."
)
@replay_options
def compare_command(source, router_a, router_b, instances, seed, json_path, **replay_settings):
    """Paired comparison of ROUTER_A and ROUTER_B on the instances both ran.

    SOURCE is a recording folder (both routers are replayed on its instances)
    or a JSON report written by `twinsim replay --json` (its runs are used as they are).
    """
    from simulator.report.aggregate import report_json
    from simulator.report.compare import paired_comparison, print_comparison

    if source.is_dir():
        _, report = replayed_report(source, [router_a, router_b], instances, **replay_settings)
    else:
        report = read_report(source)
    try:
        comparison = paired_comparison(report, router_a, router_b, seed=seed)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if json_path == "-":
        sys.stdout.write(report_json(comparison))
        return
    print_comparison(comparison)
    if json_path:
        Path(json_path).write_text(report_json(comparison))


@click.command("export-trb")
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def export_trb_command(report, out):
    """Write the runs of REPORT (from `twinsim replay --json`) as TwinRouterBench run directories under OUT,
    one per router, as `replay --trb-dir` does."""
    write_trb(read_report(report), out)


@click.command("explain-miss")
@click.argument("recording", type=RECORDING)
@click.option("--router", "-r", required=True, help="Router spec.")
@click.option("--instance", "-i", required=True, help="Instance id.")
@click.option("--sample", type=int, default=0, show_default=True)
def explain_miss_command(recording, router, instance, sample):
    """Replay ROUTER on INSTANCE strictly and explain its first miss: the deepest recorded
    ancestor, the first differing message and field, a diff against the nearest recorded sibling."""
    setup = open_setup(recording, sample=sample)
    check_routers(setup, [router], [instance])
    from simulator.replay.context import LiveBudget, Tally
    from simulator.replay.engine import replay_trajectory
    from simulator.replay.explain import explain
    from simulator.replay.nearest import recorded

    with user_errors():
        store = setup.open_store()
    tally = Tally()
    result = replay_trajectory(setup, router, setup.suite.instance(instance), store, LiveBudget(), tally)
    if tally.first_miss is None:
        click.echo(f"{router} on {instance}: no miss ({result.status}{': ' + result.reason if result.reason else ''})")
    else:
        click.echo(explain(recorded(store), tally.first_miss, setup.pool))


@click.command("coverage")
@click.argument("recording", type=RECORDING)
@click.option(
    "--router",
    "-r",
    "routers",
    multiple=True,
    help="Also replay these routers strictly and say how much is served exactly (repeatable).",
)
@INSTANCES
@click.option("--sample", type=int, default=0, show_default=True)
@JOBS
def coverage_command(recording, routers, instances, sample, jobs):
    """What RECORDING holds per instance (its recorded tree, which tiers answered at which depths)
    and, for each --router, how much of its replay the recording serves exactly."""
    setup = open_setup(recording, sample=sample)
    check_routers(setup, routers, instances)
    from simulator.replay.explain import coverage_text, probe_text
    from simulator.replay.nearest import recorded

    with user_errors():
        store = setup.open_store()
    click.echo(coverage_text(recorded(store), setup.manifest.runs, setup.pool, sample, list(instances)))
    if routers:
        results = replay(setup, routers, instances or setup.recorded_runs[1], jobs=jobs, quiet=True)
        click.echo(probe_text(results))
