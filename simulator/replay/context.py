"""One trajectory's shared state (`ReplayContext`), and what a miss does (`MissPolicy`, `Tally`, `Incomplete`)."""

import multiprocessing
from collections import Counter
from dataclasses import dataclass, field

from minisweagent.exceptions import InterruptAgentFlow

from simulator.config import Pool
from simulator.records import Approximation, StepTrace
from simulator.routers.protocol import RunConfig
from simulator.store import Store

POLICIES = ("error", "live", "approximate")
OBJECT_KINDS = ("response", "observation", "evaluation")


@dataclass(frozen=True)
class MissPolicy:
    """Per object kind: `error` ends the trajectory incomplete, `live` computes and stores the object,
    `approximate` serves the nearest recorded object (or computes it locally, unstored) and marks the
    trajectory approximate."""

    response: str = "error"
    observation: str = "error"
    evaluation: str = "error"

    @classmethod
    def parse(cls, text: str) -> "MissPolicy":
        """`live`, or per kind: `response=approximate,observation=live` (kinds not named stay `error`)."""
        if "=" not in text:
            return cls(*(3 * [_check(text)]))
        parts = dict(p.split("=", 1) for p in text.split(",") if p)
        unknown = set(parts) - set(OBJECT_KINDS)
        if unknown:
            raise ValueError(f"unknown object kind(s) {sorted(unknown)} in miss policy; use {', '.join(OBJECT_KINDS)}")
        return cls(**{k: _check(v) for k, v in parts.items()})

    @property
    def goes_live(self) -> bool:
        """May anything be computed live (a recording session)?"""
        return "live" in (self.response, self.observation, self.evaluation)

    def __str__(self) -> str:
        values = {self.response, self.observation, self.evaluation}
        return (
            values.pop()
            if len(values) == 1
            else f"response={self.response},observation={self.observation},evaluation={self.evaluation}"
        )


def _check(policy: str) -> str:
    if policy not in POLICIES:
        raise ValueError(f"unknown miss policy {policy!r}; use one of {', '.join(POLICIES)}")
    return policy


class Incomplete(InterruptAgentFlow):
    """Ends the agent's run: the trajectory cannot continue exactly (a miss under `error`,
    a router failure, an API error, the live spend cap). DefaultAgent records the exit message."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(
            {
                "role": "exit",
                "content": reason,
                "extra": {"exit_status": "Incomplete", "submission": "", "reason": reason},
            }
        )


class LiveBudget:
    """Live spend so far against `--max-live-usd`, shared by all worker processes."""

    def __init__(self, cap_usd: float | None = None) -> None:
        self.cap_usd = cap_usd
        self.spent = multiprocessing.Value("d", 0.0)

    def check(self, what: str) -> None:
        if self.cap_usd is not None and self.spent.value >= self.cap_usd:
            raise Incomplete(f"live spend cap reached (${self.spent.value:.4f} of ${self.cap_usd:.4f}) before {what}")

    def add(self, usd: float) -> None:
        with self.spent.get_lock():
            self.spent.value += usd


@dataclass
class VirtualClock:
    """Trajectory time: recorded model latencies plus recorded action durations.

    It feeds `now_ts` to routers, the prompt-cache TTL, and mini-swe-agent's
    `elapsed_seconds` template variable (through the agent's extra template vars),
    so nothing in a prompt depends on the replaying machine's speed.
    """

    now: float = 0.0
    template_vars: dict | None = None

    def advance(self, ms: int) -> None:
        self.now += ms / 1000
        if self.template_vars is not None:
            self.template_vars["elapsed_seconds"] = int(self.now)


@dataclass
class Miss:
    """The first miss of a trajectory and what was asked (for explain-miss)."""

    kind: str
    reason: str
    asked: dict


@dataclass
class Tally:
    hits: Counter = field(default_factory=Counter)
    live: Counter = field(default_factory=Counter)
    misses: Counter = field(default_factory=Counter)
    live_usd: float = 0.0
    approximations: list[Approximation] = field(default_factory=list)
    first_miss: Miss | None = None

    def miss(self, kind: str, policy: str, reason: str, asked: dict | None = None) -> None:
        """Count a miss of `kind`; under `error`, end the trajectory incomplete. `asked` says what
        was asked, by reference (kept for the first miss only)."""
        self.misses[kind] += 1
        if self.first_miss is None:
            self.first_miss = Miss(kind, reason, asked or {})
        if policy == "error":
            raise Incomplete(reason)

    def approximate(self, kind: str, step: int, asked: str, used: str, similarity: float, how: str) -> None:
        self.approximations.append(
            Approximation(kind=kind, step=step, asked=asked, used=used, similarity=round(similarity, 4), how=how)
        )


@dataclass
class ReplayContext:
    """What the routed model, the cached environment and the evaluation of one trajectory share.

    Built once per trajectory and passed whole: the model appends its steps, the
    environment reads which step its action belongs to, and all three count hits,
    misses and live work in the same tally on the same virtual clock.
    """

    pool: Pool
    store: Store
    policy: MissPolicy
    budget: LiveBudget
    instance_id: str
    run_config: RunConfig
    sample: int = 0
    fanout: bool = False
    cost_model: str = "simulated"
    clock: VirtualClock = field(default_factory=VirtualClock)
    tally: Tally = field(default_factory=Tally)
    steps: list[StepTrace] = field(default_factory=list)
    spend_usd: float = 0.0

    @property
    def step(self) -> int:
        """The model step being worked on: the last one served (its action runs, its patch is graded)."""
        return len(self.steps) - 1
