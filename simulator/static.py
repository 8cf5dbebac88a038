"""The static track: downgrade-and-cascade labels, TwinRouterBench's row bank and
metrics, the static–dynamic gap, and a kNN router learned from a bank.

A bank is JSON lines, one router-visible prefix per row:
`id, benchmark, instance_id, step_index (1-based), total_steps, messages,
target_tier, target_tier_id`. Metrics follow TwinRouterBench's code
(`main/eval/section11.py`, `compute_v2_scores`), in percent:

- ROWPASS  rows with pred >= gold / rows
- ROWEXACT rows with pred == gold / rows
- TRAJPASS rows whose whole trajectory passes / rows (row-weighted, not per trajectory)
- COSTSAVE per benchmark 100 * N / D, D = sum of always-top costs, N = sum of
           (top - pred) over rows of passing trajectories and -pred over rows of
           failing ones (a failing trajectory adds its whole cost negatively);
           benchmarks weighted by their row counts
- COMBINED the mean of the four
"""

import functools
import io
import itertools
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from simulator import keys
from simulator.engine import Setup, replay_trajectory
from simulator.policy import LiveBudget
from simulator.routers import Router, RouterContext, RouterDecision, RouterError, RunConfig, ScheduleRouter, decide, make_context, router_factory, spec_number, spec_params
from simulator.schemas import TIER_IDS, Pool, RunResult
from simulator.store import Store

BANK_FIELDS = ("id", "benchmark", "instance_id", "step_index", "total_steps", "messages", "target_tier", "target_tier_id")
STATIC_RUN_CONFIG = {"max_steps": 250, "budget_usd": 3.0}  # TwinRouterBench's agent limits
STATIC_TTL_STEPS = 3  # TwinRouterBench's static cost rule: a tier's cache lives 3 steps
FALLBACK_OUTPUT_TOKENS = 500  # its output estimate when a trajectory gives none
METRICS = ("rowpass", "rowexact", "trajpass", "costsave", "combined")


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 10)  # fixed precision; NaN is not JSON


# --- the bank ------------------------------------------------------------------------------


def gold_tier_id(row: dict) -> int:
    tier, tier_id = row.get("target_tier"), row.get("target_tier_id")
    if tier_id is None and tier in TIER_IDS:
        return TIER_IDS[tier]
    if not isinstance(tier_id, int) or tier_id not in TIER_IDS.values() or (tier is not None and TIER_IDS.get(tier) != tier_id):
        raise ValueError(f"row {row.get('id')!r}: target_tier {tier!r} / target_tier_id {tier_id!r} are not one of {TIER_IDS}")
    return tier_id


def tier_ids(pool: Pool) -> dict[str, int]:
    """TwinRouterBench tier id of each pool tier, cheapest first."""
    unknown = [t for t in pool.names if t not in TIER_IDS]
    if unknown:
        raise ValueError(f"the static track needs TwinRouterBench tier names ({', '.join(TIER_IDS)}); pool {pool.name!r} has {', '.join(unknown)}")
    return {t: TIER_IDS[t] for t in pool.names}


def load_bank(path: Path | str) -> list[dict]:
    """Rows of a bank file; extra fields are kept, missing `instance_id` / `step_index` default as TwinRouterBench's eval does."""
    rows = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{lineno}: not JSON ({e})") from None
        missing = [f for f in ("id", "benchmark", "messages") if f not in row] if isinstance(row, dict) else ["a JSON object"]
        if missing or not isinstance(row["messages"], list):
            raise ValueError(f"{path}:{lineno}: a bank row needs {', '.join(missing) or 'messages as a list'}")
        row.setdefault("instance_id", row["id"])
        row.setdefault("step_index", 1)
        try:
            gold_tier_id(row)
        except ValueError as e:
            raise ValueError(f"{path}:{lineno}: {e}") from None
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: the bank has no rows")
    return rows


def trajectories(rows: Iterable[dict]) -> dict[tuple[str, str], list[dict]]:
    """Rows grouped per (benchmark, instance_id) in step order; groups sorted."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["benchmark"], row["instance_id"]), []).append(row)
    return {key: sorted(groups[key], key=lambda r: r["step_index"]) for key in sorted(groups)}


def semantic(messages: list[dict]) -> list[dict]:
    """The messages' semantic fields only (role, content, tool calls; tool-call ids positional), as keys see them."""
    tool_ids: dict[str, str] = {}
    return [keys.normalize_message(m, tool_ids) for m in messages]


def bank_jsonl(rows: Iterable[dict]) -> str:
    """Deterministic bytes: rows in (benchmark, instance, step) order, canonical JSON lines."""
    ordered = [row for group in trajectories(rows).values() for row in group]
    return "".join(json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n" for row in ordered)


# --- labels by downgrade-and-cascade --------------------------------------------------------


@dataclass
class LockedRouter(ScheduleRouter):
    """The `schedule` router over the locked tiers, then the top tier; keeps the messages it was shown."""

    prefixes: list[list[dict]] = field(default_factory=list)

    def select(self, ctx: RouterContext) -> RouterDecision:
        self.prefixes.append(semantic(ctx.messages))
        return super().select(ctx)


@dataclass
class Trial:
    schedule: tuple[str, ...]
    result: RunResult
    prefixes: list[list[dict]]

    @property
    def kind(self) -> str:
        """exact (all from the cache), live (some objects computed), approximate or incomplete."""
        if self.result.fidelity != "exact":
            return self.result.fidelity
        return "live" if sum(self.result.live.values()) else "exact"

    def passes(self, steps: int) -> bool:
        return self.result.status == "resolved" and len(self.result.steps) == steps


def cascade(steps: int, tiers: tuple[str, ...], run: Callable[[tuple[str, ...]], Trial]) -> tuple[list[str], Trial | None, list[Trial]]:
    """Downgrade-and-cascade over a passing seed of `steps` steps.

    Step i is tried at each cheaper tier, cheapest first, with steps < i at their
    locked tiers and steps > i at the top tier (`run` replays the whole
    trajectory); the first tier whose trajectory still resolves in the same
    number of steps is locked, else the top tier. Returns the locks, the last
    accepted trial (the final trajectory; None: the seed is final) and all trials.
    """
    locks: list[str] = []
    final, trials = None, []
    for _ in range(steps):
        for tier in tiers[:-1]:
            trial = run((*locks, tier))
            trials.append(trial)
            if trial.passes(steps):
                locks.append(tier)
                final = trial
                break
        else:
            locks.append(tiers[-1])
    return locks, final, trials


@dataclass
class LabelRun:
    """What labelling one recording produced."""

    rows: list[dict] = field(default_factory=list)
    instances: list[dict] = field(default_factory=list)

    @property
    def totals(self) -> dict:
        trials = [t for i in self.instances for t in i["trials"]]
        kinds = Counter(t["kind"] for t in trials)
        return {
            "instances": len(self.instances),
            "labelled": sum(1 for i in self.instances if i["labels"]),
            "rows": len(self.rows),
            "trials": len(trials),
            **{kind: kinds[kind] for kind in ("exact", "live", "approximate", "incomplete")},
            "accepted": sum(t["accepted"] for t in trials),
            "live_usd": round(sum(t["live_usd"] for t in trials) + sum(i["seed"]["live_usd"] for i in self.instances), 10),
        }


def label(setup: Setup, instance_ids: list[str], *, benchmark: str, budget: LiveBudget, on_instance: Callable[[dict], None] = lambda report: None) -> LabelRun:
    """Label every instance whose all-top trajectory resolves; the others are reported and skipped."""
    tiers = tuple(tier_ids(setup.pool))
    store = setup.open_store()
    out = LabelRun()
    for instance_id in instance_ids:
        run = functools.partial(run_trial, setup, setup.suite.instance(instance_id), store, budget)
        seed = run(())
        report = {"instance_id": instance_id, "seed": _trial_summary(seed), "labels": [], "trials": []}
        out.instances.append(report)
        if seed.result.status != "resolved":
            on_instance(report)
            continue
        steps = len(seed.result.steps)
        locks, final, trials = cascade(steps, tiers, run)
        final = final or seed
        report["labels"] = locks
        report["trials"] = [_trial_summary(t) | {"step": len(t.schedule) - 1, "tier": t.schedule[-1], "accepted": t.passes(steps)} for t in trials]
        on_instance(report)
        for i, tier in enumerate(locks):
            out.rows.append({
                "id": f"{benchmark}_{instance_id}_step_{i + 1}",
                "benchmark": benchmark,
                "instance_id": instance_id,
                "step_index": i + 1,
                "total_steps": steps,
                "messages": final.prefixes[i],
                "target_tier": tier,
                "target_tier_id": TIER_IDS[tier],
            })
    return out


def run_trial(setup: Setup, instance: dict, store: Store, budget: LiveBudget, schedule: tuple[str, ...]) -> Trial:
    """Replay the whole trajectory with `schedule` locked and the top tier after it."""
    top = setup.pool.names[-1]
    router = LockedRouter(schedule, top)
    result = replay_trajectory(setup, f"cascade:{'/'.join(schedule) or top}", instance, store, budget, router=router)
    return Trial(schedule, result, router.prefixes)


def _trial_summary(trial: Trial) -> dict:
    r = trial.result
    return {"kind": trial.kind, "status": r.status, "steps": len(r.steps), "reason": r.reason, "live_usd": r.live_usd}


# --- static cost (TwinRouterBench's rule, priced with the pool) ------------------------------


@functools.cache
def _encoding():
    # cl100k_base, TwinRouterBench's tokenizer fallback; litellm ships the file, so this works offline.
    from litellm.litellm_core_utils.default_encoding import encoding

    return encoding


@functools.lru_cache(maxsize=65536)
def _text_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def _billable_text(message: dict) -> str:
    """TwinRouterBench's billable text of a message: its text content and tool-call names and arguments."""
    content, parts = message.get("content"), []
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        parts += [str(b.get("text") or "") if isinstance(b, dict) else str(b) for b in content]
    for call in message.get("tool_calls") or []:
        function = call.get("function", call) if isinstance(call, dict) else {}
        args = function.get("arguments", "")
        parts += [function.get("name", ""), json.dumps(args, ensure_ascii=False) if isinstance(args, dict) else str(args or "")]
    return "\n".join(p for p in parts if p)


def message_tokens(messages: list[dict]) -> int:
    """Prompt tokens of a message list: text tokens + 4 per message + 2 (TwinRouterBench's count)."""
    return sum(_text_tokens(_billable_text(m)) + 4 for m in messages) + 2


def output_tokens(steps: list[dict]) -> list[int]:
    """Per step, the assistant messages the next row adds; the last step gets the mean of the positive ones (or 500)."""
    out = [
        sum(_text_tokens(_billable_text(m)) + 4 for m in b["messages"][len(a["messages"]) :] if m.get("role") == "assistant")
        for a, b in itertools.pairwise(steps)
    ]
    positive = [t for t in out if t > 0]
    return out + [int(sum(positive) / len(positive)) if positive else FALLBACK_OUTPUT_TOKENS]


class StaticPath:
    """One routing path over a static trajectory, priced by TwinRouterBench's static rule.

    Every prompt token is a cache write, except when the previous row went to the
    same tier at most 3 steps earlier and its messages are a prefix of this
    row's: then those are cache reads. The path's per-model state also gives
    routers a `cache_state`: the clock advances TTL/3 per step, so the 3-step
    static TTL reads as the pool's wall-clock TTL.
    """

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.previous: tuple[str | None, int, list[dict], int] | None = None  # (tier, step_index, semantic messages, prompt tokens)
        self.models: dict[str, dict] = {}
        self.position = 0
        self.spend_usd = 0.0

    @property
    def now(self) -> float:
        return self.position * self.pool.cache_ttl_sec / STATIC_TTL_STEPS

    def cache_state(self) -> dict:
        empty = {"last_call_ts": None, "prefix_token_count": 0, "prefix_hash": None}
        by_model = {t.model_id: {"model_id": t.model_id} | self.models.get(t.name, empty) for t in self.pool.tiers}
        return {"wallclock_ttl_sec": self.pool.cache_ttl_sec, "now_ts": self.now, "by_model": by_model}

    def charge(self, row: dict, tier: str | None, output: int) -> float | None:
        """Cost of `row` at `tier` (None: the router failed on this row, which costs nothing and breaks the cache)."""
        messages = semantic(row["messages"])
        prompt = message_tokens(row["messages"])
        usd = None
        if tier is not None:
            tier_of_prev, step_of_prev, prev, prev_tokens = self.previous or (None, 0, [], 0)
            warm = tier_of_prev == tier and row["step_index"] - step_of_prev <= STATIC_TTL_STEPS and messages[: len(prev)] == prev
            read = prev_tokens if warm else 0
            p = self.pool.tier(tier).pricing
            usd = (read * p.cache_read + max(prompt - read, 0) * p.cache_write + output * p.output) / 1e6
            self.spend_usd += usd
            self.models[tier] = {"last_call_ts": self.now, "prefix_token_count": prompt, "prefix_hash": keys.PrefixChain().extend_to(row["messages"])}
        self.previous = (tier, row["step_index"], messages, prompt)
        self.position += 1
        return usd


# --- scoring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """One row under one router: gold and predicted tier ids (None: the router failed) and the two path costs."""

    benchmark: str
    trajectory: tuple[str, str]
    gold: int
    pred: int | None
    top_usd: float
    pred_usd: float | None


def predict(rows: list[dict], pool: Pool, factory_of: Callable[[tuple[str, str]], Callable[[], Router]], *, label: str, run_config: RunConfig | None = None) -> list[Scored]:
    """Ask a fresh router per trajectory, row by row in step order, as in a replay."""
    ids, top = tier_ids(pool), pool.names[-1]
    run_config = run_config or RunConfig(**STATIC_RUN_CONFIG, wallclock_ttl_sec=pool.cache_ttl_sec, select_timeout_sec=0.0)
    scored = []
    for key, steps in trajectories(rows).items():
        router, outputs = factory_of(key)(), output_tokens(steps)
        baseline, path = StaticPath(pool), StaticPath(pool)
        for position, (row, output) in enumerate(zip(steps, outputs)):
            ctx = make_context(
                instance_id=row["instance_id"], step_index=position, messages=row["messages"], tools=row.get("functions") or (),
                pool=pool, cache_state=path.cache_state(), budget_so_far_usd=path.spend_usd, run_config=run_config,
            )
            try:
                tier = decide(router, label, ctx, pool)[0]
            except RouterError:
                tier = None  # TwinRouterBench: an error row fails its trajectory and leaves the cost sums
            pred_usd = path.charge(row, tier, output)
            top_usd = baseline.charge(row, top, output)
            scored.append(Scored(row["benchmark"], key, gold_tier_id(row), ids[tier] if tier is not None else None, top_usd, pred_usd))
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
            costsave += sum(s.benchmark == b for s in scored) / n * 100 * sum((s.top_usd - s.pred_usd) if ok else -s.pred_usd for s, ok in rows) / d
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
        **{k: _r(v) for k, v in values.items()},
        "top_usd": _r(sum(s.top_usd for s in scored)),
        "pred_usd": _r(sum(s.pred_usd or 0.0 for s in scored)),
    }


def metrics(scored: list[Scored]) -> dict:
    """The five scores over all rows, and per benchmark."""
    benchmarks = sorted({s.benchmark for s in scored})
    return _flat(scored) | {"by_benchmark": {b: _flat([s for s in scored if s.benchmark == b]) for b in benchmarks}}


def _knn_params(spec: str) -> dict[str, str] | None:
    """Parameters of a `knn:` spec, None for other routers."""
    name, _, arg = spec.partition(":")
    return spec_params("knn", arg, ("bank", "k")) if name == "knn" else None


def factories(spec: str, pool: Pool, rows: list[dict], *, train: list[dict] | None = None, folds: int = 0) -> Callable[[tuple[str, str]], Callable[[], Router]]:
    """Per trajectory, the router factory to score it with.

    A `knn` spec without `bank=` learns from `train`, or with `folds` from the
    other instances' rows (instances dealt round-robin into folds in sorted
    order), so it is never scored on rows it was trained on.
    """
    params = _knn_params(spec)
    if params is None or "bank" in params:
        factory = router_factory(spec, pool)
        return lambda key: factory
    k = spec_number(int, "k", params.get("k", "5"), 1)
    if train is not None:
        index = KnnIndex(train)
        return lambda key: lambda: KnnRouter(index, k, pool)
    if folds < 2:
        raise ValueError(f"router {spec!r} has no bank: give knn:bank=PATH, --train BANK or --holdout-by-instance K (K >= 2)")
    fold_of = {key: i % folds for i, key in enumerate(trajectories(rows))}
    if len(fold_of) < folds:
        raise ValueError(f"--holdout-by-instance {folds} needs at least {folds} instances; the bank has {len(fold_of)}")
    indexes = [KnnIndex([r for r in rows if fold_of[(r["benchmark"], r["instance_id"])] != f]) for f in range(folds)]
    return lambda key: lambda: KnnRouter(indexes[fold_of[key]], k, pool)


def score(rows: list[dict], routers: list[str], pool: Pool, *, train: list[dict] | None = None, folds: int = 0, run_config: RunConfig | None = None) -> list[dict]:
    """Static scores of each router on the bank."""
    makers = [factories(spec, pool, rows, train=train, folds=folds) for spec in routers]  # bad specs fail before any scoring
    return [{"router": spec} | metrics(predict(rows, pool, make, label=spec, run_config=run_config)) for spec, make in zip(routers, makers)]


# --- the static–dynamic gap -----------------------------------------------------------------


def average_ranks(values: Iterable[float]) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank."""
    _, inverse, counts = np.unique(np.asarray(list(values), dtype=float), return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2)[inverse]


def spearman(x: Iterable[float], y: Iterable[float]) -> float:
    """Spearman's rank correlation with average ranks for ties; NaN when a side is constant or n < 2."""
    rx, ry = average_ranks(x), average_ranks(y)
    if len(rx) != len(ry):
        raise ValueError("spearman needs two sequences of the same length")
    if len(rx) < 2 or np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return math.nan
    dx, dy = rx - rx.mean(), ry - ry.mean()
    return float((dx * dy).sum() / math.sqrt((dx * dx).sum() * (dy * dy).sum()))


def gap(static_scores: list[dict], dynamic: list[dict]) -> dict:
    """Per router its static scores next to its replay aggregate, and how the two orderings agree.

    `combined_vs_bill` correlates COMBINED with the negated bill (lower bill is
    better), so +1 means both tracks order the routers the same way.
    """
    by_router = {a["router"]: a for a in dynamic}
    routers = [
        {"router": s["router"], **{m: s[m] for m in METRICS}}
        | {k: by_router[s["router"]][k] for k in ("n", "resolved_rate", "incomplete", "router_cost_usd", "leaderboard_bill_usd")}
        for s in static_scores
    ]
    scored = [r for r in routers if r["combined"] is not None]  # a router with no COMBINED has no static rank
    combined = [r["combined"] for r in scored]
    return {
        "routers": routers,
        "spearman": {
            "combined_vs_bill": _r(spearman(combined, [-r["leaderboard_bill_usd"] for r in scored])),
            "combined_vs_resolved_rate": _r(spearman(combined, [r["resolved_rate"] for r in scored])),
        },
    }


def gap_figure(result: dict) -> bytes:
    """PNG: static COMBINED against the dynamic leaderboard bill, one labelled point per router."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    points: dict[tuple[float, float], list[str]] = {}  # routers on the same point share one label
    for r in result["routers"]:
        points.setdefault((math.nan if r["combined"] is None else r["combined"], r["leaderboard_bill_usd"]), []).append(r["router"])
    fig = Figure(figsize=(7, 5), dpi=100)
    ax = fig.add_subplot()
    for (x, y), names in points.items():
        ax.scatter(x, y, color="tab:blue")
        ax.annotate("\n".join(names), (x, y), textcoords="offset points", xytext=(5, 3), fontsize=8)
    ax.margins(0.2)
    rho = result["spearman"]["combined_vs_bill"]
    ax.set(xlabel="static COMBINED (%)", ylabel="dynamic bill (USD, lower is better)",
           title=f"Static vs dynamic — Spearman(COMBINED, −bill) = {'n/a' if rho is None else f'{rho:.2f}'}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# --- kNN router ----------------------------------------------------------------------------

WORD = re.compile(r"\w+")
DIMS = 2**16
LAST_MESSAGES = 2


def _token_counts(messages: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Hashed word counts of the last messages (crc32: the same buckets in every process)."""
    words = WORD.findall(" ".join(_billable_text(m) for m in messages[-LAST_MESSAGES:]).lower())
    buckets = np.fromiter((zlib.crc32(w.encode()) % DIMS for w in words), dtype=np.int64, count=len(words))
    return np.unique(buckets, return_counts=True)


class KnnIndex:
    """Rows of a bank as L2-normalised TF-IDF vectors over hashed words (sparse, numpy only)."""

    def __init__(self, rows: list[dict]) -> None:
        if not rows:
            raise ValueError("a kNN router needs at least one training row")
        counts = [_token_counts(r["messages"]) for r in rows]
        df = np.zeros(DIMS)
        for buckets, _ in counts:
            df[buckets] += 1
        self.idf = np.log((1 + len(rows)) / (1 + df)) + 1
        self.buckets = np.concatenate([b for b, _ in counts])
        self.weights = np.concatenate([self._weights(b, c) for b, c in counts])
        self.owner = np.repeat(np.arange(len(rows)), [len(b) for b, _ in counts])
        self.tiers = np.array([gold_tier_id(r) for r in rows])

    def _weights(self, buckets: np.ndarray, counts: np.ndarray) -> np.ndarray:
        w = (1 + np.log(counts)) * self.idf[buckets]
        norm = np.linalg.norm(w)
        return w / norm if norm else w

    def neighbours(self, messages: list[dict], k: int) -> np.ndarray:
        """Tier ids of the k most similar rows (cosine; ties by bank order)."""
        buckets, counts = _token_counts(messages)
        query = np.zeros(DIMS)
        query[buckets] = self._weights(buckets, counts)
        similarity = np.bincount(self.owner, weights=query[self.buckets] * self.weights, minlength=len(self.tiers))
        order = np.lexsort((np.arange(len(similarity)), -similarity))
        return self.tiers[order[:k]]


@functools.lru_cache(maxsize=8)
def _index_of(path: str, mtime_ns: int) -> KnnIndex:
    return KnnIndex(load_bank(path))


@dataclass
class KnnRouter:
    """Majority tier of the k bank rows nearest to the last 2 messages; ties go to the cheaper tier.

    bank=PATH       a static bank, e.g. from `twinsim label --out`
    k=N             neighbours (default 5)

    Features: hashed words (2^16 buckets), TF-IDF, L2-normalised, cosine. The
    voted tier is served by the cheapest pool tier at least as strong.
    """

    syntax: ClassVar[str] = "knn:bank=PATH[,k=N]"
    index: KnnIndex
    k: int
    pool: Pool

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "KnnRouter":
        """`bank=PATH[,k=5]`."""
        params = _knn_params(f"knn:{text}")
        if "bank" not in params:
            raise ValueError("knn needs bank=PATH (a static bank, e.g. from `twinsim label --out`)")
        path = Path(params["bank"])
        if not path.is_file():
            raise ValueError(f"knn: no bank file {path}")
        return cls(_index_of(str(path.resolve()), path.stat().st_mtime_ns), spec_number(int, "k", params.get("k", "5"), 1), pool)

    def select(self, ctx: RouterContext) -> RouterDecision:
        votes = Counter(int(t) for t in self.index.neighbours(list(ctx.messages), self.k))
        voted = min(votes, key=lambda t: (-votes[t], t))
        ids = tier_ids(self.pool)
        tier = next((t for t in self.pool.tiers if ids[t.name] >= voted), self.pool.tiers[-1])
        return RouterDecision(tier.model_id, f"knn votes {dict(sorted(votes.items()))}")
