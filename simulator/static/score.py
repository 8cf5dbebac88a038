"""Static scores of routers on a bank, in percent, as TwinRouterBench's code computes them.

Its `main/eval/section11.py`, `compute_v2_scores`:

- ROWPASS  rows with pred >= gold / rows
- ROWEXACT rows with pred == gold / rows
- TRAJPASS rows whose whole trajectory passes / rows (row-weighted, not per trajectory)
- COSTSAVE per benchmark 100 * N / D, D = sum of always-top costs, N = sum of
           (top - pred) over rows of passing trajectories and -pred over rows of
           failing ones (a failing trajectory adds its whole cost negatively);
           benchmarks weighted by their row counts
- COMBINED the mean of the four
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from simulator.bank import gold_tier_id, tier_ids, trajectories
from simulator.config import DEFAULT_SELECT_TIMEOUT_SEC, Pool
from simulator.records import fixed
from simulator.routers.builtin import spec_number
from simulator.routers.knn import KnnIndex, KnnRouter, knn_params
from simulator.routers.protocol import Router, RouterError, RunConfig, decide, make_context
from simulator.routers.registry import router_factory
from simulator.static.cost import StaticPath, TokenCounter, output_tokens

STATIC_RUN_CONFIG = {"max_steps": 250, "budget_usd": 3.0}  # TwinRouterBench's agent limits
METRICS = ("rowpass", "rowexact", "trajpass", "costsave", "combined")


@dataclass(frozen=True)
class Scored:
    """One row under one router: gold and predicted tier ids (None: the router failed) and the two path costs."""

    benchmark: str
    trajectory: tuple[str, str]
    gold: int
    pred: int | None
    top_usd: float
    pred_usd: float | None


def predict(
    rows: list[dict],
    pool: Pool,
    factory_of: Callable[[tuple[str, str]], Callable[[], Router]],
    *,
    label: str,
    run_config: RunConfig | None = None,
    counter: TokenCounter | None = None,
) -> list[Scored]:
    """Ask a fresh router per trajectory, row by row in step order, as in a replay; `pool` prices the rows."""
    ids, top = tier_ids(pool), pool.names[-1]
    counter = counter or TokenCounter()
    run_config = run_config or RunConfig(
        **STATIC_RUN_CONFIG, wallclock_ttl_sec=pool.cache_ttl_sec, select_timeout_sec=DEFAULT_SELECT_TIMEOUT_SEC
    )
    scored = []
    for key, steps in trajectories(rows).items():
        router, outputs = factory_of(key)(), output_tokens(steps, counter)
        baseline, path = StaticPath(pool, counter), StaticPath(pool, counter)
        for position, (row, output) in enumerate(zip(steps, outputs)):
            ctx = make_context(
                instance_id=row["instance_id"],
                step_index=position,
                messages=row["messages"],
                tools=row.get("functions") or (),
                pool=pool,
                cache_state=path.cache_state(),
                budget_so_far_usd=path.spend_usd,
                run_config=run_config,
            )
            try:
                tier = decide(router, label, ctx, pool)[0]
            except RouterError:
                tier = None  # TwinRouterBench: an error row fails its trajectory and leaves the cost sums
            pred_usd = path.charge(row, tier, output)
            top_usd = baseline.charge(row, top, output)
            scored.append(
                Scored(
                    row["benchmark"], key, gold_tier_id(row), ids[tier] if tier is not None else None, top_usd, pred_usd
                )
            )
    return scored


def _flat(scored: list[Scored]) -> dict:
    n = len(scored)
    passes = [s.pred is not None and s.pred >= s.gold for s in scored]
    failed = {s.trajectory for s, ok in zip(scored, passes) if not ok}
    in_passing = [s.trajectory not in failed for s in scored]
    costsave, any_cost = 0.0, False
    for b in sorted({s.benchmark for s in scored}):
        rows = [(s, ok) for s, ok in zip(scored, in_passing) if s.benchmark == b and s.pred is not None]
        d = sum(s.top_usd for s, _ in rows)
        if d > 0:  # weights stay rows_b / rows even when a benchmark has no score, as in TwinRouterBench
            costsave += (
                sum(s.benchmark == b for s in scored)
                / n
                * 100
                * sum((s.top_usd - s.pred_usd) if ok else -s.pred_usd for s, ok in rows)
                / d
            )
            any_cost = True
    values = {
        "rowpass": 100 * sum(passes) / n,
        "rowexact": 100 * sum(s.pred == s.gold for s in scored) / n,
        "trajpass": 100 * sum(in_passing) / n,
        "costsave": costsave if any_cost else math.nan,
    }
    values["combined"] = sum(values.values()) / 4  # NaN if any is
    return {
        "rows": n,
        "trajectories": len({s.trajectory for s in scored}),
        "errors": sum(s.pred is None for s in scored),
        **{k: fixed(v) for k, v in values.items()},
        "top_usd": fixed(sum(s.top_usd for s in scored)),
        "pred_usd": fixed(sum(s.pred_usd or 0.0 for s in scored)),
    }


def metrics(scored: list[Scored]) -> dict:
    """The five scores over all rows, and per benchmark."""
    benchmarks = sorted({s.benchmark for s in scored})
    return _flat(scored) | {"by_benchmark": {b: _flat([s for s in scored if s.benchmark == b]) for b in benchmarks}}


def factories(
    spec: str, pool: Pool, rows: list[dict], *, train: list[dict] | None = None, folds: int = 0
) -> Callable[[tuple[str, str]], Callable[[], Router]]:
    """Per trajectory, the router factory to score it with.

    A `knn` spec without `bank=` learns from `train`, or with `folds` from the
    other instances' rows (instances dealt round-robin into folds in sorted
    order), so it is never scored on rows it was trained on.
    """
    params = knn_params(spec)
    if params is None or "bank" in params:
        factory = router_factory(spec, pool)
        return lambda key: factory
    k = spec_number(int, "k", params.get("k", "5"), 1)
    if train is not None:
        index = KnnIndex(train)
        return lambda key: lambda: KnnRouter(index, k, pool)
    if folds < 2:
        raise ValueError(
            f"router {spec!r} has no bank: give knn:bank=PATH, --train BANK or --holdout-by-instance K (K >= 2)"
        )
    fold_of = {key: i % folds for i, key in enumerate(trajectories(rows))}
    if len(fold_of) < folds:
        raise ValueError(f"--holdout-by-instance {folds} needs at least {folds} instances; the bank has {len(fold_of)}")
    indexes = [KnnIndex([r for r in rows if fold_of[(r["benchmark"], r["instance_id"])] != f]) for f in range(folds)]
    return lambda key: lambda: KnnRouter(indexes[fold_of[key]], k, pool)


def score(
    rows: list[dict],
    routers: list[str],
    pool: Pool,
    *,
    train: list[dict] | None = None,
    folds: int = 0,
    run_config: RunConfig | None = None,
    counter: TokenCounter | None = None,
) -> list[dict]:
    """Static scores of each router on the bank; `pool` prices the rows (`config.priced` gives it other prices)."""
    counter = counter or TokenCounter()
    makers = [
        factories(spec, pool, rows, train=train, folds=folds) for spec in routers
    ]  # bad specs fail before any scoring
    return [
        {"router": spec} | metrics(predict(rows, pool, make, label=spec, run_config=run_config, counter=counter))
        for spec, make in zip(routers, makers)
    ]
