"""The gold-tier router: the target tier a static bank labelled for each (instance, step), the per-step oracle."""

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from simulator.bank import gold_tier_id, load_bank, serving_tier
from simulator.config import Pool
from simulator.routers.builtin import spec_params
from simulator.routers.protocol import RouterContext, RouterDecision


@functools.lru_cache(maxsize=8)
def _gold_of(path: str, mtime_ns: int) -> dict[tuple[str, int], int]:
    """(instance id, 0-based step) -> gold tier id; a bank that labels one step twice differently is refused."""
    gold: dict[tuple[str, int], int] = {}
    for row in load_bank(path):
        step = (row["instance_id"], row["step_index"] - 1)
        tier = gold_tier_id(row)
        if gold.setdefault(step, tier) != tier:
            raise ValueError(f"{path}: step {step[1] + 1} of {step[0]} has two gold tiers")
    return gold


@dataclass
class GoldRouter:
    """The bank's gold tier at each step: TwinRouterBench's gold-tier router, `label`'s per-step oracle.

    bank=PATH       a static bank (`twinsim label --out`, `twinsim static export`)
    else=<tier>     where the bank has no row for the instance and step (default: the top tier)

    Replayed on the recording it was labelled from, it follows the labelled
    trajectories; the gold tier is served by the cheapest pool tier at least as strong.
    """

    syntax: ClassVar[str] = "gold:bank=PATH[,else=<tier>]"
    gold: Mapping[tuple[str, int], int]
    fallback: str
    pool: Pool

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "GoldRouter":
        params = spec_params("gold", text, ("bank", "else"))
        if "bank" not in params:
            raise ValueError("gold needs bank=PATH (a static bank, e.g. from `twinsim label --out`)")
        path = Path(params["bank"])
        if not path.is_file():
            raise ValueError(f"gold: no bank file {path}")
        fallback = pool.tier(params["else"]) if "else" in params else pool.tiers[-1]
        return cls(_gold_of(str(path.resolve()), path.stat().st_mtime_ns), fallback.model_id, pool)

    def select(self, ctx: RouterContext) -> RouterDecision:
        tier_id = self.gold.get((ctx.instance_id, ctx.step_index))
        if tier_id is None:
            return RouterDecision(self.fallback, "gold: no bank row")
        return RouterDecision(serving_tier(self.pool, tier_id).model_id, f"gold tier {tier_id}")
