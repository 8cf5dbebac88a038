"""The built-in routers: always, random, round-robin, schedule, escalate, budget, cache-aware.

Each is deterministic given its parameters (and seed), keeps state only within
its trajectory, and is built from a spec `name:key=value,key=value`; lists inside
a value are separated by `/` (`round-robin:tiers=low/high`). `twinsim routers` lists them.
"""

import json
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from simulator.config import Pool
from simulator.routers.protocol import RouterContext, RouterDecision
from simulator.text import content_text

# --- what went wrong so far, read from the messages alone ------------------------------

RETURNCODE = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")


def _is_format_error(message: Mapping) -> bool:
    """mini-swe-agent marks the message it sends back after an unparsable reply; its templates say `Format error`."""
    extra = message.get("extra") or {}
    return extra.get("interrupt_type") == "FormatError" or (
        message.get("role") == "user" and content_text(message.get("content")).lstrip().startswith("Format error")
    )


def _action(message: Mapping) -> Any:
    """What an assistant message asks to run: its parsed commands, else its tool calls, else its text."""
    actions = (message.get("extra") or {}).get("actions")
    if actions:
        return tuple(a.get("command") for a in actions)
    if message.get("tool_calls"):
        return tuple(json.dumps(call.get("function"), sort_keys=True) for call in message["tool_calls"])
    return content_text(message.get("content")).strip()


def _returncode(message: Mapping) -> int | None:
    """An observation's return code: mini-swe-agent's `extra.returncode`, else `<returncode>N</returncode>` in it."""
    code = (message.get("extra") or {}).get("returncode")
    if isinstance(code, int):
        return code
    found = RETURNCODE.search(content_text(message.get("content")))
    return int(found.group(1)) if found else None


def step_troubles(messages: Iterable[Mapping]) -> list[str | None]:
    """Per model step so far, what went wrong (None: nothing): a format error, a repeated action, a non-zero exit."""
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
            plan = tuple(
                pool.tier(name).model_id for name, k in params.items() for _ in range(spec_number(int, name, k, 0))
            )
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
