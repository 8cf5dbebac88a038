"""Checking an import against the runs it came from, and twinsim's cache model against the provider.

After writing, every imported run is replayed strictly as `always:<tier>` through the agent loop, and
the replay is compared with the trajectory file: the messages (role and content, in order), the
number of calls, the exit status, the submitted patch, the grade. Its spend is checked both ways:

- `recorded`: the provider-reported usage of every call at the tier's prices, against the run's own
  `instance_cost` and each call's `usage.cost`; a run that cannot match says why (no per-call cost,
  reasoning tokens billed outside completion tokens, a cost the run never recorded);
- `simulated`: twinsim's prompt-cache simulator on the same calls, against the recorded spend: how
  well the cache model describes this provider, before and after fitting a `CacheRule` to the data.
"""

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from simulator.config import CacheRule
from simulator.imports.trajectory import Run
from simulator.records import RunResult, fixed
from simulator.replay.engine import run_replays, slug
from simulator.replay.setup import Setup

TOLERANCE_USD = 1e-6


@dataclass
class RunCheck:
    """One imported run, replayed."""

    instance_id: str
    tier: str
    exact: bool
    """The replay reproduced the run: messages, calls, exit status, patch."""
    mismatch: str
    resolved: bool | None
    instance_cost: float
    recorded_usd: float
    simulated_usd: float
    fitted_usd: float | None
    reproducible: bool
    """The recorded cost model gives the run's own instance_cost (to 1e-6)."""
    reason: str

    def json(self) -> dict:
        return {k: fixed(v) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def check(
    setup: Setup, tier: str, runs: list[Run], reports: dict[str, dict | None], cache: str
) -> tuple[list[RunCheck], CacheRule | None, list[RunResult]]:
    """Replay every run (recorded and simulated cost, and with a fitted cache rule if asked) and compare.
    `cache`: `default` (the pool's rule), `fit` (fit one to these runs), or `block=..,min=..,hit=..`.
    Returns the checks, the rule (None: the pool's), and the replays under it (the recording's runs)."""
    instances = [r.instance_id for r in runs]
    router = f"always:{tier}"
    with tempfile.TemporaryDirectory(prefix="twinsim-check-") as folder:
        recorded = run_replays(
            replace(setup, cost_model="recorded", trajectories=Path(folder)), [router], instances, show_progress=False
        )
        replayed = {
            r.instance_id: _messages(Path(folder) / slug(router) / f"{r.instance_id}.traj.json") for r in recorded
        }
    simulated = run_replays(setup, [router], instances, show_progress=False)
    rule = fit_cache_rule(runs) if cache == "fit" else parse_cache_rule(cache) if cache != "default" else None
    fitted = None
    if rule is not None:
        pool = setup.pool.model_copy(deep=True)
        pool.tier(tier).cache = rule
        fitted = run_replays(replace(setup, pool=pool), [router], instances, show_progress=False)
    checks = []
    for i, run in enumerate(runs):
        mismatch = compare(run, recorded[i], *replayed[run.instance_id])
        reproducible, reason = cost_check(run, recorded[i])
        report = reports.get(run.instance_id)
        checks.append(RunCheck(
            instance_id=run.instance_id, tier=tier, exact=not mismatch, mismatch=mismatch,
            resolved=report["resolved"] if report else None, instance_cost=run.instance_cost,
            recorded_usd=recorded[i].spend_usd, simulated_usd=simulated[i].spend_usd,
            fitted_usd=fitted[i].spend_usd if fitted else None, reproducible=reproducible, reason=reason,
        ))  # fmt: skip
    return checks, rule, fitted or simulated


def _messages(path: Path) -> tuple[list[dict], dict]:
    data = json.loads(path.read_text()) if path.is_file() else {"messages": [], "info": {}}
    return data["messages"], data["info"]


def compare(run: Run, result: RunResult, messages: list[dict], info: dict) -> str:
    """Where the replay differs from the run ('' when it does not)."""
    if result.status == "incomplete":
        return f"the replay stopped: {result.reason}"
    wanted = [(m.get("role"), m.get("content")) for m in run.messages]
    got = [("user" if run.v1 and m["role"] == "exit" else m["role"], m.get("content")) for m in messages]
    if got != wanted:
        at = next((i for i, (g, w) in enumerate(zip(got, wanted)) if g != w), min(len(got), len(wanted)))
        return f"message {at} differs ({len(got)} messages replayed, {len(wanted)} recorded)"
    if len(result.steps) != run.api_calls:
        return f"{len(result.steps)} calls replayed, {run.api_calls} recorded"
    if result.exit_status != run.exit_status:
        return f"exit status {result.exit_status}, recorded {run.exit_status}"
    if info.get("submission", "") != run.submission:
        return "the submitted patch differs"
    return ""


def cost_check(run: Run, result: RunResult) -> tuple[bool, str]:
    """Does the recorded cost model give the run's instance_cost? If not, why."""
    if result.status == "incomplete":
        return False, "the replay is incomplete"
    usages = [t.raw.get("usage") or {} for t in run.turns]
    if abs(result.spend_usd - run.instance_cost) <= TOLERANCE_USD:
        return True, ""
    if run.instance_cost == 0:
        return False, "the run recorded no cost (instance_cost 0)"
    if any("cost" not in u for u in usages):
        why = "no per-call cost (usage.cost) to check the prices against"
        reasoning = [
            ((u.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0, u.get("completion_tokens") or 0)
            for u in usages
        ]
        if any(r > c for r, c in reasoning):  # more reasoning than completion: counted beside it
            why += "; reasoning tokens reported outside completion tokens"
        return False, why
    return (
        False,
        f"usage at these prices gives {result.spend_usd:.6f} USD, the run recorded {run.instance_cost:.6f} (other "
        "prices?)",
    )


def parse_cache_rule(text: str) -> CacheRule:
    """`block=2048,min=2048,hit=0.89`."""
    names = {"block": "block_tokens", "min": "min_tokens", "hit": "hit_rate"}
    try:
        values = dict(part.split("=", 1) for part in text.split(",") if part)
        return CacheRule(**{names[k]: float(v) if k == "hit" else int(v) for k, v in values.items()})
    except (KeyError, ValueError) as e:
        raise ValueError(f"cache rule {text!r}: use default, fit, or block=N,min=N,hit=F ({e})") from None


def fit_cache_rule(runs: list[Run]) -> CacheRule:
    """The cache rule these runs' reported cached tokens support: the block the cached counts come in,
    the shortest prompt ever cached, the share of warm calls that hit."""
    pairs = []  # (previous prompt tokens, cached tokens) of every call after the first of its run
    for run in runs:
        usages = [t.raw.get("usage") or {} for t in run.turns]
        for previous, usage in zip(usages, usages[1:]):
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
            pairs.append((previous.get("prompt_tokens") or 0, cached))
    hits = [c for _, c in pairs if c > 0]
    if not hits:
        return CacheRule(hit_rate=0.0)
    block = max((b for b in (2**k for k in range(0, 14)) if _fits(hits, b)), default=1)
    minimum = min(p for p, c in pairs if c > 0) // block * block
    eligible = [c for p, c in pairs if p >= minimum]
    return CacheRule(
        min_tokens=minimum, block_tokens=block, hit_rate=round(sum(c > 0 for c in eligible) / len(eligible), 3)
    )


def _fits(cached: list[int], block: int) -> bool:
    """Do 90% of the cached counts sit just below a multiple of `block` (within a quarter block)?"""
    return sum((-c) % block <= block // 4 for c in cached) >= 0.9 * len(cached)
