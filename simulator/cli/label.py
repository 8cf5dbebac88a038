"""`twinsim label`: the static track's labels by downgrade-and-cascade on a recording."""

import time
from collections import Counter
from pathlib import Path

import click

from simulator.bank import bank_jsonl
from simulator.cli.common import (
    CACHE_DIR,
    EXECUTOR,
    INSTANCES,
    MAX_LIVE_USD,
    RECORDING,
    check_routers,
    console,
    open_setup,
    parse_policy,
    user_errors,
)
from simulator.cli.output import print_table, write_json
from simulator.cli.stores import claim_cache, export, session, store_at
from simulator.replay.context import LiveBudget


@click.command("label")
@click.argument("recording", type=RECORDING)
@INSTANCES
@click.option("--on-miss", default="error", show_default=True, help="Miss policy of every trial (as in replay).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the bank (JSON lines, TwinRouterBench's row format) here.",
)
@click.option("--benchmark", default=None, help="The rows' `benchmark`; default: the suite's name.")
@CACHE_DIR
@MAX_LIVE_USD
@click.option("--json", "json_path", default=None, help="Write every trial as JSON here ('-' for stdout).")
@click.option(
    "--extend",
    is_flag=True,
    help="With a live policy: write what the trials computed back into RECORDING, this session in its manifest.",
)
@click.option(
    "--accept-approximate",
    is_flag=True,
    help="Accept trials that passed only approximately; the bank rows they label are marked `approximate`.",
)
@EXECUTOR
def label_command(
    recording,
    instances,
    on_miss,
    out,
    benchmark,
    cache_dir,
    max_live_usd,
    json_path,
    extend,
    accept_approximate,
    executor,
):
    """Label the steps of RECORDING's resolved all-top trajectories by downgrade-and-cascade.

    With `--on-miss live --extend`, RECORDING grows by the trials it lacked, so
    `twinsim static export RECORDING` later gives the same bank with zero calls."""
    policy = parse_policy(on_miss)
    setup = open_setup(recording, policy=policy, cache_dir=cache_dir, executor=executor)
    manifest = setup.manifest
    instances = list(instances or setup.recorded_runs[1])
    check_routers(setup, (), instances)
    if extend and not policy.goes_live:
        raise click.UsageError("--extend needs a policy that goes live (e.g. --on-miss live)")
    if policy.goes_live:
        claim_cache(store_at(cache_dir), manifest, cache_dir)
    from simulator.static.label import label

    start = time.monotonic()
    with user_errors():
        result = label(
            setup,
            instances,
            benchmark=benchmark or manifest.suite["name"],
            budget=LiveBudget(max_live_usd),
            on_instance=lambda i: console.print(
                f"{i['instance_id']}: seed {i['seed']['status']}"
                + (" (approximate)" if i["seed"]["kind"] == "approximate" else "")
                + f", labels {' '.join(i['labels']) or '–'}"
            ),
            approximate_ok=accept_approximate,
        )
    totals = result.totals
    rows = []
    for i in result.instances:
        kinds = Counter(t["kind"] for t in i["trials"])
        rows.append(
            [
                i["instance_id"],
                f"{i['seed']['status']} ({i['seed']['steps']})",
                " ".join(i["labels"]) or "–",
                str(len(i["trials"])),
                *(str(kinds[k]) for k in ("exact", "live", "approximate", "incomplete")),
                str(sum(t["accepted"] for t in i["trials"])),
            ]
        )
    print_table(
        f"twinsim label — {manifest.name or recording.name} (on miss: {policy})",
        ["instance", "seed (steps)", "labels", "trials", "exact", "live", "approx", "incomplete", "accepted"],
        rows,
    )
    click.echo(
        f"{totals['labelled']} of {totals['instances']} instances labelled ({totals['rows']} rows); "
        f"{totals['trials']} trials: "
        f"{totals['exact']} exact, {totals['live']} live, {totals['approximate']} approximate"
        f"{'' if accept_approximate else ' (not accepted)'}, {totals['incomplete']} incomplete (not accepted); "
        f"{totals['accepted']} accepted; live spend ${totals['live_usd']:.4f}"
    )
    marked = sum(row.get("approximate", False) for row in result.rows)
    if marked:
        console.print(f"[yellow]approximate[/] {marked} rows rest on approximate trials and are marked so in the bank")
    elif totals["approximate"] and not accept_approximate:
        console.print(
            f"[yellow]approximate[/] {totals['approximate']} trials passed or failed only approximately and were not "
            "accepted (--accept-approximate takes them, marking their rows)"
        )
    if out:
        out.write_text(bank_jsonl(result.rows), encoding="utf-8")
        console.print(f"wrote {out}: {len(result.rows)} rows")
    write_json(
        json_path,
        {
            "schema": "twinsim.labels/2",
            "source": {"name": manifest.name or recording.name, "suite": manifest.suite},
            "policy": str(policy),
            "accept_approximate": accept_approximate,
            "totals": totals,
            "instances": result.instances,
        },
    )
    if extend:
        export(store_at(cache_dir), manifest, recording, session(time.monotonic() - start))
