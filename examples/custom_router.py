"""A custom router to copy: TwinRouterBench's protocol, `select(ctx) -> RouterDecision`.

    twinsim replay recordings/quickstart -r examples/custom_router.py:WarmUnderBudget

twinsim makes a fresh instance per trajectory, so `self` may remember things
within one trajectory. `ctx.available_models` is ordered cheapest first.
"""

from simulator.routers import RouterContext, RouterDecision


class WarmUnderBudget:
    """The strongest tier to read the task, then whichever tier's prompt cache is warm, and the
    cheapest tier once a share of the budget is spent."""

    budget_share = 0.5  # of run_config.budget_usd (the agent's cost limit)

    def select(self, ctx: RouterContext) -> RouterDecision:
        cheapest, strongest = ctx.available_models[0], ctx.available_models[-1]
        config = ctx.run_config
        if config.budget_usd and ctx.budget_so_far_usd >= self.budget_share * config.budget_usd:
            return RouterDecision(cheapest, f"spent ${ctx.budget_so_far_usd:.4f} of ${config.budget_usd}")
        if ctx.step_index == 0:
            return RouterDecision(strongest, "read the task with the strongest model")
        # A warm model reads its cached prefix at the cache-read price (a tenth of input for most providers).
        # is_warm: called within cache.wallclock_ttl_sec of cache.now_ts (see cache.by_model for the raw views).
        cache = ctx.cache_state
        warm = [m for m in ctx.available_models if cache.is_warm(m)]
        if warm:
            model = max(warm, key=lambda m: cache.get(m).last_call_ts)
            return RouterDecision(model, f"{model} is warm ({cache.get(model).prefix_token_count} tokens cached)")
        return RouterDecision(cheapest, "nothing warm")
