"""Routers: TwinRouterBench's protocol, the built-in routers and loading by spec.

A router is anything with `select(ctx) -> RouterDecision`; a plain callable
returning a tier name or model id works too, and so does an HTTP endpoint that
receives the context as JSON. Each trajectory gets a fresh router, so a router
may keep state within its trajectory and parallel replay still equals serial
replay.

Built-in specs are `name` or `name:key=value,key=value`; lists inside a value
are separated by `/` (`round-robin:tiers=low/high`). `twinsim routers` lists them.
"""

import copy
import dataclasses
import http.client
import importlib
import importlib.util
import inspect
import json
import random
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from simulator.keys import SEMANTIC_FIELDS
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
    messages: tuple[Mapping[str, Any], ...]
    tools: tuple[Mapping[str, Any], ...]
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
    """Ask the router; return (tier name, rationale) or raise RouterError naming router, step and instance."""
    where = f"router {label!r} at step {ctx.step_index} of {ctx.instance_id}"
    try:
        decision = router.select(ctx)
    except RouterError as e:  # the router's own account of what went wrong (e.g. an HTTP router's endpoint)
        raise RouterError(f"{where}: {e}") from e
    except Exception as e:
        raise RouterError(f"{where} raised {type(e).__name__}: {e}") from e
    model_id, rationale = (decision, None) if isinstance(decision, str) else (getattr(decision, "model_id", None), getattr(decision, "rationale", None))
    if not isinstance(model_id, str):
        raise RouterError(f"{where} returned {decision!r}; expected a RouterDecision or a tier name")
    try:
        return pool.tier(model_id).name, rationale
    except KeyError as e:
        raise RouterError(f"{where}: {e.args[0]}") from None


# --- what went wrong so far, read from the messages alone ------------------------------

RETURNCODE = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")


def _text(message: Mapping) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(block.get("text", "") for block in content if isinstance(block, dict))
    return content if isinstance(content, str) else ""


def _is_format_error(message: Mapping) -> bool:
    """mini-swe-agent marks the message it sends back after an unparsable reply; its templates start with `Format error`."""
    extra = message.get("extra") or {}
    return extra.get("interrupt_type") == "FormatError" or (message.get("role") == "user" and _text(message).lstrip().startswith("Format error"))


def _action(message: Mapping) -> Any:
    """What an assistant message asks to run: its parsed commands, else its tool calls, else its text."""
    actions = (message.get("extra") or {}).get("actions")
    if actions:
        return tuple(a.get("command") for a in actions)
    if message.get("tool_calls"):
        return tuple(json.dumps(call.get("function"), sort_keys=True) for call in message["tool_calls"])
    return _text(message).strip()


def _returncode(message: Mapping) -> int | None:
    """An observation's return code: mini-swe-agent's `extra.returncode`, else `<returncode>N</returncode>` in its text."""
    code = (message.get("extra") or {}).get("returncode")
    if isinstance(code, int):
        return code
    found = RETURNCODE.search(_text(message))
    return int(found.group(1)) if found else None


def step_troubles(messages: Iterable[Mapping]) -> list[str | None]:
    """Per model step so far, what went wrong (None: nothing): a format error, a repeated action, a non-zero exit code."""
    troubles: list[str | None] = []
    seen: set = set()
    for message in messages:
        if _is_format_error(message):
            troubles.append("a format error")
        elif message.get("role") == "assistant":
            action = _action(message)
            troubles.append("a repeated action" if action in seen else None)
            seen.add(action)
        elif troubles and troubles[-1] is None and message.get("role") in ("user", "tool"):
            code = _returncode(message)
            if code not in (None, 0):
                troubles[-1] = f"exit code {code}"
    return troubles


# --- parsing built-in specs --------------------------------------------------------------


def spec_params(router: str, text: str, known: Iterable[str]) -> dict[str, str]:
    known = tuple(known)
    params: dict[str, str] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not (sep and key and value):
            raise ValueError(f"{part!r} is not key=value")
        if key not in known:
            raise ValueError(f"unknown parameter {key!r}; {router} takes {', '.join(known) or 'none'}")
        if key in params:
            raise ValueError(f"parameter {key!r} given twice")
        params[key] = value
    return params


def spec_number(kind: type, key: str, value: str, minimum: float | None = None) -> Any:
    try:
        number = kind(value)
    except ValueError:
        raise ValueError(f"{key}={value!r} is not {'an integer' if kind is int else 'a number'}") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"{key}={value} is below {minimum}")
    return number


def _tiers(pool: Pool, text: str) -> tuple[str, ...]:
    """`low/high` -> their model ids (unknown names fail with the pool's tier list)."""
    return tuple(pool.tier(name).model_id for name in text.split("/"))


def _ladder(pool: Pool) -> tuple[str, ...]:
    return tuple(t.model_id for t in pool.tiers)


# --- built-in routers ---------------------------------------------------------------------


@dataclass
class AlwaysRouter:
    """The same tier at every step.

    always:<tier>   a tier name or model id of the pool
    """

    syntax: ClassVar[str] = "always:<tier>"
    tier: str

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "AlwaysRouter":
        pool.tier(text)  # an unknown tier fails here, before any trajectory runs
        return cls(text)

    def select(self, ctx: RouterContext) -> RouterDecision:
        return RouterDecision(self.tier, "always")


@dataclass
class RandomRouter:
    """A random tier per step, reproducible per seed and instance.

    seed=N          stream seed (default 0); the stream depends on (seed, instance) only
    weights=W       relative weights per tier, `low:3/mid:1/high:1`; unnamed tiers get 0
                    (default: uniform)
    """

    syntax: ClassVar[str] = "random[:seed=N][,weights=low:3/mid:1/high:1]"
    seed: int = 0
    weights: Mapping[str, float] | None = None
    rng: random.Random | None = None

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "RandomRouter":
        params = spec_params("random", text, ("seed", "weights"))
        weights = None
        if "weights" in params:
            weights = {}
            for item in params["weights"].split("/"):
                name, sep, weight = item.partition(":")
                if not sep:
                    raise ValueError(f"weights item {item!r} is not tier:weight")
                weights[pool.tier(name).model_id] = spec_number(float, f"weight of {name}", weight, 0)
            if not any(weights.values()):
                raise ValueError("weights are all zero")
        return cls(spec_number(int, "seed", params.get("seed", "0")), weights)

    def select(self, ctx: RouterContext) -> RouterDecision:
        if self.rng is None:
            self.rng = random.Random(f"{self.seed}:{ctx.instance_id}")
        if self.weights is None:  # uniform keeps the stream the recordings were made with
            return RouterDecision(self.rng.choice(ctx.available_models), f"random seed={self.seed}")
        weights = [self.weights.get(m, 0.0) for m in ctx.available_models]
        return RouterDecision(self.rng.choices(ctx.available_models, weights)[0], f"random seed={self.seed}")


@dataclass
class RoundRobinRouter:
    """Cycles through the tiers by step index, cheapest first.

    tiers=T/T/...   the cycle (default: every tier of the pool, cheapest first)
    """

    syntax: ClassVar[str] = "round-robin[:tiers=low/mid/high]"
    tiers: tuple[str, ...]

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "RoundRobinRouter":
        params = spec_params("round-robin", text, ("tiers",))
        return cls(_tiers(pool, params["tiers"]) if "tiers" in params else _ladder(pool))

    def select(self, ctx: RouterContext) -> RouterDecision:
        return RouterDecision(self.tiers[ctx.step_index % len(self.tiers)], "round-robin")


@dataclass
class ScheduleRouter:
    """A fixed tier per step index, then one tier for the rest.

    <tier>=K,...    K steps on each named tier, in the order given (`high=2,mid=1`)
    tiers=T/T/...   or one tier per step (`tiers=high/high/mid`)
    then=<tier>     the tier after the schedule (default: the cheapest)
    """

    syntax: ClassVar[str] = "schedule:high=2[,mid=1...][,then=low]  |  schedule:tiers=high/high/mid[,then=low]"
    plan: tuple[str, ...]
    then: str

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "ScheduleRouter":
        params = spec_params("schedule", text, ("tiers", "then", *pool.names))
        then = pool.tier(params.pop("then")).model_id if "then" in params else pool.tiers[0].model_id
        if "tiers" in params:
            if len(params) > 1:
                raise ValueError("give either tiers=... or <tier>=K counts, not both")
            plan = _tiers(pool, params["tiers"])
        else:
            plan = tuple(pool.tier(name).model_id for name, k in params.items() for _ in range(spec_number(int, name, k, 0)))
        if not plan:
            raise ValueError("the schedule is empty: give <tier>=K or tiers=...")
        return cls(plan, then)

    def select(self, ctx: RouterContext) -> RouterDecision:
        if ctx.step_index < len(self.plan):
            return RouterDecision(self.plan[ctx.step_index], f"schedule step {ctx.step_index}")
        return RouterDecision(self.then, "schedule done")


@dataclass
class EscalateRouter:
    """Starts cheap and moves one tier up when steps go wrong (non-zero exit code, format error, repeated action).

    start=<tier>    the first tier (default: the cheapest)
    patience=N      consecutive troubled steps before moving up (default 1)
    down_after=N    consecutive clean steps before moving one tier down again, never
                    below start (default 0: never)

    It decides from the messages alone (see `step_troubles`), so it keeps no state
    and gives the same answer for the same prefix wherever it is asked.
    """

    syntax: ClassVar[str] = "escalate[:start=low][,patience=1][,down_after=0]"
    ladder: tuple[str, ...]
    start: int = 0
    patience: int = 1
    down_after: int = 0

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "EscalateRouter":
        params = spec_params("escalate", text, ("start", "patience", "down_after"))
        ladder = _ladder(pool)
        return cls(
            ladder,
            start=ladder.index(pool.tier(params["start"]).model_id) if "start" in params else 0,
            patience=spec_number(int, "patience", params.get("patience", "1"), 1),
            down_after=spec_number(int, "down_after", params.get("down_after", "0"), 0),
        )

    def select(self, ctx: RouterContext) -> RouterDecision:
        level, troubled, clean, why = self.start, 0, 0, "start"
        for trouble in step_troubles(ctx.messages):
            troubled, clean = (troubled + 1, 0) if trouble else (0, clean + 1)
            if troubled >= self.patience and level < len(self.ladder) - 1:
                level, troubled, why = level + 1, 0, f"up after {trouble}"
            elif self.down_after and clean >= self.down_after and level > self.start:
                level, clean, why = level - 1, 0, f"down after {self.down_after} clean steps"
        return RouterDecision(self.ladder[level], f"escalate: {why}")


@dataclass
class BudgetRouter:
    """Cheaper tiers as a trajectory spends its budget.

    usd=X           the budget (default: run_config.budget_usd, the agent's cost limit)
    <tier>=F        use the tier while the fraction of the budget spent is below F
                    (default: the most expensive tier below 0.5, the next below 0.8)
    else=<tier>     the tier past every threshold (default: the cheapest)

    With no budget (0) nothing counts as spent: the first threshold's tier.
    """

    syntax: ClassVar[str] = "budget[:usd=X][,high=0.5,mid=0.8...][,else=low]"
    bands: tuple[tuple[float, str], ...]
    """(fraction, model id), ascending."""
    floor: str
    usd: float | None = None

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "BudgetRouter":
        params = spec_params("budget", text, ("usd", "else", *pool.names))
        usd = spec_number(float, "usd", params.pop("usd"), 1e-12) if "usd" in params else None
        floor = pool.tier(params.pop("else")).model_id if "else" in params else pool.tiers[0].model_id
        if params:
            bands = [(spec_number(float, name, f, 0), pool.tier(name).model_id) for name, f in params.items()]
        else:
            bands = [(f, t.model_id) for f, t in zip((0.5, 0.8), reversed(pool.tiers[1:]))]
        return cls(tuple(sorted(bands)), floor, usd)

    def select(self, ctx: RouterContext) -> RouterDecision:
        budget = self.usd or ctx.run_config.budget_usd
        spent = ctx.budget_so_far_usd / budget if budget > 0 else 0.0
        tier = next((m for f, m in self.bands if spent < f), self.floor)
        return RouterDecision(tier, f"budget: {spent:.0%} spent")


@dataclass
class CacheAwareRouter:
    """Stays on the tier whose prompt cache is warm; moves one tier up when steps go wrong.

    start=<tier>    the tier while no cache is warm (default: the cheapest)
    patience=N      move up when each of the last N steps went wrong (default 1)

    Of several warm tiers it keeps the one called last: it caches the longest prefix
    (token counts of different models are not comparable).
    """

    syntax: ClassVar[str] = "cache-aware[:start=low][,patience=1]"
    ladder: tuple[str, ...]
    start: int = 0
    patience: int = 1

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "CacheAwareRouter":
        params = spec_params("cache-aware", text, ("start", "patience"))
        ladder = _ladder(pool)
        start = ladder.index(pool.tier(params["start"]).model_id) if "start" in params else 0
        return cls(ladder, start, spec_number(int, "patience", params.get("patience", "1"), 1))

    def select(self, ctx: RouterContext) -> RouterDecision:
        state = ctx.cache_state
        warm = [i for i, m in enumerate(self.ladder) if state.is_warm(m)]
        level = max(warm, key=lambda i: state.by_model[self.ladder[i]].last_call_ts) if warm else self.start
        recent = step_troubles(ctx.messages)[-self.patience :]
        if len(recent) == self.patience and all(recent) and level < len(self.ladder) - 1:
            return RouterDecision(self.ladder[level + 1], f"cache-aware: up after {recent[-1]}")
        return RouterDecision(self.ladder[level], "cache-aware: warm" if warm else "cache-aware: cold start")


@dataclass
class HttpRouter:
    """POSTs the context as JSON to a URL, which answers {"model_id" or "tier": ..., "rationale": ...}.

    #timeout=S      seconds to wait for the answer (default 5)

    The body is `context_json(ctx)`: the RouterContext's fields, messages with their
    semantic fields only. An unreachable, slow, failing or garbled endpoint ends the
    trajectory incomplete.
    """

    syntax: ClassVar[str] = "http(s)://host:port/path[#timeout=5]"
    url: str
    timeout_sec: float = 5.0

    @classmethod
    def from_spec(cls, spec: str) -> "HttpRouter":
        url, _, fragment = spec.partition("#")
        if not urllib.parse.urlsplit(url).hostname:
            raise ValueError(f"no host in {url!r}")
        params = spec_params("an HTTP router", fragment, ("timeout",))
        return cls(url, spec_number(float, "timeout", params.get("timeout", "5"), 0.001))

    def select(self, ctx: RouterContext) -> RouterDecision:
        request = urllib.request.Request(self.url, data=json.dumps(context_json(ctx)).encode(), headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_sec) as response:
                body = response.read()
        except urllib.error.HTTPError as e:
            raise RouterError(f"the endpoint answered HTTP {e.code} {e.reason}") from None
        except (OSError, http.client.HTTPException) as e:  # URLError and timeouts are OSErrors
            reason = getattr(e, "reason", None) or e
            if isinstance(reason, TimeoutError):
                raise RouterError(f"no answer within {self.timeout_sec:g} s") from None
            raise RouterError(f"the request failed: {type(reason).__name__ if isinstance(reason, Exception) else 'URLError'}: {reason}") from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise RouterError(f"the endpoint answered {body[:100]!r}, not JSON") from None
        fields = answer if isinstance(answer, dict) else {}
        model_id, rationale = fields.get("model_id") or fields.get("tier"), fields.get("rationale")
        if not isinstance(model_id, str) or not isinstance(rationale, (str, type(None))):
            raise RouterError(f'the endpoint answered {body[:100]!r}; expected {{"model_id" or "tier": str, "rationale": str}}')
        return RouterDecision(model_id, rationale)


@dataclass
class FunctionRouter:
    func: Callable[[RouterContext], Any]

    def select(self, ctx: RouterContext) -> Any:
        return self.func(ctx)


class KnnRouter:
    """Majority tier of the k rows of a static bank nearest to the last 2 messages (simulator.static).

    bank=PATH       a static bank, e.g. from `twinsim label --out`
    k=N             neighbours (default 5)
    """

    syntax: ClassVar[str] = "knn:bank=PATH[,k=N]"

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> Router:
        from simulator.static import KnnRouter  # imported here: simulator.static builds on this module

        return KnnRouter.from_spec(text, pool)


BUILTINS: dict[str, type] = {
    "always": AlwaysRouter,
    "random": RandomRouter,
    "round-robin": RoundRobinRouter,
    "schedule": ScheduleRouter,
    "escalate": EscalateRouter,
    "budget": BudgetRouter,
    "cache-aware": CacheAwareRouter,
    "knn": KnnRouter,
}


def describe(router: type) -> tuple[str, str]:
    """(spec syntax, docstring) of a built-in router: a one-line description, then its parameters."""
    return router.syntax, inspect.cleandoc(router.__doc__)


# --- loading by spec ------------------------------------------------------------------


def router_factory(spec: str, pool: Pool) -> Callable[[], Router]:
    """Parse a router spec into a factory of fresh routers (one per trajectory).

    Specs: a built-in (`always:high`, `escalate:patience=2`, ... see BUILTINS),
    an URL (`http://127.0.0.1:8000/select#timeout=2`), `package.module:attr` or
    `path/to/file.py[:attr]`. `attr` may be a class (instantiated), a router
    object (deep-copied) or a function. A bad spec raises ValueError here, so
    it fails before any trajectory runs.
    """
    factory = _factory(spec, pool)
    try:
        factory()
    except Exception as e:
        raise ValueError(f"router {spec!r} cannot be created: {type(e).__name__}: {e}") from None
    return factory


def _factory(spec: str, pool: Pool) -> Callable[[], Router]:
    name, _, arg = spec.partition(":")
    if name in ("http", "https"):
        build = lambda: HttpRouter.from_spec(spec)
    elif name in BUILTINS:
        build = lambda: BUILTINS[name].from_spec(arg, pool)
    else:
        target = _load_attr(spec)
        if isinstance(target, type):
            return target
        if hasattr(target, "select"):
            return lambda: copy.deepcopy(target)
        if callable(target):
            return lambda: FunctionRouter(target)
        raise ValueError(f"router {spec!r} is neither a class, an object with select(), nor a function")
    try:
        build()
    except (ValueError, KeyError) as e:
        raise ValueError(f"bad router spec {spec!r}: {e.args[0]}") from None
    return build


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
        try:
            module_spec.loader.exec_module(module)
        except Exception as e:
            raise ValueError(f"router {spec!r}: loading {file} raised {type(e).__name__}: {e}") from None
        attr = attr or next((a for a in ("router", "Router", "select") if hasattr(module, a)), "")
    else:
        module_name, sep, attr = spec.partition(":")
        if not sep:
            raise ValueError(f"unknown router {spec!r}: use a built-in ({', '.join(BUILTINS)}), an http(s):// URL, module:attr or file.py[:attr]")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise ValueError(f"router {spec!r}: cannot import {module_name!r}: {e}") from None
    if not attr or not hasattr(module, attr):
        raise ValueError(f"router {spec!r}: no attribute {attr or 'router, Router or select'!r}")
    return getattr(module, attr)
