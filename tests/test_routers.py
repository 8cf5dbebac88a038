"""Router loading and decisions (unit level; end-to-end behaviour is in test_end_to_end)."""

import pytest

from simulator.costs import PromptCacheSimulator
from simulator.routers import RouterDecision, RouterError, RunConfig, decide, make_context, router_factory
from simulator.schemas import load_pool

POOL = load_pool("twinrouterbench")


def ctx(step=0, instance="i1"):
    return make_context(
        instance_id=instance, step_index=step, messages=[{"role": "user", "content": "x"}], tools=(), pool=POOL,
        cache_state=PromptCacheSimulator(POOL).snapshot(0.0), budget_so_far_usd=0.0,
        run_config=RunConfig(max_steps=10, budget_usd=3.0, wallclock_ttl_sec=300, select_timeout_sec=0.0),
    )


def test_context_carries_twinrouterbench_fields():
    c = ctx()
    assert c.available_models == ("deepseek/deepseek-v3.2", "minimax/minimax-m2.7", "google/gemini-3-flash-preview", "anthropic/claude-opus-4.6")
    assert c.cache_state.get("anthropic/claude-opus-4.6").prefix_token_count == 0
    assert c.run_config.budget_usd == 3.0


def test_always_accepts_names_and_refuses_unknown_tiers():
    router = router_factory("always:mid_high", POOL)()
    assert decide(router, "always:mid_high", ctx(), POOL) == ("mid_high", "always")
    with pytest.raises(KeyError, match="unknown tier 'top'"):
        router_factory("always:top", POOL)


def test_random_is_reproducible_per_seed_and_instance():
    def picks(seed, instance):
        router = router_factory(f"random:seed={seed}", POOL)()
        return [decide(router, "r", ctx(i, instance), POOL)[0] for i in range(20)]

    assert picks(1, "a") == picks(1, "a")
    assert picks(1, "a") != picks(2, "a")
    assert picks(1, "a") != picks(1, "b")
    assert set(picks(1, "a")) == set(POOL.names)


def test_model_ids_and_plain_functions_work(tmp_path):
    module = tmp_path / "my_router.py"
    module.write_text(
        "def pick(ctx):\n"
        "    return 'anthropic/claude-opus-4.6' if ctx.step_index == 0 else 'low'\n"
        "class Counting:\n"
        "    def __init__(self):\n"
        "        self.n = 0\n"
        "    def select(self, ctx):\n"
        "        self.n += 1\n"
        "        return 'high' if self.n > 1 else 'low'\n"
    )
    fn = router_factory(f"{module}:pick", POOL)()
    assert decide(fn, "f", ctx(0), POOL)[0] == "high"
    assert decide(fn, "f", ctx(1), POOL)[0] == "low"
    factory = router_factory(f"{module}:Counting", POOL)
    first, fresh = factory(), factory()
    assert [decide(first, "c", ctx(i), POOL)[0] for i in range(2)] == ["low", "high"]
    assert decide(fresh, "c", ctx(0), POOL)[0] == "low"  # a fresh router per trajectory


def test_a_failing_router_names_router_step_and_instance():
    class Raises:
        def select(self, ctx):
            raise ZeroDivisionError("boom")

    class Unknown:
        def select(self, ctx):
            return RouterDecision("gpt-9")

    with pytest.raises(RouterError, match=r"router 'x' at step 3 of inst raised ZeroDivisionError: boom"):
        decide(Raises(), "x", ctx(3, "inst"), POOL)
    with pytest.raises(RouterError, match=r"router 'u' at step 0 of i1: unknown tier 'gpt-9'"):
        decide(Unknown(), "u", ctx(), POOL)
    with pytest.raises(RouterError, match="expected a RouterDecision"):
        decide(type("N", (), {"select": lambda self, c: 3})(), "n", ctx(), POOL)


def test_bad_specs_are_clear():
    with pytest.raises(ValueError, match="unknown router 'nonsense'"):
        router_factory("nonsense", POOL)
    with pytest.raises(ValueError, match="no file"):
        router_factory("missing.py:x", POOL)
    with pytest.raises(ValueError, match="cannot import"):
        router_factory("no_such_module_xyz:r", POOL)
