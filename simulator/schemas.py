"""Schemas: tier pools, agent configs, stored records and the recording manifest."""

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from simulator import keys

TIER_IDS = {"low": 0, "mid": 1, "mid_high": 2, "high": 3}  # TwinRouterBench's tier ids


class Pricing(BaseModel):
    """USD per 1M tokens, in TwinRouterBench's four buckets."""

    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0)
    cache_read: float = Field(ge=0)
    cache_write: float = Field(ge=0)
    output: float = Field(ge=0)


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


class AgentConfig(BaseModel):
    """A mini-swe-agent config (its own YAML layout: agent / model / environment sections)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "custom"
    agent: dict[str, Any]
    model: dict[str, Any] = {}
    environment: dict[str, Any] = {}


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


class ResponseRecord(BaseModel):
    """One model answer to one (prefix, tier, sample)."""

    prefix: str
    tier: dict
    sample: int
    message: dict
    """The assistant message as mini-swe-agent's model class dumps it."""
    finish_reason: str | None = None
    usage: Usage
    latency_ms: int
    provider_model: str | None = None
    raw: dict
    """The provider response (litellm ModelResponse dump), secrets removed."""

    def key(self) -> str:
        return keys.response_key(self.prefix, self.tier, self.sample)


class ObservationRecord(BaseModel):
    """The result of one action in one environment state (or the state's template vars)."""

    parent: str
    action: dict
    output: dict = {}
    """What the environment's execute() returned."""
    interrupt: dict | None = None
    """An InterruptAgentFlow the environment raised (e.g. Submitted): its type and messages."""
    duration_ms: int = 0

    def key(self) -> str:
        return keys.observation_key(self.parent, self.action)


class EnvironmentRecord(BaseModel):
    """Root of an observation chain: the environment before any action."""

    env: dict
    instance_id: str
    template_vars: dict
    """Environment template variables the agent's templates use, as recorded."""

    def key(self) -> str:
        return keys.environment_root(self.env, self.instance_id)


class EvaluationRecord(BaseModel):
    evaluator: dict
    instance_id: str
    patch: str
    resolved: bool
    result: dict
    """FAIL_TO_PASS / PASS_TO_PASS results, status, log excerpt."""
    duration_ms: int = 0

    def key(self) -> str:
        return keys.evaluation_key(self.evaluator, self.instance_id, self.patch)


class MessageRecord(BaseModel):
    message: dict

    def key(self) -> str:
        return keys.message_key(self.message)


class PrefixRecord(BaseModel):
    parent: str
    message: str

    def key(self) -> str:
        return keys.prefix_key(self.parent, self.message)


RECORD_TYPES: dict[str, type[BaseModel]] = {
    "message": MessageRecord,
    "prefix": PrefixRecord,
    "response": ResponseRecord,
    "environment": EnvironmentRecord,
    "observation": ObservationRecord,
    "evaluation": EvaluationRecord,
}
KINDS = tuple(RECORD_TYPES)


class Approximation(BaseModel):
    """One substitution made under `--on-miss approximate`: what was asked, what was used instead."""

    kind: Literal["response", "observation", "evaluation"]
    step: int
    asked: str
    """Key that missed."""
    used: str
    """Key of the recorded object served instead."""
    similarity: float
    """0..1: how close the used object's context is to the asked one (1 = same context)."""
    how: str
    """Short rule name, e.g. `nearest-prefix`, `nearest-tier`, `live-env`, `estimated`."""


class StepTrace(BaseModel):
    """What happened at one model step of a replayed trajectory."""

    step: int
    tier: str
    response: str
    """Response key of the answer served (under `approximate`, the recorded one used instead)."""
    source: Literal["hit", "live", "approximate"]
    cost_usd: float
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    rationale: str | None = None
    router_ms: float | None = Field(default=None, exclude=True)
    """Wall time of the router's select call: reported, but never part of the deterministic JSON."""


class RunResult(BaseModel):
    """One (router, instance, sample) trajectory as replayed or recorded."""

    router: str
    instance_id: str
    sample: int = 0
    status: Literal["resolved", "unresolved", "incomplete"]
    exit_status: str
    reason: str = ""
    """Why an incomplete trajectory stopped (the miss, the router error, ...)."""
    steps: list[StepTrace] = []
    spend_usd: float = 0.0
    hits: dict[str, int] = {}
    live: dict[str, int] = {}
    misses: dict[str, int] = {}
    live_usd: float = 0.0
    observations: list[str] = []
    evaluation: str | None = None
    approximations: list[Approximation] = []

    @computed_field
    @property
    def fidelity(self) -> Literal["exact", "approximate", "incomplete"]:
        if self.status == "incomplete":
            return "incomplete"
        return "approximate" if self.approximations else "exact"

    @property
    def exact(self) -> bool:
        return self.fidelity == "exact"


class Manifest(BaseModel):
    schema_version: Literal[1] = 1
    name: str = ""
    created: str = ""
    made_with: dict = {}
    """Command, twinsim / mini-swe-agent / litellm versions, wall time of the live session."""
    pool: Pool
    agent: AgentConfig
    suite: dict
    """Suite name, version and content hash."""
    runs: list[RunResult] = []


def _builtin(kind: str, name: str) -> Path:
    path = resources.files("simulator") / "config" / kind / f"{name}.yaml"
    return Path(str(path))


def builtin_names(kind: str) -> list[str]:
    folder = Path(str(resources.files("simulator") / "config" / kind))
    return sorted(p.stem for p in folder.glob("*.yaml"))


def _load_yaml(kind: str, name_or_path: str) -> dict:
    path = Path(name_or_path)
    if not path.is_file():
        path = _builtin(kind, name_or_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no {kind[:-1]} {name_or_path!r}: not a file, and not a built-in ({', '.join(builtin_names(kind))})"
            )
    return yaml.safe_load(path.read_text())


def load_pool(name_or_path: str) -> Pool:
    return Pool.model_validate(_load_yaml("pools", name_or_path))


def load_agent_config(name_or_path: str) -> AgentConfig:
    data = _load_yaml("agents", name_or_path)
    data.setdefault("name", Path(name_or_path).stem)
    return AgentConfig.model_validate(data)
