"""The fast path of strict replay: transitions learned from the agent loop, walked without it.

The agent is deterministic given what it is served, so what follows a served response (the actions it
runs, their observations, the messages it adds, whether it ends) is a function of that response's key
(prefix, tier, sample), the environment state, the step index, the run of format errors before it, and
the path-dependent values its templates read (model cost, virtual clock). `Recorder` learns these
transitions from every agent-loop trajectory; they are kept on the loaded recording, per agent config.
`FastPath.walk` replays a trajectory from them: the router is asked at every step with a full
RouterContext, and every step is priced, timed and logged by the agent loop's own `charge`. At the first
transition not known it hands the router's decisions so far to the agent loop (`Handover`), which
replays them through `Replayed` (the router is never asked twice for a step) and goes on from there,
learning as it goes. Only strict replays of a recording take it; `--no-fast-path` turns it off.
"""

from dataclasses import dataclass, field

from minisweagent.agents.default import AgentConfig as LoopLimits

from simulator import keys
from simulator.records import RunResult
from simulator.replay.context import Incomplete, MissPolicy, ReplayContext, Tally
from simulator.replay.evaluation import cached_evaluate, evaluator_for
from simulator.replay.model import ask, charge, tools_for
from simulator.replay.promptcache import PromptCacheSimulator
from simulator.replay.setup import Setup
from simulator.replay.templates import agent_templates, template_variables
from simulator.routers.protocol import RouterDecision, RouterError
from simulator.routers.readonly import FrozenList, grow

PATH_VARIABLES = ("model_cost", "elapsed_seconds")  # template variables that differ between paths to one state
ENDS_BY_LIMIT = ("LimitsExceeded", "TimeExceeded")  # decided before the next query: the walk checks them itself


@dataclass(frozen=True)
class Start:
    """A trajectory up to its first query."""

    messages: tuple[dict, ...]
    nodes: tuple[str, ...]
    env_node: str
    hits: dict


@dataclass(frozen=True)
class Transition:
    """What follows one served response, up to the next query or the end."""

    messages: tuple[dict, ...]
    nodes: tuple[str, ...]
    observations: tuple[tuple[str, int], ...]
    """(observation key, duration ms) of each action run."""
    format_error: bool
    end: tuple[str, str] | None
    """(exit status, submission) when the trajectory ends here."""
    served: tuple[int, ...]
    """Messages whose `extra` carries the step's cost (and the assistant's, its virtual timestamp)."""


@dataclass
class Handover:
    """The walk stopped at a transition it does not know: the router's (tier, rationale) per step so far."""

    decisions: list[tuple[str, str | None]] = field(default_factory=list)


class Replayed:
    """The decisions the fast path already asked the router for, then the router itself."""

    def __init__(self, decisions: list[tuple[str, str | None]], router) -> None:
        self.decisions, self.router = decisions, router

    def select(self, ctx):
        if ctx.step_index < len(self.decisions):
            return RouterDecision(*self.decisions[ctx.step_index])
        return self.router.select(ctx)


def outcome(ctx: ReplayContext, setup: Setup, instance: dict, exit_info: dict) -> tuple[str, str, str | None]:
    """(status, reason, evaluation key) of a trajectory that ended with `exit_info`; grades a submission."""
    exit_status = exit_info.get("exit_status", "")
    if exit_status == "Incomplete":
        return "incomplete", exit_info.get("reason", ""), None
    if exit_status != "Submitted":
        return "unresolved", "", None
    try:
        evaluation, record = cached_evaluate(
            ctx, evaluator_for(setup.suite, setup.env_runs), instance, exit_info.get("submission", "")
        )
    except Incomplete as e:
        return "incomplete", e.reason, None
    return ("resolved" if record["resolved"] else "unresolved"), "", evaluation


def run_result(
    ctx: ReplayContext, router_spec: str, status: str, exit_status: str, reason: str, evaluation, observations
) -> RunResult:
    tally = ctx.tally
    return RunResult(
        router=router_spec,
        instance_id=ctx.instance_id,
        sample=ctx.sample,
        status=status,
        exit_status=exit_status,
        reason=reason,
        steps=ctx.steps,
        spend_usd=ctx.spend_usd,
        hits=dict(sorted(tally.hits.items())),
        live=dict(sorted(tally.live.items())),
        misses=dict(sorted(tally.misses.items())),
        live_usd=tally.live_usd,
        observations=observations,
        evaluation=evaluation,
        approximations=tally.approximations,
    )


def replay_context(setup: Setup, instance_id: str, store, budget, tally: Tally | None = None) -> ReplayContext:
    return ReplayContext(
        pool=setup.pool,
        store=store,
        policy=setup.policy,
        budget=budget,
        instance_id=instance_id,
        run_config=setup.run_config,
        sample=setup.sample,
        fanout=setup.fanout,
        cost_model=setup.cost_model,
        tally=tally or Tally(),
    )


class FastPath:
    """The transitions learned for one setup (agent config) of a loaded recording, and the walk over them."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.transitions = setup.load().transitions
        self.setup_key = keys.sha256(keys.canonical_json(setup.agent.model_dump(mode="json")))
        read = template_variables(*agent_templates(setup.agent))
        self.path_variables = tuple(v for v in PATH_VARIABLES if v in read)
        self.limits = LoopLimits(**setup.agent.agent)
        self.tools = FrozenList(tools_for(setup.agent.model))
        self.tiers = {t.name: (t, keys.response_keyer(t.spec, setup.sample)) for t in setup.pool.tiers}
        self.walked = self.handed_over = 0  # trajectories walked to the end / handed to the agent loop

    @staticmethod
    def applies(setup: Setup) -> bool:
        """Strict replay of a recording, nothing written beside the report, no wall-clock limit."""
        agent = setup.agent.agent
        return (
            setup.fast_path
            and setup.recording is not None
            and setup.policy == MissPolicy()
            and not setup.fanout
            and setup.trajectories is None
            and not agent.get("wall_time_limit_seconds")
        )

    def path(self, cost: float, now: float) -> tuple:
        """The path-dependent values the templates read, after a step that cost `cost` (agent total) at `now`."""
        return tuple(cost if v == "model_cost" else now for v in self.path_variables)

    def recorder(self, agent, env, model) -> "Recorder":
        return Recorder(self, agent, env, model)

    def walk(self, router_spec: str, router, instance: dict, store, budget) -> RunResult | Handover:
        walked = self._walk(router_spec, router, instance, store, budget)
        if isinstance(walked, Handover):
            self.handed_over += 1
        else:
            self.walked += 1
        return walked

    def _walk(self, router_spec: str, router, instance: dict, store, budget) -> RunResult | Handover:
        setup, pool, limits = self.setup, self.setup.pool, self.limits
        start = self.transitions.get((self.setup_key, instance["instance_id"]))
        if start is None:
            return Handover()
        ctx = replay_context(setup, instance["instance_id"], store, budget)
        ctx.tally.hits.update(start.hits)
        messages, chain, cache = FrozenList(start.messages), keys.PrefixChain(), PromptCacheSimulator(pool)
        chain.nodes = list(start.nodes)
        env_node, observations, decisions = start.env_node, [], []
        agent_cost, format_errors = 0.0, 0
        while True:
            step = len(ctx.steps)
            if 0 < limits.step_limit <= step or 0 < limits.cost_limit <= agent_cost:  # as the agent checks them
                exit_info = {"exit_status": "LimitsExceeded"}
                break
            try:
                tier_name, rationale, router_ms = ask(ctx, router, router_spec, messages, self.tools, cache)
            except RouterError as e:
                exit_info = {"exit_status": "Incomplete", "reason": str(e)}
                break
            decisions.append((tier_name, rationale))
            tier, response_key = self.tiers[tier_name]
            key = response_key(chain.head)
            record = store.get("response", key)
            if record is None:
                return Handover(decisions)
            ctx.tally.hits["response"] += 1
            cost = charge(ctx, cache, chain, tier, key, record, "hit", rationale, router_ms)
            state = (self.setup_key, key, env_node, step, format_errors)
            if self.path_variables:
                state += self.path(agent_cost + cost, ctx.clock.now)
            transition = self.transitions.get(state)
            if transition is None:
                return Handover(decisions)
            agent_cost += cost
            grow(messages, _served(transition, cost, ctx.clock.now))  # what routers see, never copied per step
            for observation, duration_ms in transition.observations:
                ctx.tally.hits["observation"] += 1
                ctx.clock.advance(duration_ms)
                observations.append(observation)
                env_node = observation
            chain.nodes += transition.nodes
            format_errors = format_errors + 1 if transition.format_error else 0
            if transition.end is not None:
                exit_info = {"exit_status": transition.end[0], "submission": transition.end[1]}
                break
        status, reason, evaluation = outcome(ctx, setup, instance, exit_info)
        return run_result(ctx, router_spec, status, exit_info["exit_status"], reason, evaluation, observations)


def _served(transition: Transition, cost: float, now: float) -> list[dict] | tuple[dict, ...]:
    """The transition's messages with this path's cost (and the assistant message's virtual timestamp)."""
    if not transition.served:
        return transition.messages
    messages = list(transition.messages)
    for i in transition.served:
        message = messages[i]
        extra = message["extra"] | {"cost": cost}
        if message.get("role") == "assistant" and "timestamp" in extra:
            extra["timestamp"] = now
        messages[i] = message | {"extra": extra}
    return messages


class Recorder:
    """Learns one agent-loop trajectory's transitions (the RoutedModel's observer)."""

    def __init__(self, fast: FastPath, agent, env, model) -> None:
        self.fast, self.agent, self.env, self.model = fast, agent, env, model
        self.open: tuple | None = None  # (transition key, messages before it, observations before it)

    def query(self, messages: list[dict]) -> None:
        """A query begins: the transition before it is complete (or, at the first, the start is)."""
        ctx, chain = self.model.ctx, self.model.chain
        if not ctx.steps:
            start = Start(tuple(messages), tuple(chain.nodes), self.env.node, dict(ctx.tally.hits))
            self.fast.transitions[(self.fast.setup_key, ctx.instance_id)] = start
        elif self.open is not None:
            self._close(messages, end=None)

    def served(self, messages: list[dict], key: str, cost: float) -> None:
        ctx, fast = self.model.ctx, self.fast
        path = fast.path(self.agent.cost + cost, ctx.clock.now)
        step, format_errors = len(ctx.steps) - 1, self.agent.n_consecutive_format_errors
        transition_key = (fast.setup_key, key, self.env.node, step, format_errors, *path)
        self.open = (transition_key, len(messages), len(self.env.keys))

    def finish(self, exit_info: dict) -> None:
        """The trajectory ended cleanly: learn its last transition (a limit is checked by the walk itself)."""
        if self.open is None:
            return
        messages = self.agent.messages
        if exit_info.get("exit_status") in ENDS_BY_LIMIT:
            self.model.chain.extend_to(messages[:-1])
            self._close(messages[:-1], end=None)
        elif exit_info.get("exit_status") not in ("Incomplete", ""):
            self._close(messages, end=(exit_info["exit_status"], exit_info.get("submission", "")))

    def _close(self, messages: list[dict], end: tuple[str, str] | None) -> None:
        key, n_messages, n_observations = self.open
        store, added = self.model.ctx.store, tuple(messages[n_messages:])
        self.fast.transitions[key] = Transition(
            messages=added,
            nodes=() if end else tuple(self.model.chain.nodes[n_messages:]),
            observations=tuple((k, store.get("observation", k)["duration_ms"]) for k in self.env.keys[n_observations:]),
            format_error=self.agent.n_consecutive_format_errors > 0,
            end=end,
            served=tuple(i for i, m in enumerate(added) if "cost" in (m.get("extra") or {})),
        )
        self.open = None
