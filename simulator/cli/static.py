"""The static track's commands: static export, static score, gap (label is in cli/label.py)."""

from collections import Counter
from pathlib import Path

import click

from simulator.bank import bank_jsonl, load_bank
from simulator.cli.common import (
    INSTANCES,
    JOBS,
    RECORDING,
    SELECT_TIMEOUT,
    check_routers,
    fail,
    open_setup,
    replay,
    replay_setup,
    user_errors,
)
from simulator.cli.output import print_table, write_json
from simulator.config import TIER_IDS, Pool, load_pool, load_pricing, priced
from simulator.replay.context import LiveBudget
from simulator.static.cost import TokenCounter


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


@click.group("static")
def static_group() -> None:
    """The static track: score routers on a bank of router-visible prefixes (TwinRouterBench's format)."""


@static_group.command("export")
@click.argument("recording", type=RECORDING)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The bank to write (JSON lines)."
)
@INSTANCES
@click.option("--benchmark", default=None, help="The rows' `benchmark`; default: the suite's name.")
def static_export(recording, out, instances, benchmark):
    """The labelled prefixes of RECORDING as a static bank: downgrade-and-cascade replayed strictly.

    Every trial `twinsim label` ran (live or not) is in the recording once it is exported,
    so this gives the same bank with zero API calls; a trial the recording lacks counts as not accepted."""
    setup = open_setup(recording)
    manifest = setup.manifest
    instances = list(instances or setup.recorded_runs[1])
    check_routers(setup, (), instances)
    from simulator.static.label import label

    with user_errors():
        result = label(setup, instances, benchmark=benchmark or manifest.suite["name"], budget=LiveBudget())
    out.write_text(bank_jsonl(result.rows), encoding="utf-8")
    totals = result.totals
    click.echo(
        f"wrote {out}: {totals['rows']} rows from {totals['labelled']} labelled instances ({totals['incomplete']} "
        "trials not in the recording)"
    )


def _load_bank(path: Path | None) -> list[dict] | None:
    try:
        return load_bank(path) if path else None
    except ValueError as e:
        fail(str(e))


def _static_rows(scores: list[dict]) -> list[list[str]]:
    from simulator.static.score import METRICS

    return [[s["router"], str(s["rows"]), *(_pct(s[m]) for m in METRICS), str(s["errors"])] for s in scores]


STATIC_COLUMNS = ["router", "rows", "ROWPASS", "ROWEXACT", "TRAJPASS", "COSTSAVE", "COMBINED", "errors"]
TRB_STATIC = "trb-static"


def static_cost_options(default_pricing: str):
    """How the static track prices and counts rows: a price table and a tokenizer per tier."""

    def add(command):
        command = click.option(
            "--tokenizer",
            "tokenizers",
            multiple=True,
            metavar="TIER=PATH.json",
            help="Count TIER's tokens with this Hugging Face `tokenizers` file (repeatable); default: cl100k_base.",
        )(command)
        return click.option(
            "--pricing",
            default=None,
            help=f"Row prices: `{TRB_STATIC}` (TwinRouterBench's static table), a price-table YAML, any pool's "
            f"prices (built-in or YAML), or `pool` for the tiers' own; default: {default_pricing}.",
        )(command)

    return add


def _static_costs(pool: Pool, pricing: str, tokenizers) -> tuple[Pool, TokenCounter, str]:
    """The pool priced for the static track, the token counter, and the pricing's name."""
    files = {}
    for spec in tokenizers:
        tier, _, path = spec.partition("=")
        if tier not in TIER_IDS or not path:
            raise click.BadParameter(f"{spec!r}: use TIER=PATH.json with a tier of {', '.join(TIER_IDS)}")
        files[tier] = path
    with user_errors():
        counter = TokenCounter(files)
        if pricing == "pool":
            return pool, counter, f"pool {pool.name}"
        table = load_pricing(pricing)
        return priced(pool, table), counter, table.name


@static_group.command("score")
@click.argument("bank", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--router",
    "-r",
    "routers",
    multiple=True,
    required=True,
    help="Router spec (repeatable), as in replay; `knn` may omit bank=.",
)
@click.option(
    "--pool",
    default=None,
    help="Tiers (and, without --pricing, prices): a built-in or a YAML file; default: twinrouterbench.",
)
@static_cost_options(f"{TRB_STATIC}, or the --pool's own prices when --pool is given")
@click.option(
    "--train",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Bank a `knn` router without bank= learns from.",
)
@click.option(
    "--holdout-by-instance",
    "folds",
    type=click.IntRange(min=2),
    default=None,
    help="Or K folds by instance: `knn` learns from the other folds.",
)
@click.option(
    "--json", "json_path", default=None, help="Write the scores as JSON here ('-' for stdout instead of the table)."
)
def static_score(bank, routers, pool, pricing, tokenizers, train, folds, json_path):
    """ROWPASS, ROWEXACT, TRAJPASS, COSTSAVE and COMBINED of routers on BANK, per benchmark too."""
    if train and folds:
        raise click.UsageError("give --train or --holdout-by-instance, not both")
    rows, train_rows = _load_bank(bank), _load_bank(train)
    from simulator.static.score import score

    with user_errors():
        pool_ = load_pool(pool or "twinrouterbench")
    pool_, counter, pricing = _static_costs(pool_, pricing or ("pool" if pool else TRB_STATIC), tokenizers)
    with user_errors():
        scores = score(rows, list(routers), pool_, train=train_rows, folds=folds or 0, counter=counter)
    benchmarks = Counter(r["benchmark"] for r in rows)
    evaluation = (
        f"knn trained on {train.name}" if train else f"knn held out by instance, {folds} folds" if folds else "as given"
    )
    if json_path != "-":
        print_table(
            f"twinsim static score — {bank.name} on pool {pool_.name}, {pricing} prices ({evaluation})",
            STATIC_COLUMNS,
            _static_rows(scores),
        )
        if len(benchmarks) > 1:
            per = [
                s["by_benchmark"][b] | {"router": f"{s['router']} · {b}"} for s in scores for b in sorted(benchmarks)
            ]
            print_table("per benchmark", STATIC_COLUMNS, _static_rows(per))
    write_json(
        json_path,
        {
            "schema": "twinsim.static/1",
            "bank": {"name": bank.name, "rows": len(rows), "benchmarks": dict(sorted(benchmarks.items()))},
            "pool": pool_.name,
            "pricing": pricing,
            "tokenizers": {tier: Path(path).name for tier, path in counter.files.items()},
            "evaluation": evaluation,
            "routers": scores,
        },
    )


@click.command("gap")
@click.argument("recording", type=RECORDING)
@click.option(
    "--bank",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The static bank to score the routers on.",
)
@click.option(
    "--router", "-r", "routers", multiple=True, help="Router spec (repeatable); default: the routers the recording ran."
)
@INSTANCES
@click.option("--on-miss", default="error", show_default=True)
@static_cost_options(f"{TRB_STATIC}; `pool`: the recording's pool")
@JOBS
@click.option(
    "--json", "json_path", default=None, help="Write the gap as JSON here ('-' for stdout instead of the table)."
)
@click.option(
    "--png",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the static-vs-dynamic picture here.",
)
@SELECT_TIMEOUT
@click.option("--quiet", "-q", is_flag=True)
def gap_command(
    recording, bank, routers, instances, on_miss, pricing, tokenizers, jobs, json_path, png, select_timeout, quiet
):
    """Each router's static scores on BANK next to its replay on RECORDING, and their rank correlation."""
    setup, routers, instances = replay_setup(
        recording, on_miss, None, 0, routers, instances, select_timeout=select_timeout
    )
    manifest = setup.manifest
    rows = _load_bank(bank)
    static_pool, counter, pricing = _static_costs(manifest.pool, pricing or TRB_STATIC, tokenizers)
    from simulator.report.aggregate import build_report
    from simulator.report.tables import bill_text, rate_text, spend_text
    from simulator.static.gap import gap
    from simulator.static.score import METRICS, score

    with user_errors():
        scores = score(rows, routers, static_pool, run_config=setup.run_config, counter=counter)
    results = replay(setup, routers, instances, jobs=jobs, quiet=quiet)
    dynamic = build_report(results, source={}, policy=str(setup.policy))["routers"]
    result = gap(scores, dynamic)
    if json_path != "-":
        table = [
            [
                r["router"],
                *(_pct(r[m]) for m in METRICS),
                rate_text(r),
                f"{r['exact']}/{r['approximate']}/{r['incomplete']}",
                spend_text(r),
                bill_text(r),
            ]
            for r in result["routers"]
        ]
        print_table(
            f"twinsim gap — static {bank.name} ({pricing} prices) vs dynamic {manifest.name or recording.name} "
            f"(on miss: {setup.policy})",
            [
                "router",
                "ROWPASS",
                "ROWEXACT",
                "TRAJPASS",
                "COSTSAVE",
                "COMBINED",
                "resolved",
                "exact/apx/inc",
                "spend $",
                "bill $",
            ],
            table,
        )
        rho = result["spearman"]
        click.echo(
            f"Spearman(COMBINED, −bill) = {_rho(rho['combined_vs_bill'])}; Spearman(COMBINED, resolved rate) = "
            f"{_rho(rho['combined_vs_resolved_rate'])} "
            f"over {len(routers)} routers (+1: both tracks order the routers alike)"
        )
        if result["caveat"]:
            click.echo(f"caveat: {result['caveat']}")
    write_json(
        json_path,
        {
            "schema": "twinsim.gap/2",
            "bank": bank.name,
            "pricing": pricing,
            "tokenizers": {tier: Path(path).name for tier, path in counter.files.items()},
            "recording": manifest.name or recording.name,
            "policy": str(setup.policy),
        }
        | result,
    )
    if png:
        from simulator.static.gap import gap_figure

        png.write_bytes(gap_figure(result))


def _rho(value: float | None) -> str:
    return "undefined (a side is constant)" if value is None else f"{value:+.3f}"
