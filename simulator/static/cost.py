"""Static row costs, TwinRouterBench's static rule: tokens of each row's messages, a 3-step prompt cache, the prices.

Prompt tokens are the row's messages counted with `cl100k_base` (TwinRouterBench's
tokenizer fallback; litellm ships it, so this runs offline), 4 per message and 2 per
request; output tokens are the assistant messages the next row adds.
"""

import functools
import itertools

from simulator import keys
from simulator.bank import semantic
from simulator.config import Pool
from simulator.text import billable_text

STATIC_TTL_STEPS = 3  # TwinRouterBench's static cost rule: a tier's cache lives 3 steps
FALLBACK_OUTPUT_TOKENS = 500  # its output estimate when a trajectory gives none


@functools.cache
def _encoding():
    # cl100k_base, TwinRouterBench's tokenizer fallback; litellm ships the file, so this works offline.
    from litellm.litellm_core_utils.default_encoding import encoding

    return encoding


@functools.lru_cache(maxsize=65536)
def _text_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def message_tokens(messages: list[dict]) -> int:
    """Prompt tokens of a message list: text tokens + 4 per message + 2 (TwinRouterBench's count)."""
    return sum(_text_tokens(billable_text(m)) + 4 for m in messages) + 2


def output_tokens(steps: list[dict]) -> list[int]:
    """Per step, the assistant messages the next row adds; the last step gets the mean of the positive ones (or 500)."""
    out = [
        sum(
            _text_tokens(billable_text(m)) + 4
            for m in b["messages"][len(a["messages"]) :]
            if m.get("role") == "assistant"
        )
        for a, b in itertools.pairwise(steps)
    ]
    positive = [t for t in out if t > 0]
    return out + [int(sum(positive) / len(positive)) if positive else FALLBACK_OUTPUT_TOKENS]


class StaticPath:
    """One routing path over a static trajectory, priced by TwinRouterBench's static rule.

    Every prompt token is a cache write, except when the previous row went to the
    same tier at most 3 steps earlier and its messages are a prefix of this
    row's: then those are cache reads. The path's per-model state also gives
    routers a `cache_state`: the clock advances TTL/3 per step, so the 3-step
    static TTL reads as the pool's wall-clock TTL.
    """

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.previous: tuple[str | None, int, list[dict], int] | None = (
            None  # (tier, step_index, semantic messages, prompt tokens)
        )
        self.models: dict[str, dict] = {}
        self.position = 0
        self.spend_usd = 0.0

    @property
    def now(self) -> float:
        return self.position * self.pool.cache_ttl_sec / STATIC_TTL_STEPS

    def cache_state(self) -> dict:
        empty = {"last_call_ts": None, "prefix_token_count": 0, "prefix_hash": None}
        by_model = {t.model_id: {"model_id": t.model_id} | self.models.get(t.name, empty) for t in self.pool.tiers}
        return {"wallclock_ttl_sec": self.pool.cache_ttl_sec, "now_ts": self.now, "by_model": by_model}

    def charge(self, row: dict, tier: str | None, output: int) -> float | None:
        """Cost of `row` at `tier` (None: the router failed on this row, which costs nothing and breaks the cache)."""
        messages = semantic(row["messages"])
        prompt = message_tokens(row["messages"])
        usd = None
        if tier is not None:
            tier_of_prev, step_of_prev, prev, prev_tokens = self.previous or (None, 0, [], 0)
            warm = (
                tier_of_prev == tier
                and row["step_index"] - step_of_prev <= STATIC_TTL_STEPS
                and messages[: len(prev)] == prev
            )
            read = prev_tokens if warm else 0
            usd = self.pool.tier(tier).pricing.usd(cache_read=read, cache_write=max(prompt - read, 0), output=output)
            self.spend_usd += usd
            self.models[tier] = {
                "last_call_ts": self.now,
                "prefix_token_count": prompt,
                "prefix_hash": keys.PrefixChain().extend_to(row["messages"]),
            }
        self.previous = (tier, row["step_index"], messages, prompt)
        self.position += 1
        return usd
