"""Configuration as data: tier pools with their prices, mini-swe-agent agent configs, and the one pricing rule.

Built-in pools and agents are YAML files under `simulator/config/`; a path to any
YAML file of the same shape works wherever a built-in name does.
"""

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator import keys

DEFAULT_SELECT_TIMEOUT_SEC = 30.0  # how long an in-process router may take to choose a tier (--select-timeout)
TIER_IDS = {"low": 0, "mid": 1, "mid_high": 2, "high": 3}  # TwinRouterBench's tier ids


class Pricing(BaseModel):
    """USD per 1M tokens, in TwinRouterBench's four buckets."""

    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0)
    cache_read: float = Field(ge=0)
    cache_write: float = Field(ge=0)
    output: float = Field(ge=0)

    def usd(self, input: int = 0, cache_read: int = 0, cache_write: int = 0, output: int = 0) -> float:
        """The price of token counts per bucket: the one pricing rule (replay, static track, live spend cap)."""
        return (
            input * self.input + cache_read * self.cache_read + cache_write * self.cache_write + output * self.output
        ) / 1e6


class CacheRule(BaseModel):
    """How a tier's provider caches prompts, as far as replayed spend models it (defaults: TwinRouterBench's
    rule, every warm request reads the whole previous prompt)."""

    model_config = ConfigDict(extra="forbid")
    min_tokens: int = Field(default=0, ge=0)
    """A shorter previous prompt is not cached at all."""
    block_tokens: int = Field(default=1, ge=1)
    """The cache holds whole blocks of this many tokens."""
    hit_rate: float = Field(default=1.0, ge=0, le=1)
    """Share of warm requests that find their prefix (providers balance load over separate caches);
    applied as an expected value, so replay stays deterministic."""

    def cached(self, previous_prompt_tokens: int) -> int:
        """Tokens a warm request reads when the cached prefix was `previous_prompt_tokens` long."""
        if previous_prompt_tokens < self.min_tokens:
            return 0
        return round(previous_prompt_tokens // self.block_tokens * self.block_tokens * self.hit_rate)


class Tier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    model_id: str = ""
    """The id routers see in `available_models` (TwinRouterBench's pool ids); defaults to name."""
    model: str
    """litellm model string, e.g. `anthropic/claude-opus-4-6` or `openai/qwen2.5-coder-1.5b`."""
    api_base: str | None = None
    api_key_env: str | None = None
    """Name of the environment variable holding the key; the key itself is never stored."""
    params: dict[str, Any] = {}
    """Request parameters; the output-affecting ones (keys.OUTPUT_PARAMS) enter response keys."""
    pricing: Pricing
    cache: CacheRule = CacheRule()

    @model_validator(mode="after")
    def _default_id(self) -> "Tier":
        self.model_id = self.model_id or self.name
        return self

    @property
    def spec(self) -> dict:
        return keys.tier_spec(self.model, self.params)


class Pool(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    tiers: list[Tier]
    """Ordered cheapest first."""
    cache_ttl_sec: int = Field(default=300, ge=0)
    """Prompt-cache TTL on the virtual clock; 0 means the provider does not cache."""
    max_concurrency: int = Field(default=8, ge=1)
    """How many requests the pool's endpoints take at once (fan-out); 1 for llama.cpp on a laptop."""

    @model_validator(mode="after")
    def _unique_names(self) -> "Pool":
        names = [t.name for t in self.tiers]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"pool {self.name!r} needs distinct tier names, got {names}")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)

    def tier(self, name: str) -> Tier:
        """A tier by name, router-visible model id or litellm model string."""
        for t in self.tiers:
            if name in (t.name, t.model_id, t.model):
                return t
        raise KeyError(f"unknown tier {name!r}; pool {self.name!r} has {', '.join(self.names)}")


class PriceTable(BaseModel):
    """Prices per tier name, apart from any pool: TwinRouterBench's static table, or a pool's own prices."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    prices: dict[str, Pricing]


def priced(pool: Pool, table: PriceTable) -> Pool:
    """The pool with every tier priced by `table` (each tier must have a price there)."""
    missing = [t for t in pool.names if t not in table.prices]
    if missing:
        raise ValueError(f"pricing {table.name!r} has no price for tier(s) {', '.join(missing)} of pool {pool.name!r}")
    tiers = [t.model_copy(update={"pricing": table.prices[t.name]}) for t in pool.tiers]
    return pool.model_copy(update={"tiers": tiers})


class AgentConfig(BaseModel):
    """A mini-swe-agent config (its own YAML layout: agent / model / environment sections)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "custom"
    agent: dict[str, Any]
    model: dict[str, Any] = {}
    environment: dict[str, Any] = {}


def _builtin(kind: str, name: str) -> Path:
    return Path(str(resources.files("simulator") / "config" / kind / f"{name}.yaml"))


def builtin_names(kind: str) -> list[str]:
    folder = Path(str(resources.files("simulator") / "config" / kind))
    return sorted(p.stem for p in folder.glob("*.yaml"))


def _load_yaml(kind: str, name_or_path: str) -> dict:
    path = Path(name_or_path)
    if not path.is_file():
        path = _builtin(kind, name_or_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no {kind.rstrip('s')} {name_or_path!r}: not a file, and not a built-in "
                f"({', '.join(builtin_names(kind))})"
            )
    return yaml.safe_load(path.read_text())


def load_pool(name_or_path: str) -> Pool:
    return Pool.model_validate(_load_yaml("pools", name_or_path))


def load_agent_config(name_or_path: str) -> AgentConfig:
    data = _load_yaml("agents", name_or_path)
    data.setdefault("name", Path(name_or_path).stem)
    return AgentConfig.model_validate(data)


def load_pricing(name_or_path: str) -> PriceTable:
    """A price table: a built-in one (`trb-static`), a YAML file of one, or any pool's (built-in or file) prices."""
    if not Path(name_or_path).is_file() and name_or_path not in builtin_names("pricing") + builtin_names("pools"):
        raise FileNotFoundError(
            f"no pricing {name_or_path!r}: not a file, not a built-in price table "
            f"({', '.join(builtin_names('pricing'))}) and not a built-in pool ({', '.join(builtin_names('pools'))})"
        )
    data = _load_yaml("pools" if name_or_path in builtin_names("pools") else "pricing", name_or_path)
    if isinstance(data, dict) and "tiers" in data:
        pool = Pool.model_validate(data)
        return PriceTable(
            name=pool.name, description=f"pool {pool.name}", prices={t.name: t.pricing for t in pool.tiers}
        )
    return PriceTable.model_validate(data)
