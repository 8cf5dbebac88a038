"""Static row costs, TwinRouterBench's static rule: tokens of each row's messages, a 3-step prompt cache, the prices.

Its `main/eval/section11.py` and `main/tokenizer.py`: prompt tokens are each message's
billable text (`simulator.text.billable_text`) counted with the tier's tokenizer, 4 per
message and 2 per request; output tokens are the assistant messages the next row adds,
counted with the gold tier's tokenizer. Every tier counts with `cl100k_base` unless a
Hugging Face `tokenizers` file is given for it.
"""

import functools
import itertools
from collections.abc import Mapping
from pathlib import Path

from simulator import keys
from simulator.bank import gold_tier_id
from simulator.config import TIER_IDS, Pool
from simulator.text import billable_text, fingerprint

STATIC_TTL_STEPS = 3  # TwinRouterBench's static cost rule: a tier's cache lives 3 steps
FALLBACK_OUTPUT_TOKENS = 500  # its output estimate when a trajectory gives none
TIER_NAMES = {i: name for name, i in TIER_IDS.items()}


@functools.cache
def _cl100k():
    # cl100k_base, TwinRouterBench's tokenizer fallback. litellm ships the file; point tiktoken at
    # it as litellm does (offline), without importing litellm itself (seconds of start-up).
    import importlib.util
    import os

    (litellm_dir,) = importlib.util.find_spec("litellm").submodule_search_locations
    bundled = os.path.join(litellm_dir, "litellm_core_utils", "tokenizers")
    os.environ["TIKTOKEN_CACHE_DIR"] = os.environ.get("CUSTOM_TIKTOKEN_CACHE_DIR") or bundled  # litellm's own rule
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


class TokenCounter:
    """Tokens per tier as TwinRouterBench counts them: `cl100k_base`, or a Hugging Face `tokenizers` JSON file.

    `files` maps a tier name to its tokenizer file. As in TwinRouterBench, a file's
    tokenizer counts the ids `encode(text)` gives (special tokens included). Unlike it,
    cl100k counts a special-token string such as `<|endoftext|>` as text (it raises).
    """

    def __init__(self, files: Mapping[str, Path | str] | None = None) -> None:
        self.files = {tier: str(path) for tier, path in sorted((files or {}).items())}
        self._encoders = {}
        for tier, path in self.files.items():
            from tokenizers import Tokenizer

            try:
                self._encoders[tier] = Tokenizer.from_file(path)
            except Exception as e:
                raise ValueError(f"tokenizer for tier {tier!r}: {path} is not a tokenizers JSON file ({e})") from None
        self.text = functools.lru_cache(maxsize=65536)(self._count)

    def _count(self, text: str, tier: str) -> int:
        encoder = self._encoders.get(tier)
        if encoder is None:
            return len(_cl100k().encode(text, disallowed_special=()))
        return len(encoder.encode(text).ids)

    def messages(self, messages: list[dict], tier: str) -> int:
        """Prompt tokens of a message list: text tokens + 4 per message + 2."""
        return sum(self.text(billable_text(m), tier) + 4 for m in messages) + 2


def output_tokens(steps: list[dict], counter: TokenCounter) -> list[int]:
    """Per step, the assistant messages the next row adds (gold tier's tokenizer, + 4 each); the last step gets
    the mean of the positive ones (or 500)."""
    out = [
        sum(
            counter.text(billable_text(m), TIER_NAMES[gold_tier_id(a)]) + 4
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
    same tier at most 3 steps earlier and its messages are a prefix of this row's
    (message by message, `simulator.text.fingerprint`): then the previous row's
    prompt tokens are cache reads. The path's per-model state also gives routers a
    `cache_state`: the clock advances TTL/3 per step, so the 3-step static TTL reads
    as the pool's wall-clock TTL.
    """

    def __init__(self, pool: Pool, counter: TokenCounter) -> None:
        self.pool, self.counter = pool, counter
        self.previous: tuple[str | None, int, list[dict], list[str]] | None = (
            None  # (tier, step_index, messages, their fingerprints)
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
        messages = row["messages"]
        fingerprints = [fingerprint(m) for m in messages]
        usd = None
        if tier is not None:
            tier_of_prev, step_of_prev, prev, prev_fingerprints = self.previous or (None, 0, [], [])
            warm = (
                tier_of_prev == tier
                and row["step_index"] - step_of_prev <= STATIC_TTL_STEPS
                and fingerprints[: len(prev_fingerprints)] == prev_fingerprints
            )
            prompt = self.counter.messages(messages, tier)
            read = self.counter.messages(prev, tier) if warm else 0
            usd = self.pool.tier(tier).pricing.usd(cache_read=read, cache_write=max(prompt - read, 0), output=output)
            self.spend_usd += usd
            self.models[tier] = {
                "last_call_ts": self.now,
                "prefix_token_count": prompt,
                "prefix_hash": keys.PrefixChain().extend_to(messages),
            }
        self.previous = (tier, row["step_index"], messages, fingerprints)
        self.position += 1
        return usd
