"""Routers: TwinRouterBench's protocol, built-in baselines and loading by spec.

A router is anything with `select(ctx) -> RouterDecision`; a plain callable
returning a tier name or model id works too. Each trajectory gets a fresh
router, so parallel replay equals serial replay.
"""

import copy
import importlib
import importlib.util
import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from simulator.schemas import Pool


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
    messages: tuple[Mapping[str, Any], ...]
    tools: tuple[Mapping[str, Any], ...]
    available_models: tuple[str, ...]
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


def make_context(*, instance_id, step_index, messages, tools, pool: Pool, cache_state: dict, budget_so_far_usd, run_config) -> RouterContext:
    snapshot = CacheStateSnapshot(
        wallclock_ttl_sec=cache_state["wallclock_ttl_sec"],
        now_ts=cache_state["now_ts"],
        by_model={k: ModelCacheView(**v) for k, v in cache_state["by_model"].items()},
    )
    return RouterContext(
        instance_id=instance_id,
        step_index=step_index,
        messages=tuple(messages),
        tools=tuple(tools),
        available_models=tuple(t.model_id for t in pool.tiers),
        cache_state=snapshot,
        budget_so_far_usd=budget_so_far_usd,
        run_config=run_config,
    )


def decide(router: Router, label: str, ctx: RouterContext, pool: Pool) -> tuple[str, str | None]:
    """Ask the router; return (tier name, rationale) or raise RouterError naming router, step and instance."""
    where = f"router {label!r} at step {ctx.step_index} of {ctx.instance_id}"
    try:
        decision = router.select(ctx)
    except Exception as e:
        raise RouterError(f"{where} raised {type(e).__name__}: {e}") from e
    model_id, rationale = (decision, None) if isinstance(decision, str) else (getattr(decision, "model_id", None), getattr(decision, "rationale", None))
    if not isinstance(model_id, str):
        raise RouterError(f"{where} returned {decision!r}; expected a RouterDecision or a tier name")
    try:
        return pool.tier(model_id).name, rationale
    except KeyError as e:
        raise RouterError(f"{where}: {e.args[0]}") from None


@dataclass
class FunctionRouter:
    func: Callable[[RouterContext], Any]

    def select(self, ctx: RouterContext) -> Any:
        return self.func(ctx)


@dataclass
class AlwaysRouter:
    tier: str

    def select(self, ctx: RouterContext) -> RouterDecision:
        return RouterDecision(self.tier, "always")


@dataclass
class RandomRouter:
    """Uniform over the pool; the stream depends on (seed, instance) only."""

    seed: int = 0
    rng: random.Random | None = None

    def select(self, ctx: RouterContext) -> RouterDecision:
        if self.rng is None:
            self.rng = random.Random(f"{self.seed}:{ctx.instance_id}")
        return RouterDecision(self.rng.choice(ctx.available_models), f"random seed={self.seed}")


def _params(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(",") if part)


def _knn(arg: str, pool: Pool) -> Router:
    from simulator.static import KnnRouter  # imported here: simulator.static builds on this module

    return KnnRouter.from_spec(arg, pool)


BUILTINS: dict[str, tuple[str, Callable[[str, Pool], Router]]] = {
    "always": ("always:<tier> — the same tier at every step", lambda arg, pool: AlwaysRouter(arg)),
    "random": ("random:seed=N — uniform random tier, reproducible per seed and instance", lambda arg, pool: RandomRouter(int(_params(arg).get("seed", 0)))),
    "knn": ("knn:bank=PATH[,k=5] — majority tier of the k nearest rows of a static bank (hashed TF-IDF of the last 2 messages)", _knn),
}


def router_factory(spec: str, pool: Pool) -> Callable[[], Router]:
    """Parse a router spec into a factory of fresh routers (one per trajectory).

    Specs: `always:high`, `random:seed=3`, `package.module:attr`, `path/to/file.py[:attr]`.
    `attr` may be a class (instantiated), a router object (deep-copied) or a function.
    """
    name, _, arg = spec.partition(":")
    if name in BUILTINS:
        if name == "always":
            pool.tier(arg)  # an unknown tier fails here, before any trajectory runs
        build = BUILTINS[name][1]
        try:
            build(arg, pool)
        except ValueError as e:
            raise ValueError(f"bad router spec {spec!r}: {e}") from None
        return lambda: build(arg, pool)
    target = _load_attr(spec)
    if isinstance(target, type):
        return target
    if hasattr(target, "select"):
        return lambda: copy.deepcopy(target)
    if callable(target):
        return lambda: FunctionRouter(target)
    raise ValueError(f"router {spec!r} is neither a class, an object with select(), nor a function")


def _load_attr(spec: str) -> Any:
    if ".py" in spec:
        stem, _, attr = spec.partition(".py")
        file, attr = Path(stem + ".py"), attr.removeprefix(":")
        if not file.is_file():
            raise ValueError(f"router {spec!r}: no file {file}")
        module_name = f"twinsim_router_{file.stem}"
        module_spec = importlib.util.spec_from_file_location(module_name, file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module  # lets deepcopy and pickling find its classes
        module_spec.loader.exec_module(module)
        attr = attr or next((a for a in ("router", "Router", "select") if hasattr(module, a)), "")
    else:
        module_name, sep, attr = spec.partition(":")
        if not sep:
            raise ValueError(f"unknown router {spec!r}: use a built-in ({', '.join(BUILTINS)}), module:attr or file.py[:attr]")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise ValueError(f"router {spec!r}: cannot import {module_name!r}: {e}") from None
    if not attr or not hasattr(module, attr):
        raise ValueError(f"router {spec!r}: no attribute {attr or 'router, Router or select'!r}")
    return getattr(module, attr)
