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
    """A call of `depth` messages starting at `now`."""
    return sim.call(
        tier, chain(depth), depth=depth, node=f"n{depth}", prompt_tokens=prompt, output_tokens=output, started_at=now
    )[0]


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
    assert sim.lookup("low", chain(2), 1) == "prefix_mismatch"  # a shorter/different prefix


def test_lookup_reasons_are_twinrouterbench_s():
    sim = PromptCacheSimulator(POOL)
    assert sim.call("low", chain(2), depth=2, node="n2", prompt_tokens=10, output_tokens=0, started_at=0)[1] == (
        "cold_start_first_call"
    )
    assert sim.lookup("low", chain(4), 300) == "prefix_match"  # 300 s after the start: inclusive
    assert sim.lookup("low", chain(4), 300.001) == "ttl_expired"
    assert sim.lookup("low", chain(1), 10) == "prefix_mismatch"
    assert sim.lookup("high", chain(4), 10) == "cold_start_first_call"  # per tier


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


# --- the cache clock, through the replayed model itself ----------------------------------------


def routed_calls(gap_ms: int):
    """Two `low` calls through RoutedModel, each answered in 10 s, with an action of `gap_ms` between them.

    Returns the steps and the cache_state the router saw at each step.
    """
    import litellm

    from simulator import keys
    from simulator.config import load_agent_config
    from simulator.replay.context import LiveBudget, MissPolicy, ReplayContext
    from simulator.replay.model import RoutedModel, response_record
    from simulator.routers.protocol import RouterDecision, RunConfig
    from simulator.store import MemoryStore

    seen = []

    class Low:
        def select(self, ctx):
            seen.append(ctx.cache_state)
            return RouterDecision("low")

    store, tier = MemoryStore(), POOL.tier("low")
    first = [{"role": "system", "content": "sys"}, {"role": "user", "content": "fix it"}]
    reply = {"role": "assistant", "content": "THOUGHT: look.\n\n```bash\nls\n```"}
    second = [*first, reply, {"role": "user", "content": "a.py"}]
    chain = keys.PrefixChain()
    for messages, prompt in ((first, 1000), (second, 1200)):
        head = chain.extend_to(messages)
        response = litellm.ModelResponse(
            choices=[{"message": reply, "finish_reason": "stop"}],
            usage={"prompt_tokens": prompt, "completion_tokens": 10, "total_tokens": prompt + 10},
        )
        store.put(
            "response",
            keys.response_key(head, tier.spec, 0),
            response_record(response, prefix=head, tier=tier, sample=0, latency_ms=10_000),
        )
    ctx = ReplayContext(
        pool=POOL,
        store=store,
        policy=MissPolicy(),
        budget=LiveBudget(),
        instance_id="i",
        run_config=RunConfig(3, 3.0, 300, 0.0),
    )
    model = RoutedModel(ctx, router=Low(), router_label="low", model_config=load_agent_config("textbased").model)
    model.query(first)
    ctx.clock.advance(gap_ms)  # the action between the two calls
    model.query(second)
    return ctx.steps, seen


def test_a_call_305_s_after_the_previous_start_is_cold_though_295_s_after_its_end():
    # TwinRouterBench stamps a cache entry at the start of the call that wrote it: the first
    # call runs 0-10 s, the second starts at 305 s: 295 s after the first ended (warm, were the
    # entry stamped at the end) but 305 s after it started, past the 300 s TTL.
    steps, seen = routed_calls(gap_ms=295_000)
    assert [(s.started_at, s.finished_at) for s in steps] == [(0, 10), (305, 315)]
    assert steps[1].cache_lookup == "ttl_expired"
    assert (steps[1].cache_read_tokens, steps[1].cache_write_tokens) == (0, 1200)
    assert steps[1].cost_usd == pytest.approx((1200 * 2 + 10 * 10) / 1e6)
    # The router sees the entry's start as last_call_ts, and the step's start as now_ts.
    assert (seen[1].now_ts, seen[1].by_model["low"].last_call_ts) == (305, 0)


def test_a_call_300_s_after_the_previous_start_is_warm():
    steps, _ = routed_calls(gap_ms=290_000)
    assert steps[1].started_at == 300 and steps[1].cache_lookup == "prefix_match"
    assert (steps[1].cache_read_tokens, steps[1].cache_write_tokens) == (1000, 200)
