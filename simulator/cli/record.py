"""Commands that make and move recordings: record, export, import, merge."""

import time
from pathlib import Path

import click

from simulator.cli.common import (
    CACHE_DIR,
    EXECUTOR,
    JOBS,
    MAX_LIVE_USD,
    RECORDING,
    SELECT_TIMEOUT,
    check_routers,
    console,
    fail,
    report_options,
    run_and_report,
)
from simulator.cli.stores import SETUP_KEY, claim_cache, export, session, store_at, where
from simulator.config import builtin_names, load_agent_config, load_pool
from simulator.pgstore import is_database_url
from simulator.recording import (
    RecordingError,
    check_same_setup,
    import_recording,
    load_recording,
    merge,
    read_manifest,
    save_recording,
)
from simulator.records import Manifest
from simulator.replay.context import MissPolicy
from simulator.replay.setup import Setup
from simulator.suite import load_suite, suite_identity

FOLDER = click.Path(file_okay=False, path_type=Path)


@click.command("record")
@click.option(
    "--pool", default="local", show_default=True, help=f"Built-in ({', '.join(builtin_names('pools'))}) or a YAML file."
)
@click.option(
    "--agent",
    "agent_name",
    default="textbased",
    show_default=True,
    help=f"Built-in ({', '.join(builtin_names('agents'))}) or a mini-swe-agent YAML file.",
)
@click.option("--suite", "suite_name", default="local", show_default=True)
@click.option("--router", "-r", "routers", multiple=True, required=True)
@click.option("--instance", "-i", "instances", multiple=True, help="Default: every instance of the suite.")
@click.option("--out", type=FOLDER, required=True, help="Recording folder to write (merged if it exists).")
@CACHE_DIR
@click.option("--fanout", is_flag=True, help="Also ask every other tier at each visited prefix.")
@MAX_LIVE_USD
@click.option("--sample", type=int, default=0, show_default=True)
@JOBS
@EXECUTOR
@SELECT_TIMEOUT
@report_options
@click.option("--quiet", "-q", is_flag=True)
def record_command(
    pool,
    agent_name,
    suite_name,
    routers,
    instances,
    out,
    cache_dir,
    fanout,
    max_live_usd,
    sample,
    jobs,
    executor,
    select_timeout,
    quiet,
    **report_files,
):
    """Run routers live (replay with --on-miss live) and write the recording to OUT."""
    try:
        pool_, agent, suite = load_pool(pool), load_agent_config(agent_name), load_suite(suite_name)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    manifest = Manifest(name=out.name, pool=pool_, agent=agent, suite=suite_identity(suite))
    existing = out if (out / "manifest.json").is_file() else None
    if existing:
        try:
            check_same_setup(read_manifest(existing), manifest)
        except RecordingError as e:
            fail(f"{out} was recorded with another setup ({e}); record into a new folder")
    setup = Setup(
        pool=pool_,
        agent=agent,
        suite=suite,
        policy=MissPolicy.parse("live"),
        recording=existing,
        cache_dir=cache_dir,
        sample=sample,
        fanout=fanout,
        executor=executor,
        select_timeout_sec=select_timeout,
    )
    instances = instances or [i["instance_id"] for i in suite.instances]
    check_routers(setup, routers, instances)
    store = store_at(cache_dir)
    claim_cache(store, manifest, cache_dir)
    start = time.monotonic()

    def save() -> None:
        export(store, manifest, out, session(time.monotonic() - start))

    try:
        run_and_report(
            setup,
            routers,
            instances,
            jobs=jobs,
            max_live_usd=max_live_usd,
            source={"name": out.name, "suite": manifest.suite, "sample": sample, "pool": pool_.model_dump(mode="json")},
            quiet=quiet,
            **report_files,
        )
    except KeyboardInterrupt:  # what was recorded so far is kept (every object in the cache is whole)
        save()
        raise
    save()


@click.command("export")
@click.argument("store")
@click.argument("out", type=FOLDER)
def export_command(store, out):
    """Write the objects and runs of STORE (a cache folder or a postgresql:// URL) as a recording at OUT (merged if
    it exists)."""
    if not is_database_url(store) and not Path(store).is_dir():
        fail(f"{store} is neither a cache folder nor a postgresql:// URL")
    opened = store_at(store)
    setup = opened.get(SETUP_KEY, SETUP_KEY)
    if setup is None:
        fail(f"{where(store)} holds no recorded setup (was it made by `twinsim record`?)")
    export(opened, Manifest(name=out.name, **setup), out)


@click.command("import")
@click.argument("recording", type=RECORDING)
@CACHE_DIR
def import_command(recording, cache_dir):
    """Put every object and run of RECORDING into the store."""
    try:
        rec = load_recording(recording)
    except RecordingError as e:
        fail(str(e))
    store = store_at(cache_dir)
    claim_cache(store, rec.manifest, cache_dir)
    console.print(f"imported {import_recording(rec, store)} new objects into {where(cache_dir)}")


@click.command("merge")
@click.argument("recordings", nargs=-1, required=True, type=RECORDING)
@click.option("--out", type=FOLDER, required=True)
def merge_command(recordings, out):
    """Union of RECORDINGS (same pool, agent and suite) written to OUT."""
    try:
        loaded = [load_recording(r) for r in recordings]
        result = loaded[0]
        for other in loaded[1:]:
            result = merge(result, other)
    except RecordingError as e:
        fail(str(e))
    save_recording(result, out)
    console.print(f"wrote {out}: {len(result.objects)} objects, {len(result.manifest.runs)} runs")
