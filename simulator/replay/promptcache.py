"""Replayed spend: recorded token counts priced through a per-tier prompt-cache simulator, or as recorded.

`simulated` follows TwinRouterBench's wall-clock cache model (`swerouter/cache.py`):
per tier, remember the last prefix sent and when the call that sent it started;
a request is warm when it starts at most the TTL (inclusive) after that start and
the same tier saw a message-prefix of it. Warm requests read the previous
prompt's tokens from the cache (as far as the tier's `CacheRule` says it caches
them) and write the rest; cold requests write the whole prompt. A pool with TTL 0
has no prompt cache: everything is plain input.

`recorded` prices the provider-reported usage of the response served: its cached
tokens read, its reported cache writes written, the rest plain input. On the path
a recording followed this is what the provider billed; elsewhere it is the usage
of a call made with another history. The cache state routers see is kept either way.
"""

import dataclasses
from dataclasses import dataclass

from simulator.config import Pool, Tier
from simulator.routers.protocol import CacheStateSnapshot, ModelCacheView

COST_MODELS = ("simulated", "recorded")

WARM = "prefix_match"  # TwinRouterBench's lookup reason of a warm request


@dataclass(frozen=True)
class StepCost:
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    usd: float


@dataclass
class CacheEntry:
    depth: int
    """How many messages the cached prefix has."""
    node: str
    """Its prefix node key."""
    prompt_tokens: int
    last_call_ts: float
    """When the call that wrote it started (virtual clock)."""


class PromptCacheSimulator:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.entries: dict[str, CacheEntry] = {}
        self.tiers = {t.name: t for t in pool.tiers}  # by name: a step looks its tier up once, not by scanning
        self.views = {t.model_id: ModelCacheView(t.model_id, None, 0, None) for t in pool.tiers}
        """What routers see of each model's cache, remade only when a call changes it."""
        self.shown = {t.model_id: t.name for t in pool.tiers}  # tiers sharing a model id: the last one is shown

    def lookup(self, tier: str, startswith, now: float) -> str:
        """TwinRouterBench's lookup reason for a request to `tier` starting at `now`: `WARM`,
        `cold_start_first_call`, `ttl_expired` or `prefix_mismatch`. `startswith(depth, node)` says
        whether a cached prefix is a prefix of this request."""
        entry = self.entries.get(tier)
        if entry is None:
            return "cold_start_first_call"
        if self.pool.cache_ttl_sec == 0 or now - entry.last_call_ts > self.pool.cache_ttl_sec:
            return "ttl_expired"
        return WARM if startswith(entry.depth, entry.node) else "prefix_mismatch"

    def call(
        self, tier: str, startswith, *, depth: int, node: str, prompt_tokens: int, output_tokens: int, started_at: float
    ) -> tuple[StepCost, str]:
        """Price a followed call starting at `started_at` and stamp its cache entry with that start."""
        lookup = self.lookup(tier, startswith, started_at)
        cost = self.charge(tier, warm=lookup == WARM, prompt_tokens=prompt_tokens, output_tokens=output_tokens)
        self.entries[tier] = CacheEntry(depth, node, prompt_tokens, started_at)
        model_id = self.tiers[tier].model_id
        if self.shown[model_id] == tier:
            self.views[model_id] = ModelCacheView(model_id, started_at, prompt_tokens, node)
        return cost, lookup

    def charge(self, tier: str, *, warm: bool, prompt_tokens: int, output_tokens: int) -> StepCost:
        rules = self.tiers[tier]
        cached = rules.cache.cached(min(self.entries[tier].prompt_tokens, prompt_tokens)) if warm else 0
        fresh = prompt_tokens - cached
        write, plain = (fresh, 0) if self.pool.cache_ttl_sec > 0 else (0, fresh)
        return StepCost(plain, cached, write, output_tokens, rules.pricing.usd(plain, cached, write, output_tokens))

    def state(self, now: float) -> CacheStateSnapshot:
        """TwinRouterBench's cache_state as routers see it: per model id, what the router may know of its cache."""
        return CacheStateSnapshot(self.pool.cache_ttl_sec, now, dict(self.views))

    def snapshot(self, now: float) -> dict:
        """The cache state as JSON."""
        return dataclasses.asdict(self.state(now))


def recorded_cost(tier: Tier, usage: dict) -> StepCost:
    """The served response's provider-reported usage at `tier`'s prices."""
    cached, written = usage.get("cached_tokens", 0), usage.get("cache_write_tokens", 0)
    plain, output = usage["prompt_tokens"] - cached - written, usage["completion_tokens"]
    return StepCost(plain, cached, written, output, tier.pricing.usd(plain, cached, written, output))
