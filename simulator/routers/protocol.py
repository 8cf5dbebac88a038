"""TwinRouterBench's router protocol: what a router is asked (`RouterContext`) and what it answers.

A router is anything with `select(ctx) -> RouterDecision`; `decide` asks one and
turns whatever it answers into a tier of the pool, or a `RouterError` naming the
router, the step and the instance.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from simulator.config import Pool
from simulator.keys import SEMANTIC_FIELDS
from simulator.routers.deadline import Deadline, SelectTimeout
from simulator.routers.readonly import FrozenList


@dataclass(frozen=True)
class ModelCacheView:
    model_id: str
    last_call_ts: float | None
    prefix_token_count: int
    prefix_hash: str | None


@dataclass(frozen=True)
class CacheStateSnapshot:
    wallclock_ttl_sec: int
    now_ts: float
    by_model: Mapping[str, ModelCacheView]

    def get(self, model_id: str) -> ModelCacheView | None:
        return self.by_model.get(model_id)

    def is_warm(self, model_id: str) -> bool:
        """Was the model called within the TTL? (A trajectory only appends, so its cached prefix still applies.)"""
        view = self.by_model.get(model_id)
        return (
            view is not None
            and view.last_call_ts is not None
            and self.wallclock_ttl_sec > 0
            and self.now_ts - view.last_call_ts <= self.wallclock_ttl_sec
        )


@dataclass(frozen=True)
class RunConfig:
    max_steps: int
    budget_usd: float
    wallclock_ttl_sec: int
    select_timeout_sec: float


@dataclass(frozen=True)
class RouterContext:
    instance_id: str
    step_index: int
    messages: Sequence[Mapping[str, Any]]
    """The agent's messages as read-only views (`routers.readonly`): editing one raises TypeError. One view per
    trajectory, grown step by step: keep `list(ctx.messages)` to hold this step's messages."""
    tools: Sequence[Mapping[str, Any]]
    available_models: tuple[str, ...]
    """Cheapest first."""
    cache_state: CacheStateSnapshot
    budget_so_far_usd: float
    run_config: RunConfig


@dataclass(frozen=True)
class RouterDecision:
    model_id: str
    rationale: str | None = None


class Router(Protocol):
    def select(self, ctx: RouterContext) -> RouterDecision: ...


class RouterError(RuntimeError):
    """A router failed or answered something outside the pool."""


def make_context(
    *,
    instance_id,
    step_index,
    messages,
    tools,
    pool: Pool,
    cache_state: dict | CacheStateSnapshot,
    budget_so_far_usd,
    run_config,
) -> RouterContext:
    snapshot = (
        cache_state
        if type(cache_state) is CacheStateSnapshot
        else CacheStateSnapshot(
            wallclock_ttl_sec=cache_state["wallclock_ttl_sec"],
            now_ts=cache_state["now_ts"],
            by_model={k: ModelCacheView(**v) for k, v in cache_state["by_model"].items()},
        )
    )
    return RouterContext(
        instance_id=instance_id,
        step_index=step_index,
        messages=messages if type(messages) is FrozenList else FrozenList(messages),  # a trajectory's view as it is
        tools=tools if type(tools) is FrozenList else FrozenList(tools),
        available_models=tuple(t.model_id for t in pool.tiers),
        cache_state=snapshot,
        budget_so_far_usd=budget_so_far_usd,
        run_config=run_config,
    )


def context_json(ctx: RouterContext) -> dict:
    """The context as JSON (what an HTTP router receives); messages keep their semantic fields."""
    return {
        "instance_id": ctx.instance_id,
        "step_index": ctx.step_index,
        "messages": [{k: m[k] for k in SEMANTIC_FIELDS if m.get(k) is not None} for m in ctx.messages],
        "tools": list(ctx.tools),
        "available_models": list(ctx.available_models),
        "cache_state": dataclasses.asdict(ctx.cache_state),
        "budget_so_far_usd": ctx.budget_so_far_usd,
        "run_config": dataclasses.asdict(ctx.run_config),
    }


def decide(router: Router, label: str, ctx: RouterContext, pool: Pool) -> tuple[str, str | None]:
    """Ask the router; return (tier name, rationale) or raise RouterError naming router, step and instance.

    Whatever the router raises (`sys.exit` included, not Ctrl-C) becomes that error, and so does running past
    `run_config.select_timeout_sec`; a router with its own `timeout_sec` (the HTTP router) keeps that instead."""
    where = f"router {label!r} at step {ctx.step_index} of {ctx.instance_id}"
    limit = 0.0 if getattr(router, "timeout_sec", None) else ctx.run_config.select_timeout_sec
    deadline = None
    try:
        with Deadline(limit) as deadline:
            decision = router.select(ctx)
    except (Exception, SystemExit, SelectTimeout) as e:
        if deadline is not None and deadline.expired:
            raise RouterError(f"{where}: no answer within {limit:g} s (--select-timeout)") from None
        if isinstance(e, RouterError):  # the router's own account of what went wrong (e.g. an HTTP router's endpoint)
            raise RouterError(f"{where}: {e}") from e
        raise RouterError(f"{where} raised {type(e).__name__}: {e}") from e
    if deadline.expired:  # it swallowed the timeout and answered late
        raise RouterError(f"{where}: no answer within {limit:g} s (--select-timeout)")
    model_id, rationale = (
        (decision, None)
        if isinstance(decision, str)
        else (getattr(decision, "model_id", None), getattr(decision, "rationale", None))
    )
    if not isinstance(model_id, str):
        raise RouterError(f"{where} returned {decision!r}; expected a RouterDecision or a tier name")
    try:
        return pool.tier(model_id).name, rationale
    except KeyError as e:
        raise RouterError(f"{where}: {e.args[0]}") from None
