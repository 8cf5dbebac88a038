"""RoutedModel: mini-swe-agent's Model protocol, answered from the cache under a router.

At each query the router picks a tier; the answer is the recorded response of
(prefix, tier, sample), or on a miss whatever the miss policy says. The message
handed back is built exactly as mini-swe-agent's own model class builds it
(its parser, its message dump); `extra.cost` is the simulated cost.
"""

import copy
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import litellm
from minisweagent.exceptions import FormatError
from minisweagent.models import get_model_class
from minisweagent.models.utils.actions_toolcall import BASH_TOOL
from minisweagent.models.utils.retry import retry

from simulator import keys
from simulator.config import Pool, Tier
from simulator.records import ResponseRecord, StepTrace, usage_of
from simulator.replay.context import Incomplete, ReplayContext
from simulator.replay.nearest import recorded
from simulator.replay.promptcache import PromptCacheSimulator, recorded_cost
from simulator.routers.protocol import Router, RouterError, decide, make_context
from simulator.routers.readonly import FrozenList, follow
from simulator.store import lease

logger = logging.getLogger("twinsim")
litellm.suppress_debug_info = True  # litellm prints help banners to stdout on errors; stdout may carry --json -
SECRET_MARKERS = ("authorization", "api_key", "api-key", "apikey", "headers", "secret")
# (parser config, tier, response key, what the parser reads) -> (actions, None) or (None, the format error's messages)
_PARSED: dict[tuple, tuple[list[dict] | None, list[dict] | None]] = {}


def scrub(obj):
    """Drop anything that looks like a credential or HTTP headers from a provider response."""
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items() if not any(m in str(k).lower() for m in SECRET_MARKERS)}
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj


def response_record(response, *, prefix: str, tier: Tier, sample: int, latency_ms: int) -> dict:
    """What is kept of a litellm response: the message as mini-swe-agent dumps it, usage, the raw response."""
    raw = scrub(response.model_dump(mode="json"))
    return ResponseRecord(
        prefix=prefix,
        tier=tier.spec,
        sample=sample,
        message=scrub(response.choices[0].message.model_dump(mode="json")),
        finish_reason=response.choices[0].finish_reason,
        usage=usage_of(raw.get("usage") or {}),
        latency_ms=latency_ms,
        provider_model=getattr(response, "model", None),
        raw=raw,
    ).model_dump(mode="json")


def tier_models(pool: Pool, model_class: type, config: dict) -> dict:
    """One mini-swe-agent model per tier, configured as a user of that tier would configure it."""
    models = {}
    for tier in pool.tiers:
        kwargs = config.get("model_kwargs", {}) | tier.params
        if tier.api_base:
            kwargs["api_base"] = tier.api_base
        api_key = os.environ.get(tier.api_key_env, "") if tier.api_key_env else ("none" if tier.api_base else "")
        if api_key:
            kwargs["api_key"] = api_key
        models[tier.name] = model_class(**(config | {"model_name": tier.model, "model_kwargs": kwargs}))
    return models


def tools_for(model_config: dict) -> tuple:
    """What routers see as the agent's tools: bash as a tool, or none for a text-based model class."""
    model_class = get_model_class("", model_config.get("model_class", "litellm"))
    return () if "textbased" in model_class.__name__.lower() else (BASH_TOOL,)


def spent_live(ctx: ReplayContext, usd: float) -> None:
    ctx.budget.add(usd)
    ctx.tally.live_usd += usd


def ask(
    ctx: ReplayContext,
    router: Router,
    label: str,
    messages: FrozenList,
    tools: FrozenList,
    prompt_cache: PromptCacheSimulator,
) -> tuple[str, str | None, float]:
    """(tier name, rationale, ms the router took) for this step, asked with a full RouterContext; raises
    RouterError (the agent loop and the fast path each end the trajectory their way)."""
    context = make_context(
        instance_id=ctx.instance_id,
        step_index=len(ctx.steps),
        messages=messages,
        tools=tools,
        pool=ctx.pool,
        cache_state=prompt_cache.state(ctx.clock.now),
        budget_so_far_usd=ctx.spend_usd,
        run_config=ctx.run_config,
    )
    start = time.perf_counter()
    tier_name, rationale = decide(router, label, context, ctx.pool)
    return tier_name, rationale, (time.perf_counter() - start) * 1000


def charge(
    ctx: ReplayContext,
    prompt_cache: PromptCacheSimulator,
    chain: keys.PrefixChain,
    tier: Tier,
    key: str,
    record: dict,
    source: str,
    rationale: str | None,
    router_ms: float,
) -> float:
    """Price the served answer through the prompt-cache simulator, advance the clock, log the step."""
    usage = record["usage"]
    started_at = ctx.clock.now
    cost, lookup = prompt_cache.call(
        tier.name,
        chain.startswith,
        depth=len(chain.nodes),
        node=chain.head,
        prompt_tokens=usage["prompt_tokens"],
        output_tokens=usage["completion_tokens"],
        started_at=started_at,
    )
    if ctx.cost_model == "recorded":
        cost = recorded_cost(tier, usage)
    ctx.clock.advance(record["latency_ms"])
    ctx.spend_usd += cost.usd
    if source == "live":  # the live spend cap counts a call at the price the replay gives it
        spent_live(ctx, cost.usd)
    ctx.steps.append(
        StepTrace(
            step=len(ctx.steps),
            tier=tier.name,
            response=key,
            source=source,
            cost_usd=cost.usd,
            input_tokens=cost.input_tokens,
            cache_read_tokens=cost.cache_read_tokens,
            cache_write_tokens=cost.cache_write_tokens,
            output_tokens=cost.output_tokens,
            cache_lookup=lookup,
            started_at=started_at,
            finished_at=ctx.clock.now,
            rationale=rationale,
            router_ms=router_ms,
        )
    )
    return cost.usd


class RoutedModel:
    """Answers mini-swe-agent's queries for one trajectory: the router picks the tier, the store the answer."""

    def __init__(self, ctx: ReplayContext, *, router: Router, router_label: str, model_config: dict) -> None:
        self.ctx, self.router, self.router_label = ctx, router, router_label
        model_class = get_model_class("", model_config.get("model_class", "litellm"))
        config = {k: v for k, v in model_config.items() if k != "model_class"}
        self.models = tier_models(ctx.pool, model_class, config)
        # Formats messages and provides template vars; carries no tier's endpoint or key.
        self.formatter = model_class(
            **({k: v for k, v in config.items() if k != "model_kwargs"} | {"model_name": "twinsim"})
        )
        self.config = self.formatter.config
        self.parser_id = json.dumps(model_config, sort_keys=True, default=str)  # what parsing a response depends on
        self.tools = FrozenList(tools_for(model_config))
        self.view: FrozenList | None = None  # the trajectory's messages as routers see them
        self.chain = keys.PrefixChain()
        self.prompt_cache = PromptCacheSimulator(ctx.pool)
        self.observer = None
        """Told of every query and every step served (`query(messages)`, `served(messages, key, cost)`): the fast
        path learns transitions so."""

    # --- mini-swe-agent Model protocol -------------------------------------------------

    def query(self, messages: list[dict], **kwargs) -> dict:
        ctx = self.ctx
        head = self.chain.extend_to(messages)
        if self.observer is not None:
            self.observer.query(messages)
        self.view = follow(self.view, messages)
        try:
            tier_name, rationale, router_ms = ask(
                ctx, self.router, self.router_label, self.view, self.tools, self.prompt_cache
            )
        except RouterError as e:
            raise Incomplete(str(e)) from e
        tier = ctx.pool.tier(tier_name)
        key = keys.response_key(head, tier.spec, ctx.sample)
        record, source = ctx.store.get("response", key), "hit"
        if record is None:
            reason = f"response miss at step {len(ctx.steps)}: tier {tier.name}, prefix {head[:12]}…, key {key[:12]}…"
            asked = {
                "key": key,
                "tier": tier.name,
                "sample": ctx.sample,
                "nodes": list(self.chain.nodes),
                "messages": [m for _, m in self.chain.blobs],
            }
            ctx.tally.miss("response", ctx.policy.response, reason, asked)
            if ctx.policy.response == "approximate":
                key, record, source = self._approximate(tier, asked, reason)
            else:
                record, source = self._call_live(tier, messages, head)
        else:
            ctx.tally.hits["response"] += 1
        if ctx.fanout and ctx.policy.response == "live":
            self._fan_out(messages, head, skip=tier.name)
        cost = charge(ctx, self.prompt_cache, self.chain, tier, key, record, source, rationale, router_ms)
        if self.observer is not None:
            self.observer.served(messages, key, cost)
        return self._message(tier, key, record, cost)

    def format_message(self, **kwargs) -> dict:
        return self.formatter.format_message(**kwargs)

    def format_observation_messages(
        self, message: dict, outputs: list[dict], template_vars: dict | None = None
    ) -> list[dict]:
        return self.formatter.format_observation_messages(message, outputs, template_vars)

    def get_template_vars(self, **kwargs) -> dict:
        return self.formatter.get_template_vars(**kwargs)

    def serialize(self) -> dict:
        return {
            "info": {
                "config": {
                    "model": self.config.model_dump(mode="json"),
                    "model_type": "twinsim.RoutedModel",
                    "router": self.router_label,
                }
            }
        }

    # --- internals ------------------------------------------------------------------------

    def _message(self, tier: Tier, key: str, record: dict, cost: float) -> dict:
        """What mini-swe-agent's LitellmModel.query does with a provider response. The response is parsed
        once per process (a litellm ModelResponse is costly to build); each step gets its own copy."""
        served = record["message"]  # what the parser reads: the content or tool calls, and the finish reason
        calls = served.get("tool_calls")
        parsed_key = (
            self.parser_id,
            tier.name,
            key,
            served.get("content"),
            record.get("finish_reason"),
            json.dumps(calls, sort_keys=True) if calls else None,
        )
        if parsed_key not in _PARSED:
            response = litellm.ModelResponse(**copy.deepcopy(record["raw"]))
            try:
                _PARSED[parsed_key] = (self.models[tier.name]._parse_actions(response), None)
            except FormatError as e:
                _PARSED[parsed_key] = (None, e.messages)
        actions, error = _PARSED[parsed_key]
        if error is not None:
            messages = copy.deepcopy(error)
            messages[0]["extra"].update({"cost": cost, "response": record["raw"]})
            raise FormatError(*messages)
        message = copy.deepcopy(record["message"])
        message["extra"] = {
            "actions": copy.deepcopy(actions),
            "response": record["raw"],
            "cost": cost,
            "timestamp": self.ctx.clock.now,
        }
        return message

    def _approximate(self, tier: Tier, asked: dict, reason: str) -> tuple[str, dict, str]:
        """The nearest recorded answer (replay.nearest); it is charged as usual, at the asked tier's prices."""
        ctx = self.ctx
        choice = recorded(ctx.store).nearest_response(
            asked["nodes"], asked["messages"], tier.name, ctx.sample, ctx.pool
        )
        if choice is None:
            raise Incomplete(f"{reason}; nothing recorded in this instance to approximate it with")
        ctx.tally.approximate("response", len(ctx.steps), asked["key"], choice.key, choice.similarity, choice.how)
        return choice.key, ctx.store.get("response", choice.key), "approximate"

    def _call_live(self, tier: Tier, messages: list[dict], head: str) -> tuple[dict, str]:
        """The live response and its source: `live`, or `hit` when a recorder sharing the store made the call."""
        step = len(self.ctx.steps)
        self.ctx.budget.check(f"a live call to tier {tier.name} at step {step}")
        try:
            record, fresh = self._record(tier, messages, head)
        except Exception as e:
            raise Incomplete(
                f"live call to tier {tier.name} ({tier.model}) failed at step {step}: {type(e).__name__}: {e}"
            ) from e
        if not fresh:
            return record, "hit"
        self.ctx.tally.live["response"] += 1
        return record, "live"

    def _record(self, tier: Tier, messages: list[dict], head: str) -> tuple[dict, bool]:
        """Call `tier` and store its response; (record, False) instead when another recorder sharing the store
        made this call while this one waited for the key's lease: no response is paid for twice."""
        store, key = self.ctx.store, keys.response_key(head, tier.spec, self.ctx.sample)
        with lease(store, "response", key):
            stored = store.get("response", key)
            if stored is not None:
                return stored, False
            model = self.models[tier.name]
            prepared = model._prepare_messages_for_api(messages)
            start = time.monotonic()
            for attempt in retry(logger=logger, abort_exceptions=model.abort_exceptions):
                with attempt:
                    response = model._query(prepared)
            latency_ms = round((time.monotonic() - start) * 1000)
            record = response_record(response, prefix=head, tier=tier, sample=self.ctx.sample, latency_ms=latency_ms)
            self._store_prefix()
            store.put("response", key, record)
        return record, True

    def _store_prefix(self) -> None:
        """Store the message blobs and prefix nodes of this chain not stored yet (newest first, stop at a known one)."""
        store = self.ctx.store
        for i in range(len(self.chain.nodes) - 1, -1, -1):
            if store.contains("prefix", self.chain.nodes[i]):
                break
            blob, normalized = self.chain.blobs[i]
            if not store.contains("message", blob):
                store.put("message", blob, {"message": normalized})
            store.put(
                "prefix", self.chain.nodes[i], {"parent": self.chain.nodes[i - 1] if i else keys.ROOT, "message": blob}
            )

    def _fan_out(self, messages: list[dict], head: str, skip: str) -> None:
        """Also ask the other tiers at this prefix (not followed), so other routers hit later."""
        ctx = self.ctx
        todo = [
            t
            for t in ctx.pool.tiers
            if t.name != skip and not ctx.store.contains("response", keys.response_key(head, t.spec, ctx.sample))
        ]
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=min(len(todo), ctx.pool.max_concurrency)) as pool:
            ctx.tally.live["fanout"] += sum(pool.map(lambda t: self._fan_out_one(t, messages, head), todo))

    def _fan_out_one(self, tier: Tier, messages: list[dict], head: str) -> int:
        try:
            self.ctx.budget.check(f"a fan-out call to tier {tier.name}")
            record, fresh = self._record(tier, messages, head)
        except Exception as e:  # a failed fan-out loses only that extra sample
            logger.warning("fan-out to tier %s failed: %s", tier.name, e)
            return 0
        if not fresh:
            return 0
        # Never followed, so no cache state of its own: priced as a cold call of its tier.
        usage = record["usage"]
        spent_live(
            self.ctx,
            self.prompt_cache.charge(
                tier.name, warm=False, prompt_tokens=usage["prompt_tokens"], output_tokens=usage["completion_tokens"]
            ).usd,
        )
        return 1
