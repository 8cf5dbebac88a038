"""Routers: TwinRouterBench's protocol (re-exported here for router authors), built-ins, HTTP, kNN, loading by spec."""

from simulator.routers.protocol import (
    CacheStateSnapshot,
    ModelCacheView,
    Router,
    RouterContext,
    RouterDecision,
    RouterError,
    RunConfig,
)

__all__ = [
    "CacheStateSnapshot",
    "ModelCacheView",
    "Router",
    "RouterContext",
    "RouterDecision",
    "RouterError",
    "RunConfig",
]
