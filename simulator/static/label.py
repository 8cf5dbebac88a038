"""Labels by downgrade-and-cascade: each step of a resolved all-top trajectory gets the cheapest tier still resolving.

Every trial is a whole replay (`replay_trajectory`) with the upstream locks in force,
under the setup's miss policy, so a label is computed exactly where the recording
holds the trial and live or approximately only where the policy allows it.
"""

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.bank import semantic, tier_ids
from simulator.config import TIER_IDS
from simulator.records import RunResult
from simulator.replay.context import LiveBudget
from simulator.replay.engine import replay_trajectory
from simulator.replay.setup import Setup
from simulator.routers.builtin import ScheduleRouter
from simulator.routers.protocol import RouterContext, RouterDecision
from simulator.store import Store


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

    def passes(self, steps: int, approximate_ok: bool = False) -> bool:
        """Resolves in the same number of steps; an approximate trial only when approximations are accepted."""
        trusted = approximate_ok or self.result.fidelity != "approximate"
        return trusted and self.result.status == "resolved" and len(self.result.steps) == steps


def cascade(
    steps: int, tiers: tuple[str, ...], run: Callable[[tuple[str, ...]], Trial], approximate_ok: bool = False
) -> tuple[list[str], Trial | None, list[Trial]]:
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
            if trial.passes(steps, approximate_ok):
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
            "live_usd": round(
                sum(t["live_usd"] for t in trials) + sum(i["seed"]["live_usd"] for i in self.instances), 10
            ),
        }


def label(
    setup: Setup,
    instance_ids: list[str],
    *,
    benchmark: str,
    budget: LiveBudget,
    on_instance: Callable[[dict], None] = lambda report: None,
    approximate_ok: bool = False,
) -> LabelRun:
    """Label every instance whose all-top trajectory resolves; the others are reported and skipped.
    Instances are labelled one after the other here, or as Ray tasks (`setup.executor == "ray"`), each on its own;
    the result lists them in the order asked either way.

    An approximate trial (seed included) is not accepted unless `approximate_ok`; then the rows of an
    instance with any approximate trial carry `"approximate": true`, so a bank never passes one off as exact."""
    out = LabelRun()
    if setup.executor == "ray":
        from simulator.replay.cluster import run_on_ray

        pairs = [(benchmark, i) for i in instance_ids]
        run = functools.partial(_label_on_worker, approximate_ok)
        done = dict(run_on_ray(setup, pairs, init=_init_worker, run=run, max_live_usd=budget.cap_usd))
        labelled = (done[pair] for pair in pairs)
    else:
        store = setup.open_store()
        labelled = (label_instance(setup, store, budget, benchmark, i, approximate_ok) for i in instance_ids)
    for report, rows in labelled:
        out.instances.append(report)
        out.rows += rows
        on_instance(report)
    return out


def label_instance(
    setup: Setup, store: Store, budget: LiveBudget, benchmark: str, instance_id: str, approximate_ok: bool
) -> tuple[dict, list[dict]]:
    """The trials of one instance and its bank rows (none unless its all-top trajectory resolves)."""
    run = functools.partial(run_trial, setup, setup.suite.instance(instance_id), store, budget)
    seed = run(())
    report = {"instance_id": instance_id, "seed": _trial_summary(seed), "labels": [], "trials": []}
    steps = len(seed.result.steps)
    if not seed.passes(steps, approximate_ok):
        return report, []
    locks, final, trials = cascade(steps, tuple(tier_ids(setup.pool)), run, approximate_ok)
    final = final or seed
    report["labels"] = locks
    report["trials"] = [
        _trial_summary(t)
        | {"step": len(t.schedule) - 1, "tier": t.schedule[-1], "accepted": t.passes(steps, approximate_ok)}
        for t in trials
    ]
    approximate = approximate_ok and any(t.kind == "approximate" for t in (seed, *trials))
    rows = [
        ({"approximate": True} if approximate else {})
        | {
            "id": f"{benchmark}_{instance_id}_step_{i + 1}",
            "benchmark": benchmark,
            "instance_id": instance_id,
            "step_index": i + 1,
            "total_steps": steps,
            "messages": final.prefixes[i],
            "target_tier": tier,
            "target_tier_id": TIER_IDS[tier],
        }
        for i, tier in enumerate(locks)
    ]
    return report, rows


_worker: dict = {}


def _init_worker(setup: Setup, budget: LiveBudget) -> None:
    _worker.update(setup=setup, budget=budget, store=setup.open_store())


def _label_on_worker(approximate_ok: bool, benchmark: str, instance_id: str) -> tuple[dict, list[dict]]:
    return label_instance(_worker["setup"], _worker["store"], _worker["budget"], benchmark, instance_id, approximate_ok)


def run_trial(setup: Setup, instance: dict, store: Store, budget: LiveBudget, schedule: tuple[str, ...]) -> Trial:
    """Replay the whole trajectory with `schedule` locked and the top tier after it."""
    top = setup.pool.names[-1]
    router = LockedRouter(schedule, top)
    result = replay_trajectory(setup, f"cascade:{'/'.join(schedule) or top}", instance, store, budget, router=router)
    return Trial(schedule, result, router.prefixes)


def _trial_summary(trial: Trial) -> dict:
    r = trial.result
    return {"kind": trial.kind, "status": r.status, "steps": len(r.steps), "reason": r.reason, "live_usd": r.live_usd}
