"""The cost model against hand-computed cases."""

import pytest

from simulator.config import Pool
from simulator.replay.promptcache import PromptCacheSimulator

POOL = Pool.model_validate(
    {
        "name": "t",
        "cache_ttl_sec": 300,
        "tiers": [
            {
                "name": "low",
                "model": "m/low",
                "pricing": {"input": 1, "cache_read": 0.1, "cache_write": 2, "output": 10},
            },
            {
                "name": "high",
                "model": "m/high",
                "pricing": {"input": 10, "cache_read": 1, "cache_write": 20, "output": 100},
            },
        ],
    }
)


def chain(depth):  # a fake prefix chain of `depth` messages: node i is "n<i>"
    return lambda d, node: 0 < d <= depth and node == f"n{d}"


def call(sim, tier, depth, prompt, output, now):
    warm = sim.is_warm(tier, chain(depth), now)
    cost = sim.charge(tier, warm=warm, prompt_tokens=prompt, output_tokens=output)
    sim.update(tier, depth=depth, node=f"n{depth}", prompt_tokens=prompt, ts=now)
    return cost


def test_cold_then_warm_same_tier():
    sim = PromptCacheSimulator(POOL)
    first = call(sim, "low", 2, 1000, 100, now=0)
    assert (first.cache_write_tokens, first.cache_read_tokens, first.input_tokens) == (1000, 0, 0)
    assert first.usd == pytest.approx((1000 * 2 + 100 * 10) / 1e6)
    second = call(sim, "low", 4, 1500, 50, now=10)
    assert (second.cache_read_tokens, second.cache_write_tokens) == (1000, 500)
    assert second.usd == pytest.approx((1000 * 0.1 + 500 * 2 + 50 * 10) / 1e6)


def test_switching_tiers_loses_the_warm_cache():
    sim = PromptCacheSimulator(POOL)
    call(sim, "low", 2, 1000, 100, now=0)
    switched = call(sim, "high", 4, 1500, 50, now=10)
    assert (switched.cache_read_tokens, switched.cache_write_tokens) == (0, 1500)
    assert switched.usd == pytest.approx((1500 * 20 + 50 * 100) / 1e6)
    back = call(sim, "low", 6, 2000, 10, now=20)  # low's cache is still warm for its own old prefix
    assert back.cache_read_tokens == 1000


def test_ttl_expiry_makes_the_call_cold():
    sim = PromptCacheSimulator(POOL)
    call(sim, "low", 2, 1000, 0, now=0)
    assert call(sim, "low", 4, 1200, 0, now=300).cache_read_tokens == 1000  # exactly at TTL: still warm
    late = call(sim, "low", 6, 1400, 0, now=601)
    assert (late.cache_read_tokens, late.cache_write_tokens) == (0, 1400)


def test_a_request_that_is_not_an_extension_is_cold():
    sim = PromptCacheSimulator(POOL)
    call(sim, "low", 3, 1000, 0, now=0)
    assert sim.is_warm("low", chain(2), 1) is False  # a shorter/different prefix


def test_without_prompt_caching_everything_is_plain_input():
    pool = POOL.model_copy(update={"cache_ttl_sec": 0})
    sim = PromptCacheSimulator(pool)
    call(sim, "low", 2, 1000, 0, now=0)
    second = call(sim, "low", 4, 1500, 0, now=1)
    assert (second.input_tokens, second.cache_read_tokens, second.cache_write_tokens) == (1500, 0, 0)
    assert second.usd == pytest.approx(1500 * 1 / 1e6)


def test_snapshot_is_twinrouterbench_cache_state():
    sim = PromptCacheSimulator(POOL)
    call(sim, "high", 2, 700, 0, now=5)
    snap = sim.snapshot(now=9)
    assert snap["wallclock_ttl_sec"] == 300 and snap["now_ts"] == 9
    assert snap["by_model"]["high"] == {
        "model_id": "high",
        "last_call_ts": 5,
        "prefix_token_count": 700,
        "prefix_hash": "n2",
    }
    assert snap["by_model"]["low"]["last_call_ts"] is None
