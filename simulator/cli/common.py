"""What every command shares: clean errors, the miss-policy option, opening a recording, writing reports."""

import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console

from simulator.config import DEFAULT_SELECT_TIMEOUT_SEC
from simulator.pgstore import is_database_url
from simulator.recording import RecordingError
from simulator.replay.context import MissPolicy
from simulator.replay.promptcache import COST_MODELS
from simulator.replay.setup import Setup

console = Console(stderr=True)

COST_MODEL = click.option(
    "--cost-model",
    type=click.Choice(COST_MODELS),
    default="simulated",
    show_default=True,
    help="Price steps with the prompt-cache simulator, or with the provider-reported usage of the response served "
    "(exact where a run follows a recorded path).",
)
JOBS = click.option(
    "--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Trajectories replayed in parallel."
)
RECORDING = click.Path(exists=True, file_okay=False, path_type=Path)


def _help(prefix: str, text: str) -> str:
    """`text` as an option's help, after a prefix such as "With a recording: "."""
    return f"{prefix}{text[0].lower()}{text[1:]}" if prefix else text


def _location(ctx, param, value):
    return value if is_database_url(value) else Path(value)


def cache_option(prefix: str = ""):
    """Where live misses are stored: a folder or a PostgreSQL URL (`--store`, alias `--cache`, env TWINSIM_STORE)."""
    return click.option(
        "--store",
        "--cache",
        "cache_dir",
        envvar="TWINSIM_STORE",
        default="cache",
        show_default=True,
        callback=_location,
        help=_help(
            prefix,
            "Where live misses are stored: a folder, or a PostgreSQL database that many recorders share "
            "(postgresql://user:password@host:port/db; env TWINSIM_STORE).",
        ),
    )


CACHE_DIR = cache_option()
MAX_LIVE_USD = click.option(
    "--max-live-usd", type=float, default=None, help="Stop going live once this much was spent."
)
INSTANCES = click.option(
    "--instance", "-i", "instances", multiple=True, help="Instance id (repeatable); default: those the recording ran."
)
EXECUTOR = click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Run the (router × instance) pairs here (--jobs processes) or as Ray tasks on the cluster at RAY_ADDRESS "
    "(else a local one; pip install 'twinsim[scale]'). Reports are the same.",
)
SELECT_TIMEOUT = click.option(
    "--select-timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_SELECT_TIMEOUT_SEC,
    show_default=True,
    help="Seconds a router may take per step, else its trajectory ends incomplete (0: no limit; HTTP: its #timeout).",
)

NO_ENV_RUNS = click.option(
    "--no-env-runs",
    "env_runs",
    is_flag=True,
    flag_value=False,
    default=True,
    help="Under approximate, never run an action or grade a patch here: take them from the nearest recorded ones.",
)


def fail(message: str) -> None:
    raise click.ClickException(message)


@contextmanager
def user_errors():
    """A bad router spec, instance id, recording or file is a clear error, not a traceback."""
    try:
        yield
    except (FileNotFoundError, ValueError, KeyError) as e:  # RecordingError is a ValueError
        fail(str(e.args[0] if isinstance(e, KeyError) else e))


def parse_policy(text: str) -> MissPolicy:
    try:
        return MissPolicy.parse(text)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def open_setup(recording: Path, **settings) -> Setup:
    """The setup that replays RECORDING (`settings`: policy, cache_dir, sample ...); its suite must be here."""
    try:
        return Setup.from_recording(recording, **settings)
    except RecordingError as e:
        fail(str(e))


def check_routers(setup: Setup, routers, instances=()) -> None:
    """Bad router specs and unknown instances fail before anything heavy is imported or loaded."""
    from simulator.routers.registry import router_factory

    for what, names in (("router", routers), ("instance", instances)):
        repeated = [name for name, count in Counter(names).items() if count > 1]
        if repeated:  # a repeat would be replayed twice and counted twice, narrowing its interval
            fail(f"{what} {', '.join(repeated)} given more than once: name each {what} once")
    with user_errors():
        for spec in routers:
            router_factory(spec, setup.pool)
        for instance_id in instances:
            setup.suite.instance(instance_id)


def replay_setup(
    recording: Path,
    on_miss: str,
    cache_dir: Path,
    sample: int,
    routers=(),
    instances=(),
    cost_model="simulated",
    select_timeout=DEFAULT_SELECT_TIMEOUT_SEC,
    env_runs=True,
    **settings,
) -> tuple[Setup, list[str], list[str]]:
    """A recording ready to replay, with the routers and instances to replay (given, else those it ran), checked
    (`settings`: more of Setup's, such as executor)."""
    policy = parse_policy(on_miss)
    if not env_runs and "live" in (policy.observation, policy.evaluation):
        raise click.BadParameter(
            "--no-env-runs forbids what `live` does for observations and evaluations", param_hint="--on-miss"
        )
    setup = open_setup(
        recording,
        policy=policy,
        cache_dir=cache_dir,
        sample=sample,
        cost_model=cost_model,
        select_timeout_sec=select_timeout,
        env_runs=env_runs,
        **settings,
    )
    recorded_routers, recorded_instances = setup.recorded_runs
    routers, instances = list(routers or recorded_routers), list(instances or recorded_instances)
    check_routers(setup, routers, instances)
    return setup, routers, instances


def _replay_option_list(prefix: str) -> list:
    return [
        click.option(
            "--on-miss",
            default="error",
            show_default=True,
            help=_help(prefix, "error | live | approximate, or per kind: response=approximate,observation=live,..."),
        ),
        cache_option(prefix),
        click.option(
            "--sample",
            type=int,
            default=0,
            show_default=True,
            help=_help(prefix, "Sample index of the responses to replay."),
        ),
        JOBS,
        COST_MODEL,
        SELECT_TIMEOUT,
        NO_ENV_RUNS,
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]


def _with_options(command, options: list):
    for option in reversed(options):
        command = option(command)
    return command


def replay_options(command):
    """How a recording is replayed by a command that takes a recording or a report (compare, check, diff)."""
    return _with_options(command, _replay_option_list("With a recording: "))


def recording_options(command):
    """How replay and sweep replay a recording: instances, the replay options, a cap on live spend, the executor."""
    return _with_options(command, [INSTANCES, *_replay_option_list(""), MAX_LIVE_USD, EXECUTOR])


def replayed_report(
    recording, routers, instances, *, on_miss, cache_dir, sample, jobs, cost_model, select_timeout, env_runs, quiet
) -> tuple[Setup, dict]:
    """The setup and the report of `routers` replayed on `instances` (none: those it ran) of RECORDING."""
    setup, routers, instances = replay_setup(
        recording, on_miss, cache_dir, sample, routers, instances, cost_model, select_timeout, env_runs
    )
    results = replay(setup, routers, instances, jobs=jobs, quiet=quiet)
    return setup, report_of(setup, results, report_source(setup, recording))


def report_source(setup: Setup, recording: Path) -> dict:
    """Where a report's runs come from, and the pool that priced them; loads (and verifies) the recording's objects."""
    with user_errors():
        objects = len(setup.load().objects)
    return {
        "name": setup.manifest.name or recording.name,
        "objects": objects,
        "suite": setup.manifest.suite,
        "sample": setup.sample,
        "pool": setup.pool.model_dump(mode="json"),
    }


def report_options(command):
    """The report files replay and record write (and whether wall times go into them)."""
    options = [
        click.option(
            "--json",
            "json_path",
            default=None,
            help="Write the JSON report here ('-' for stdout instead of the table).",
        ),
        click.option(
            "--csv",
            "csv_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Write one CSV row per router here.",
        ),
        click.option(
            "--png",
            "png_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Write the spend / resolved-rate and tier-strip picture here.",
        ),
        click.option(
            "--html",
            "html_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Write a self-contained HTML report with per-trajectory drill-down here.",
        ),
        click.option(
            "--trb-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Write one TwinRouterBench run directory per router under this new directory (its scorer reads them).",
        ),
        click.option(
            "--timings",
            is_flag=True,
            help="Also put router select latency (wall time, not reproducible) into JSON, CSV and HTML.",
        ),
    ]
    return _with_options(command, options)


def replay(setup: Setup, routers, instances, *, jobs: int, quiet: bool, max_live_usd: float | None = None) -> list:
    from simulator.replay.engine import run_replays

    with user_errors():
        return run_replays(
            setup, list(routers), list(instances), jobs=jobs, max_live_usd=max_live_usd, show_progress=not quiet
        )


def run_and_report(
    setup: Setup,
    routers,
    instances,
    *,
    jobs,
    max_live_usd,
    source: dict,
    quiet: bool,
    json_path,
    csv_path,
    png_path,
    html_path,
    trb_dir,
    timings,
) -> list:
    from simulator.replay.engine import Interrupted
    from simulator.report.aggregate import deterministic, report_csv, report_json
    from simulator.report.tables import incomplete_warnings, print_table
    from simulator.report.trb import check_target

    if trb_dir:
        with user_errors():
            check_target(trb_dir)  # before the replay, not after it
    interrupted = None
    try:
        results = replay(setup, routers, instances, jobs=jobs, quiet=quiet, max_live_usd=max_live_usd)
    except Interrupted as e:  # Ctrl-C: report what finished, marked partial, then stop as interrupted
        results, interrupted = e.finished, e
    report = report_of(setup, results, source) | ({"partial": interrupted.partial} if interrupted else {})
    saved = report if timings else deterministic(report)
    if json_path == "-":
        sys.stdout.write(report_json(saved))
    else:
        print_table(report)
    for warning in incomplete_warnings(report):
        console.print(f"[yellow]warning:[/] {warning}")
    if env_runs := sum(a["env_runs"] for a in report["routers"]):
        console.print(
            f"note: {env_runs} actions or grades the recording lacks ran on this machine (actions in a throwaway copy "
            "of the repository, never the shared testbed; `env_runs` in the JSON; --no-env-runs forbids them)"
        )
    writers = (
        (json_path, report_json),
        (csv_path, report_csv),
        (png_path, _png),
        (html_path, lambda r: html_report(setup, r)),
    )
    for path, render in writers:
        if path and path != "-":
            content = render(saved)
            try:
                Path(path).write_bytes(content if isinstance(content, bytes) else content.encode())
            except OSError as e:
                fail(f"cannot write {path}: {e}")
    if trb_dir:
        write_trb(report, trb_dir)
    if interrupted:
        console.print(f'[yellow]interrupted:[/] the report holds the {interrupted} (marked "partial")')
        raise interrupted
    return results


def report_of(setup: Setup, results: list, source: dict) -> dict:
    """The report of a replay under `setup`: its miss policy, cost model and tiers."""
    from simulator.report.aggregate import build_report

    return build_report(
        results, source=source, policy=str(setup.policy), tiers=setup.pool.names, cost_model=setup.cost_model
    )


def write_trb(report: dict, out: Path) -> None:
    from simulator.report.trb import export_trb

    try:
        dirs = export_trb(report, out)
    except (ValueError, KeyError, OSError) as e:
        fail(f"cannot write TwinRouterBench run directories to {out}: {e.args[0] if isinstance(e, KeyError) else e}")
    console.print(f"wrote {len(dirs)} TwinRouterBench run directories under {out}")


def _png(report: dict) -> bytes:
    from simulator.report.figures import png_bytes

    return png_bytes(report)


def html_report(setup: Setup, report: dict, sections=()) -> str:
    """The HTML report shows what the model answered: the stored response of every step."""
    from simulator.report.html import report_html

    store = setup.open_store()
    responses = {s["response"]: store.get("response", s["response"]) for run in report["runs"] for s in run["steps"]}
    return report_html(report, responses, sections)
