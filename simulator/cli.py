"""The `twinsim` command line."""

import datetime
import importlib.metadata
import json
import shlex
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from simulator import static
from simulator.compare import paired_comparison, print_comparison
from simulator.engine import Setup, replay_trajectory, run_config_of, run_replays, suite_identity
from simulator.explain import coverage_text, explain, probe_text
from simulator.figures import png_bytes
from simulator.localmodels import models_group, serve_local_command
from simulator.nearest import recorded
from simulator.policy import LiveBudget, MissPolicy, Tally
from simulator.recording import Recording, RecordingError, check_same_setup, import_recording, load_recording, merge, recording_from_store, save_recording
from simulator.report import build_report, deterministic, print_table, report_csv, report_json, wide_console
from simulator.report_html import report_html
from simulator.routers import BUILTINS, HttpRouter, describe, router_factory
from simulator.schemas import Manifest, builtin_names, load_agent_config, load_pool
from simulator.store import DiskStore
from simulator.suite import load_suite

console = Console(stderr=True)
SETUP_KEY = "setup"


@click.group()
def main() -> None:
    """Record and replay routed agent trajectories from a content-addressed cache."""


def _fail(message: str) -> None:
    raise click.ClickException(message)


@contextmanager
def _user_errors():
    """A bad router spec, instance id or file is a clear error, not a traceback."""
    try:
        yield
    except (FileNotFoundError, ValueError, KeyError) as e:
        _fail(str(e.args[0] if isinstance(e, KeyError) else e))


def _policy(text: str) -> MissPolicy:
    try:
        return MissPolicy.parse(text)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _report_options(command):
    """The report files replay and record write (and whether wall times go into them)."""
    options = [
        click.option("--json", "json_path", default=None, help="Write the JSON report here ('-' for stdout instead of the table)."),
        click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write one CSV row per router here."),
        click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the spend / resolved-rate and tier-strip picture here."),
        click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a self-contained HTML report with per-trajectory drill-down here."),
        click.option("--timings", is_flag=True, help="Also put router select latency (wall time, not reproducible) into JSON, CSV and HTML."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _replay(setup: Setup, routers, instances, *, jobs: int, quiet: bool, max_live_usd: float | None = None) -> list:
    with _user_errors():
        return run_replays(setup, list(routers), list(instances), jobs=jobs, max_live_usd=max_live_usd, show_progress=not quiet)


def _run_and_report(setup: Setup, routers, instances, *, jobs, max_live_usd, source: dict, quiet: bool, json_path, csv_path, png_path, html_path, timings) -> list:
    results = _replay(setup, routers, instances, jobs=jobs, quiet=quiet, max_live_usd=max_live_usd)
    report = build_report(results, source=source, policy=str(setup.policy), tiers=setup.pool.names)
    saved = report if timings else deterministic(report)
    if json_path == "-":
        sys.stdout.write(report_json(saved))
    else:
        print_table(report)
    html = lambda r: report_html(r, _responses(setup, r))
    for path, render in ((json_path, report_json), (csv_path, report_csv), (png_path, png_bytes), (html_path, html)):
        if path and path != "-":
            content = render(saved)
            try:
                Path(path).write_bytes(content if isinstance(content, bytes) else content.encode())
            except OSError as e:
                _fail(f"cannot write {path}: {e}")
    return results


def _responses(setup: Setup, report: dict) -> dict[str, dict]:
    """The stored response of every step in the report (the HTML shows what the model answered)."""
    store = setup.open_store()
    return {s["response"]: store.get("response", s["response"]) for run in report["runs"] for s in run["steps"]}


def _open(recording: Path, **settings) -> tuple[Recording, Setup]:
    """The recording, and the setup to replay it with (`settings`: policy, cache_dir, sample ...).
    Its suite must be the one installed here."""
    try:
        rec = load_recording(recording)
    except RecordingError as e:
        _fail(str(e))
    manifest = rec.manifest
    suite = load_suite(manifest.suite["name"])
    if suite_identity(suite) != manifest.suite:
        _fail(f"suite {suite.name!r} installed here ({suite.version}) differs from the one recorded: {manifest.suite}")
    return rec, Setup(pool=manifest.pool, agent=manifest.agent, suite=suite, recording=recording, **settings)


def _recorded_runs(manifest: Manifest) -> tuple[list[str], list[str]]:
    """The routers and the instances the recording ran: what a command uses unless told otherwise."""
    return list(dict.fromkeys(r.router for r in manifest.runs)), sorted({r.instance_id for r in manifest.runs})


def _replay_setup(recording: Path, on_miss: str, cache_dir: Path, sample: int) -> tuple[Setup, list[str], list[str], dict]:
    """A recording ready to replay: its setup, its routers and instances, and the report's source."""
    rec, setup = _open(recording, policy=_policy(on_miss), cache_dir=cache_dir, sample=sample)
    manifest = rec.manifest
    source = {"name": manifest.name or recording.name, "objects": len(rec.objects), "suite": manifest.suite, "sample": sample}
    return setup, *_recorded_runs(manifest), source


@main.command()
@click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--router", "-r", "routers", multiple=True, help="Router spec (repeatable); default: the routers the recording ran.")
@click.option("--instance", "-i", "instances", multiple=True, help="Instance id (repeatable); default: those the recording ran.")
@click.option("--on-miss", default="error", show_default=True, help="error | live | approximate, or per kind: response=approximate,observation=live,...")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("cache"), show_default=True, help="Where live misses are stored.")
@click.option("--max-live-usd", type=float, default=None, help="Stop going live once this much was spent.")
@click.option("--sample", type=int, default=0, show_default=True, help="Sample index of the responses to replay.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True)
@_report_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def replay(recording, routers, instances, on_miss, cache_dir, max_live_usd, sample, jobs, quiet, **report_files):
    """Replay trajectories of RECORDING under routers; zero API calls unless --on-miss allows them."""
    setup, recorded_routers, recorded_instances, source = _replay_setup(recording, on_miss, cache_dir, sample)
    routers, instances = routers or recorded_routers, instances or recorded_instances
    if not routers or not instances:
        _fail("the recording has no runs: name --router and --instance")
    _run_and_report(setup, routers, instances, jobs=jobs, max_live_usd=max_live_usd, source=source, quiet=quiet, **report_files)


@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("router_a")
@click.argument("router_b")
@click.option("--instance", "-i", "instances", multiple=True, help="With a recording: instance id (repeatable); default: those the recording ran.")
@click.option("--on-miss", default="error", show_default=True, help="With a recording: the miss policy of the replay.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("cache"), show_default=True, help="With a recording: where live misses are stored.")
@click.option("--sample", type=int, default=0, show_default=True, help="With a recording: sample index of the responses to replay.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the paired bootstrap.")
@click.option("--json", "json_path", default=None, help="Write the comparison as JSON here ('-' for stdout instead of the text).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def compare(source, router_a, router_b, instances, on_miss, cache_dir, sample, jobs, seed, json_path, quiet):
    """Paired comparison of ROUTER_A and ROUTER_B on the instances both ran.

    SOURCE is a recording folder (both routers are replayed on its instances)
    or a JSON report written by `twinsim replay --json` (its runs are used as they are).
    """
    if source.is_dir():
        setup, _, recorded_instances, report_source = _replay_setup(source, on_miss, cache_dir, sample)
        results = _replay(setup, [router_a, router_b], instances or recorded_instances, jobs=jobs, quiet=quiet)
        report = build_report(results, source=report_source, policy=str(setup.policy), tiers=setup.pool.names)
    else:
        report = _read_report(source)
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


def _read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(f"{path} is not a JSON report: {e}")
    if not isinstance(report, dict) or not str(report.get("schema", "")).startswith("twinsim.report/") or "runs" not in report:
        _fail(f"{path} is not a twinsim JSON report (write one with `twinsim replay --json`)")
    return report


@main.command("explain-miss")
@click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--router", "-r", required=True, help="Router spec.")
@click.option("--instance", "-i", required=True, help="Instance id.")
@click.option("--sample", type=int, default=0, show_default=True)
def explain_miss(recording, router, instance, sample):
    """Replay ROUTER on INSTANCE strictly and explain its first miss: the deepest recorded
    ancestor, the first differing message and field, a diff against the nearest recorded sibling."""
    _, setup = _open(recording, sample=sample)
    with _user_errors():
        router_factory(router, setup.pool)
        task = setup.suite.instance(instance)
    store, tally = setup.open_store(), Tally()
    result = replay_trajectory(setup, router, task, store, LiveBudget(), tally)
    if tally.first_miss is None:
        click.echo(f"{router} on {instance}: no miss ({result.status}{': ' + result.reason if result.reason else ''})")
    else:
        click.echo(explain(recorded(store), tally.first_miss, setup.pool))


@main.command()
@click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--router", "-r", "routers", multiple=True, help="Also replay these routers strictly and say how much is served exactly (repeatable).")
@click.option("--instance", "-i", "instances", multiple=True, help="Instance id (repeatable); default: those the recording ran.")
@click.option("--sample", type=int, default=0, show_default=True)
@click.option("--jobs", "-j", type=int, default=1, show_default=True)
def coverage(recording, routers, instances, sample, jobs):
    """What RECORDING holds per instance (its recorded tree, which tiers answered at which depths)
    and, for each --router, how much of its replay the recording serves exactly."""
    rec, setup = _open(recording, sample=sample)
    manifest = rec.manifest
    click.echo(coverage_text(recorded(rec.store()), manifest.runs, manifest.pool, sample, list(instances)))
    if routers:
        results = _replay(setup, routers, instances or _recorded_runs(manifest)[1], jobs=jobs, quiet=True)
        click.echo(probe_text(results))


@main.command()
@click.option("--pool", default="local", show_default=True, help=f"Built-in ({', '.join(builtin_names('pools'))}) or a YAML file.")
@click.option("--agent", "agent_name", default="textbased", show_default=True, help=f"Built-in ({', '.join(builtin_names('agents'))}) or a mini-swe-agent YAML file.")
@click.option("--suite", "suite_name", default="local", show_default=True)
@click.option("--router", "-r", "routers", multiple=True, required=True)
@click.option("--instance", "-i", "instances", multiple=True, help="Default: every instance of the suite.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Recording folder to write (merged if it exists).")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("cache"), show_default=True)
@click.option("--fanout", is_flag=True, help="Also ask every other tier at each visited prefix.")
@click.option("--max-live-usd", type=float, default=None)
@click.option("--sample", type=int, default=0, show_default=True)
@click.option("--jobs", "-j", type=int, default=1, show_default=True)
@_report_options
@click.option("--quiet", "-q", is_flag=True)
def record(pool, agent_name, suite_name, routers, instances, out, cache_dir, fanout, max_live_usd, sample, jobs, quiet, **report_files):
    """Run routers live (replay with --on-miss live) and write the recording to OUT."""
    try:
        pool_, agent, suite = load_pool(pool), load_agent_config(agent_name), load_suite(suite_name)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
    manifest = Manifest(name=out.name, pool=pool_, agent=agent, suite=suite_identity(suite))
    store = DiskStore(cache_dir)
    _claim_cache(store, manifest, cache_dir)
    existing = out if (out / "manifest.json").is_file() else None
    if existing:
        try:
            check_same_setup(load_recording(existing).manifest, manifest)
        except RecordingError as e:
            _fail(f"{out} was recorded with another setup ({e}); record into a new folder")
    setup = Setup(pool=pool_, agent=agent, suite=suite, policy=MissPolicy.parse("live"), recording=existing, cache_dir=cache_dir, sample=sample, fanout=fanout)
    start = time.monotonic()
    _run_and_report(setup, routers, instances or [i["instance_id"] for i in suite.instances], jobs=jobs, max_live_usd=max_live_usd, source={"name": out.name, "suite": manifest.suite, "sample": sample}, quiet=quiet, **report_files)
    manifest.made_with = {"sessions": [_session(time.monotonic() - start)]}
    _export(store, manifest, out)


def _claim_cache(store: DiskStore, manifest: Manifest, cache_dir: Path) -> None:
    """A cache holds one (pool, agent, suite) setup, so its export is one coherent recording."""
    setup = {"pool": manifest.pool.model_dump(mode="json"), "agent": manifest.agent.model_dump(mode="json"), "suite": manifest.suite}
    known = store.get(SETUP_KEY, SETUP_KEY)
    if known is None:
        store.put(SETUP_KEY, SETUP_KEY, setup)
    elif known != setup:
        _fail(f"cache {cache_dir} was used with another pool, agent or suite; use another --cache")


def _session(wall_sec: float) -> dict:
    versions = {p: importlib.metadata.version(p) for p in ("twinsim", "mini-swe-agent", "litellm", "swebench")}
    return {
        "command": shlex.join(["twinsim", *sys.argv[1:]]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "live_wall_sec": round(wall_sec, 1),
        "versions": versions,
    }


def _export(store: DiskStore, manifest: Manifest, out: Path) -> None:
    recording = recording_from_store(store, manifest)
    if (out / "manifest.json").is_file():
        recording = merge(recording, load_recording(out))
    save_recording(recording, out)
    console.print(f"wrote {out}: {len(recording.objects)} objects, {len(recording.manifest.runs)} runs")


@main.command("export")
@click.argument("cache_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def export_command(cache_dir, out):
    """Write the objects and runs of CACHE_DIR as a recording at OUT (merged if it exists)."""
    store = DiskStore(cache_dir)
    setup = store.get(SETUP_KEY, SETUP_KEY)
    if setup is None:
        _fail(f"{cache_dir} holds no recorded setup (was it made by `twinsim record`?)")
    _export(store, Manifest(name=out.name, **setup), out)


@main.command("import")
@click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("cache"), show_default=True)
def import_command(recording, cache_dir):
    """Put every object and run of RECORDING into the cache."""
    try:
        rec = load_recording(recording)
    except RecordingError as e:
        _fail(str(e))
    store = DiskStore(cache_dir)
    _claim_cache(store, rec.manifest, cache_dir)
    console.print(f"imported {import_recording(rec, store)} new objects into {cache_dir}")


@main.command("merge")
@click.argument("recordings", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def merge_command(recordings, out):
    """Union of RECORDINGS (same pool, agent and suite) written to OUT."""
    try:
        loaded = [load_recording(r) for r in recordings]
        result = loaded[0]
        for other in loaded[1:]:
            result = merge(result, other)
    except RecordingError as e:
        _fail(str(e))
    save_recording(result, out)
    console.print(f"wrote {out}: {len(result.objects)} objects, {len(result.manifest.runs)} runs")


@main.command()
def routers():
    """List the built-in routers, their spec syntax and what they do (their docstrings say more)."""
    for router in [*BUILTINS.values(), HttpRouter]:
        syntax, doc = describe(router)
        click.echo(syntax + "".join(f"\n    {line}".rstrip() for line in doc.splitlines()) + "\n")
    click.echo("package.module:attr | path/to/router.py[:attr]\n    Your own: a class or object with select(ctx), or a function returning a tier name or model id.\n    A class gets a fresh instance per trajectory. Example: examples/custom_router.py")


@main.command()
def pools():
    """List the built-in tier pools."""
    for name in builtin_names("pools"):
        pool = load_pool(name)
        click.echo(f"{name}: {pool.description}")
        for tier in pool.tiers:
            p = tier.pricing
            click.echo(f"  {tier.name:9} {tier.model:42} in {p.input} / cache read {p.cache_read} / cache write {p.cache_write} / out {p.output} USD per 1M")


# --- the static track ---------------------------------------------------------------------


def _write_json(json_path: str | None, data: dict) -> None:
    if json_path == "-":
        sys.stdout.write(report_json(data))
    elif json_path:
        Path(json_path).write_text(report_json(data))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    wide_console(table).print(table)


@main.command("label")
@click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--instance", "-i", "instances", multiple=True, help="Instance id (repeatable); default: those the recording ran.")
@click.option("--on-miss", default="error", show_default=True, help="Miss policy of every trial (as in replay).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the bank (JSON lines, TwinRouterBench's row format) here.")
@click.option("--benchmark", default=None, help="The rows' `benchmark`; default: the suite's name.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("cache"), show_default=True, help="Where live misses are stored.")
@click.option("--max-live-usd", type=float, default=None, help="Stop going live once this much was spent.")
@click.option("--json", "json_path", default=None, help="Write every trial as JSON here ('-' for stdout).")
@click.option("--extend", is_flag=True, help="With a live policy: write what the trials computed back into RECORDING, this session in its manifest.")
def label_command(recording, instances, on_miss, out, benchmark, cache_dir, max_live_usd, json_path, extend):
    """Label the steps of RECORDING's resolved all-top trajectories by downgrade-and-cascade.

    With `--on-miss live --extend`, RECORDING grows by the trials it lacked, so
    `twinsim static export RECORDING` later gives the same bank with zero calls."""
    policy = _policy(on_miss)
    rec, setup = _open(recording, policy=policy, cache_dir=cache_dir)
    manifest = rec.manifest
    instances = list(instances or _recorded_runs(manifest)[1])
    if extend and not policy.goes_live:
        raise click.UsageError("--extend needs a policy that goes live (e.g. --on-miss live)")
    if policy.goes_live:
        _claim_cache(DiskStore(cache_dir), manifest, cache_dir)
    start = time.monotonic()
    with _user_errors():
        result = static.label(setup, instances, benchmark=benchmark or manifest.suite["name"], budget=LiveBudget(max_live_usd),
                              on_instance=lambda i: console.print(f"{i['instance_id']}: seed {i['seed']['status']}, labels {' '.join(i['labels']) or '–'}"))
    totals = result.totals
    rows = []
    for i in result.instances:
        kinds = Counter(t["kind"] for t in i["trials"])
        rows.append([i["instance_id"], f"{i['seed']['status']} ({i['seed']['steps']})", " ".join(i["labels"]) or "–", str(len(i["trials"])),
                     *(str(kinds[k]) for k in ("exact", "live", "approximate", "incomplete")), str(sum(t["accepted"] for t in i["trials"]))])
    _print_table(f"twinsim label — {manifest.name or recording.name} (on miss: {policy})",
                 ["instance", "seed (steps)", "labels", "trials", "exact", "live", "approx", "incomplete", "accepted"], rows)
    click.echo(
        f"{totals['labelled']} of {totals['instances']} instances labelled ({totals['rows']} rows); {totals['trials']} trials: "
        f"{totals['exact']} exact, {totals['live']} live, {totals['approximate']} approximate, {totals['incomplete']} incomplete (not accepted); "
        f"{totals['accepted']} accepted; live spend ${totals['live_usd']:.4f}"
    )
    if out:
        out.write_text(static.bank_jsonl(result.rows), encoding="utf-8")
        console.print(f"wrote {out}: {len(result.rows)} rows")
    _write_json(json_path, {"schema": "twinsim.labels/1", "source": {"name": manifest.name or recording.name, "suite": manifest.suite},
                            "policy": str(policy), "totals": totals, "instances": result.instances})
    if extend:
        session = manifest.model_copy(update={"runs": [], "made_with": {"sessions": [_session(time.monotonic() - start)]}})
        _export(DiskStore(cache_dir), session, recording)


@main.group("static")
def static_group() -> None:
    """The static track: score routers on a bank of router-visible prefixes (TwinRouterBench's format)."""


@static_group.command("export")
@click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The bank to write (JSON lines).")
@click.option("--instance", "-i", "instances", multiple=True, help="Instance id (repeatable); default: those the recording ran.")
@click.option("--benchmark", default=None, help="The rows' `benchmark`; default: the suite's name.")
def static_export(recording, out, instances, benchmark):
    """The labelled prefixes of RECORDING as a static bank: downgrade-and-cascade replayed strictly.

    Every trial `twinsim label` ran (live or not) is in the recording once it is exported,
    so this gives the same bank with zero API calls; a trial the recording lacks counts as not accepted."""
    rec, setup = _open(recording)
    manifest = rec.manifest
    instances = list(instances or _recorded_runs(manifest)[1])
    with _user_errors():
        result = static.label(setup, instances, benchmark=benchmark or manifest.suite["name"], budget=LiveBudget())
    out.write_text(static.bank_jsonl(result.rows), encoding="utf-8")
    totals = result.totals
    click.echo(f"wrote {out}: {totals['rows']} rows from {totals['labelled']} labelled instances ({totals['incomplete']} trials not in the recording)")


def _load_bank(path: Path | None) -> list[dict] | None:
    try:
        return static.load_bank(path) if path else None
    except ValueError as e:
        _fail(str(e))


def _static_rows(scores: list[dict]) -> list[list[str]]:
    return [[s["router"], str(s["rows"]), *(_pct(s[m]) for m in static.METRICS), str(s["errors"])] for s in scores]


STATIC_COLUMNS = ["router", "rows", "ROWPASS", "ROWEXACT", "TRAJPASS", "COSTSAVE", "COMBINED", "errors"]


@static_group.command("score")
@click.argument("bank", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--router", "-r", "routers", multiple=True, required=True, help="Router spec (repeatable), as in replay; `knn` may omit bank=.")
@click.option("--pool", default="twinrouterbench", show_default=True, help="Tiers and prices: a built-in or a YAML file.")
@click.option("--train", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Bank a `knn` router without bank= learns from.")
@click.option("--holdout-by-instance", "folds", type=click.IntRange(min=2), default=None, help="Or K folds by instance: `knn` learns from the other folds.")
@click.option("--json", "json_path", default=None, help="Write the scores as JSON here ('-' for stdout instead of the table).")
def static_score(bank, routers, pool, train, folds, json_path):
    """ROWPASS, ROWEXACT, TRAJPASS, COSTSAVE and COMBINED of routers on BANK, per benchmark too."""
    if train and folds:
        raise click.UsageError("give --train or --holdout-by-instance, not both")
    rows, train_rows = _load_bank(bank), _load_bank(train)
    with _user_errors():
        pool_ = load_pool(pool)
        scores = static.score(rows, list(routers), pool_, train=train_rows, folds=folds or 0)
    benchmarks = Counter(r["benchmark"] for r in rows)
    evaluation = f"knn trained on {train.name}" if train else f"knn held out by instance, {folds} folds" if folds else "as given"
    if json_path != "-":
        _print_table(f"twinsim static score — {bank.name} on pool {pool_.name} ({evaluation})", STATIC_COLUMNS, _static_rows(scores))
        if len(benchmarks) > 1:
            per = [s["by_benchmark"][b] | {"router": f"{s['router']} · {b}"} for s in scores for b in sorted(benchmarks)]
            _print_table("per benchmark", STATIC_COLUMNS, _static_rows(per))
    _write_json(json_path, {"schema": "twinsim.static/1", "bank": {"name": bank.name, "rows": len(rows), "benchmarks": dict(sorted(benchmarks.items()))},
                            "pool": pool_.name, "evaluation": evaluation, "routers": scores})


@main.command("gap")
@click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--bank", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="The static bank to score the routers on.")
@click.option("--router", "-r", "routers", multiple=True, help="Router spec (repeatable); default: the routers the recording ran.")
@click.option("--instance", "-i", "instances", multiple=True, help="Instances to replay; default: those the recording ran.")
@click.option("--on-miss", default="error", show_default=True)
@click.option("--jobs", "-j", type=int, default=1, show_default=True)
@click.option("--json", "json_path", default=None, help="Write the gap as JSON here ('-' for stdout instead of the table).")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the static-vs-dynamic picture here.")
@click.option("--quiet", "-q", is_flag=True)
def gap_command(recording, bank, routers, instances, on_miss, jobs, json_path, png, quiet):
    """Each router's static scores on BANK next to its replay on RECORDING, and their rank correlation."""
    rec, setup = _open(recording, policy=_policy(on_miss))
    manifest = rec.manifest
    recorded_routers, recorded_instances = _recorded_runs(manifest)
    routers, instances = list(routers or recorded_routers), list(instances or recorded_instances)
    rows = _load_bank(bank)
    with _user_errors():
        scores = static.score(rows, routers, manifest.pool, run_config=run_config_of(manifest.agent, manifest.pool))
    results = _replay(setup, routers, instances, jobs=jobs, quiet=quiet)
    dynamic = build_report(results, source={}, policy=str(setup.policy))["routers"]
    result = static.gap(scores, dynamic)
    if json_path != "-":
        table = [[r["router"], *(_pct(r[m]) for m in static.METRICS), f"{r['resolved_rate']:.0%}", str(r["incomplete"]),
                  f"{r['router_cost_usd']:.4f}", f"{r['leaderboard_bill_usd']:.4f}"] for r in result["routers"]]
        _print_table(f"twinsim gap — static {bank.name} vs dynamic {manifest.name or recording.name} (on miss: {setup.policy})",
                     ["router", "ROWPASS", "ROWEXACT", "TRAJPASS", "COSTSAVE", "COMBINED", "resolved", "incomplete", "spend $", "bill $"], table)
        rho = result["spearman"]
        click.echo(f"Spearman(COMBINED, −bill) = {_rho(rho['combined_vs_bill'])}; Spearman(COMBINED, resolved rate) = {_rho(rho['combined_vs_resolved_rate'])} "
                   f"over {len(routers)} routers (+1: both tracks order the routers alike)")
    _write_json(json_path, {"schema": "twinsim.gap/1", "bank": bank.name, "recording": manifest.name or recording.name, "policy": str(setup.policy)} | result)
    if png:
        png.write_bytes(static.gap_figure(result))


def _rho(value: float | None) -> str:
    return "undefined (a side is constant)" if value is None else f"{value:+.3f}"


main.add_command(models_group)
main.add_command(serve_local_command)
