"""Records: the stored object kinds (each keyed by its own key material), run results and the recording manifest."""

import math
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from simulator import keys
from simulator.config import AgentConfig, Pool


def fixed(x: float) -> float | None:
    """Fixed precision for reported numbers (no float-formatting noise between machines); NaN is not JSON: None."""
    return None if math.isnan(x) else round(x, 10)


class Usage(BaseModel):
    """What the provider reported for one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    """Prompt tokens written to the provider's cache, where it reports them (Anthropic, OpenRouter)."""
    reasoning_tokens: int = 0
    """As reported; most providers count them inside completion_tokens, some do not."""
    cost_usd: float | None = None
    """The provider's own price of the call (OpenRouter's `usage.cost`), where it reports one."""


def usage_of(raw: dict) -> Usage:
    """What a provider reported for a call (OpenAI, OpenRouter, litellm shapes; Anthropic cache fields by litellm)."""
    prompt, completion = raw.get("prompt_tokens_details") or {}, raw.get("completion_tokens_details") or {}
    cost = raw.get("cost")
    return Usage(
        prompt_tokens=raw.get("prompt_tokens") or 0,
        completion_tokens=raw.get("completion_tokens") or 0,
        cached_tokens=prompt.get("cached_tokens") or raw.get("cache_read_input_tokens") or 0,
        cache_write_tokens=prompt.get("cache_write_tokens") or raw.get("cache_creation_input_tokens") or 0,
        reasoning_tokens=completion.get("reasoning_tokens") or 0,
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
    )


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


def verify(kind: str, key: str, value: dict) -> None:
    """Raise ValueError unless `value` is a valid `kind` record stored under its own key."""
    if kind not in RECORD_TYPES:
        raise ValueError(f"unknown kind {kind!r}")
    record = RECORD_TYPES[kind].model_validate(value)
    if record.key() != key:
        raise ValueError(f"{kind} {key[:12]}… does not match its key material (recomputed {record.key()[:12]}…)")


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
    cache_lookup: str | None = None
    """TwinRouterBench's cache lookup reason: `prefix_match` (warm), `cold_start_first_call`, `ttl_expired` or
    `prefix_mismatch` (None in runs recorded before it was kept)."""
    started_at: float | None = None
    """Virtual time (s) the model call started: the trajectory's clock before the call's recorded latency."""
    finished_at: float | None = None
    """Virtual time (s) it ended."""
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
