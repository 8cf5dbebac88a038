"""The replay engine: one loop for recording and replaying, the miss policy decides which.

A trajectory is mini-swe-agent's DefaultAgent, unchanged, with a RoutedModel
and a CachedEnvironment; its final patch goes through the cached evaluator.
(router × instance) pairs run serially or in worker processes; results come
back in a fixed order, so `--jobs` never changes a report.
"""

import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from minisweagent.agents.default import DefaultAgent
from minisweagent.environments import get_environment
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulator import keys
from simulator.environment import CachedEnvironment, cached_evaluate, template_variables
from simulator.model import RoutedModel
from simulator.policy import Incomplete, LiveBudget, MissPolicy, Tally, VirtualClock
from simulator.recording import load_recording, run_id
from simulator.routers import Router, RunConfig, router_factory
from simulator.schemas import AgentConfig, Pool, RunResult
from simulator.store import DiskStore, LayeredStore, Store
from simulator.suite import Suite, SwebenchEvaluator, locked, materialize


@dataclass
class Setup:
    """Everything a worker needs to replay trajectories (picklable)."""

    pool: Pool
    agent: AgentConfig
    suite: Suite
    policy: MissPolicy = field(default_factory=MissPolicy)
    recording: Path | None = None
    cache_dir: Path | None = None
    sample: int = 0
    fanout: bool = False

    def open_store(self) -> Store:
        """The recording in memory, with the disk cache on top when anything may go live (or there is no recording)."""
        if self.recording is None:
            return DiskStore(self.cache_dir or "cache")
        base = load_recording(self.recording).store()
        if self.policy.goes_live and self.cache_dir:
            return LayeredStore(base, DiskStore(self.cache_dir))
        return base


def suite_identity(suite: Suite) -> dict:
    return {"name": suite.name, "version": suite.version, "sha256": keys.sha256(keys.canonical_json(suite.instances))}


def environment_spec(setup: Setup, instance: dict) -> dict:
    """What decides observations: the environment config of the agent and where the instance lives.

    Only portable facts: the replaying machine's PATH or temp names never enter it.
    """
    return {
        "environment": setup.agent.environment,
        "suite": setup.suite.name,
        "base_commit": instance["base_commit"],  # a content hash of the repository files
        "workdir": str(setup.suite.workdir_for(instance["instance_id"])),
    }


def make_environment(setup: Setup, instance: dict):
    """A fresh real environment for the instance: the repository materialized at its fixed path."""
    path = materialize(setup.suite, instance)
    config = dict(setup.agent.environment)
    # The agent's `python` must be the one that has pytest: ours.
    env_vars = dict(config.get("env", {})) | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return get_environment(config | {"cwd": str(path), "env": env_vars}, default_type="local")


def run_config_of(agent: AgentConfig, pool: Pool) -> RunConfig:
    """What routers see of the run's limits: the agent's step and cost limits, the pool's cache TTL."""
    return RunConfig(
        max_steps=int(agent.agent.get("step_limit", 0)),
        budget_usd=float(agent.agent.get("cost_limit", 0.0)),
        wallclock_ttl_sec=pool.cache_ttl_sec,
        select_timeout_sec=0.0,
    )


def replay_trajectory(
    setup: Setup, router_spec: str, instance: dict, store: Store, budget: LiveBudget, tally: Tally | None = None, router: Router | None = None
) -> RunResult:
    """One trajectory under `router_spec`; `router`, if given, is the router object to use (spec is then its label).
    `tally` may be passed in to inspect it afterwards (explain-miss)."""
    instance_id = instance["instance_id"]
    clock, tally = VirtualClock(), tally or Tally()
    agent_settings = setup.agent.agent
    model = RoutedModel(
        pool=setup.pool,
        model_config=setup.agent.model,
        router=router or router_factory(router_spec, setup.pool)(),
        router_label=router_spec,
        store=store,
        policy=setup.policy.response,
        instance_id=instance_id,
        run_config=run_config_of(setup.agent, setup.pool),
        clock=clock,
        tally=tally,
        budget=budget,
        sample=setup.sample,
        fanout=setup.fanout,
    )
    templates = [agent_settings.get("system_template", ""), agent_settings.get("instance_template", "")]
    templates += [v for k, v in setup.agent.model.items() if k.endswith("_template") and isinstance(v, str)]
    env = CachedEnvironment(
        make_env=lambda: make_environment(setup, instance),
        env_spec=environment_spec(setup, instance),
        instance_id=instance_id,
        store=store,
        policy=setup.policy.observation,
        clock=clock,
        tally=tally,
        template_names=template_variables(*templates),
        current_step=lambda: len(model.steps) - 1,
    )
    agent = DefaultAgent(model, env, **agent_settings)
    # The agent's own clock is the machine's; prompts get the virtual one.
    agent.extra_template_vars["elapsed_seconds"] = 0
    clock.template_vars = agent.extra_template_vars

    status, reason, evaluation, exit_status = "unresolved", "", None, "Incomplete"
    # The testbed is a fixed path: a trajectory that may run actions there holds it alone.
    workdir = setup.suite.workdir_for(instance_id)
    testbed = locked(workdir.parent / f"{workdir.name}.lock") if setup.policy.observation != "error" else nullcontext()
    try:
        with testbed:
            exit_info = agent.run(instance["problem_statement"])
        exit_status = exit_info.get("exit_status", "")
        if exit_status == "Incomplete":
            status, reason = "incomplete", exit_info.get("reason", "")
        elif exit_status == "Submitted":
            evaluation, record = cached_evaluate(
                SwebenchEvaluator(setup.suite), instance, exit_info.get("submission", ""),
                store=store, policy=setup.policy.evaluation, tally=tally, step=len(model.steps),
            )
            status = "resolved" if record["resolved"] else "unresolved"
    except Incomplete as e:
        status, reason = "incomplete", e.reason
    except Exception as e:  # a crash of the agent or environment ends this trajectory only
        status, reason, exit_status = "incomplete", f"{type(e).__name__}: {e}", "Error"
    return RunResult(
        router=router_spec,
        instance_id=instance_id,
        sample=setup.sample,
        status=status,
        exit_status=exit_status,
        reason=reason,
        steps=model.steps,
        spend_usd=model.spend_usd,
        hits=dict(sorted(tally.hits.items())),
        live=dict(sorted(tally.live.items())),
        misses=dict(sorted(tally.misses.items())),
        live_usd=tally.live_usd,
        observations=env.keys,
        evaluation=evaluation,
        approximations=tally.approximations,
    )


_worker: dict = {}


def _init_worker(setup: Setup, budget: LiveBudget) -> None:
    _worker.update(setup=setup, budget=budget, store=setup.open_store(), factories={})


def _run_one(router_spec: str, instance_id: str) -> RunResult:
    setup, store, factories = _worker["setup"], _worker["store"], _worker["factories"]
    if router_spec not in factories:  # parse the spec (and import a router file) once per worker
        factories[router_spec] = router_factory(router_spec, setup.pool)
    router = factories[router_spec]()  # a fresh router per trajectory
    result = replay_trajectory(setup, router_spec, setup.suite.instance(instance_id), store, _worker["budget"], router=router)
    if setup.policy.goes_live and not result.approximations:  # recording: an exact run joins the recording's manifest
        store.put("run", run_id(result), result.model_dump(mode="json"))
    return result


def run_replays(setup: Setup, routers: list[str], instance_ids: list[str], *, jobs: int = 1, max_live_usd: float | None = None, show_progress: bool = True) -> list[RunResult]:
    """Replay every (router, instance) pair; results in (router, instance) order."""
    for spec in routers:
        router_factory(spec, setup.pool)  # a bad router spec fails before any work
    for instance_id in instance_ids:
        setup.suite.instance(instance_id)
    budget = LiveBudget(max_live_usd)
    pairs = [(r, i) for r in routers for i in instance_ids]
    results: dict[tuple[str, str], RunResult] = {}
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), disable=not show_progress, transient=True)
    with progress:
        task = progress.add_task("trajectories", total=len(pairs))
        if jobs <= 1:
            _init_worker(setup, budget)
            for pair in pairs:
                results[pair] = _run_one(*pair)
                progress.advance(task)
        else:
            ctx = get_context("fork")
            with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(setup, budget)) as executor:
                futures = {executor.submit(_run_one, *pair): pair for pair in pairs}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    progress.advance(task)
    return [results[pair] for pair in pairs]
