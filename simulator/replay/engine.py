"""The replay engine: one loop for recording and replaying, the miss policy decides which.

A trajectory is mini-swe-agent's DefaultAgent, unchanged, with a RoutedModel
and a CachedEnvironment; its final patch goes through the cached evaluator.
(router × instance) pairs run serially, in worker processes or as Ray tasks; results
come back in a fixed order, so neither `--jobs` nor `--executor` changes a report.
"""

import gc
import re
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from multiprocessing import get_context
from pathlib import Path
from tempfile import TemporaryDirectory

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.recording import run_id
from simulator.records import RunResult
from simulator.replay.agents import agent_class
from simulator.replay.context import Incomplete, LiveBudget, Tally
from simulator.replay.environment import CachedEnvironment
from simulator.replay.fastpath import FastPath, Replayed, outcome, replay_context, run_result
from simulator.replay.model import RoutedModel
from simulator.replay.setup import Setup
from simulator.replay.templates import agent_templates, template_variables
from simulator.routers.protocol import Router
from simulator.routers.registry import router_factory
from simulator.store import Store
from simulator.suite import locked


def slug(router_spec: str) -> str:
    """A router spec as a folder name."""
    return re.sub(r"[^A-Za-z0-9._=,-]+", "_", router_spec).strip("_") or "router"


def replay_trajectory(
    setup: Setup,
    router_spec: str,
    instance: dict,
    store: Store,
    budget: LiveBudget,
    tally: Tally | None = None,
    router: Router | None = None,
    make_router: Callable[[], Router] | None = None,
    fast: FastPath | None = None,
) -> RunResult:
    """One trajectory under `router_spec`; `router`, if given, is the router object to use (spec is then its label),
    else `make_router` (default: the spec's factory) makes one. `tally` may be passed in to inspect it afterwards
    (explain-miss); `fast` learns its transitions. Whatever the router raises, `sys.exit` included, ends this
    trajectory only, as incomplete."""
    instance_id = instance["instance_id"]
    if router is None:
        try:
            router = (make_router or router_factory(router_spec, setup.pool))()
        except (Exception, SystemExit) as e:
            reason = f"router {router_spec!r} could not be made for {instance_id}: {type(e).__name__}: {e}"
            return RunResult(
                router=router_spec,
                instance_id=instance_id,
                sample=setup.sample,
                status="incomplete",
                exit_status="Error",
                reason=reason,
            )
    ctx = replay_context(setup, instance_id, store, budget, tally)
    agent_type, agent_settings = agent_class(setup.agent.agent)
    model = RoutedModel(
        ctx,
        router=router,
        router_label=router_spec,
        model_config=setup.agent.model,
    )
    # Actions the recording lacks run, under `approximate`, in a private copy of the repository: this folder.
    scratch = TemporaryDirectory(prefix="twinsim-env-") if setup.policy.observation == "approximate" else None
    env = CachedEnvironment(
        ctx,
        env_spec=setup.environment_spec(instance),
        template_names=template_variables(*agent_templates(setup.agent)),
        make_env=setup.environment_maker(instance, Path(scratch.name) if scratch else None),
    )
    if setup.trajectories:  # mini-swe-agent writes its own trajectory file there as it goes
        agent_settings |= {"output_path": setup.trajectories / slug(router_spec) / f"{ctx.instance_id}.traj.json"}
    agent = agent_type(model, env, **agent_settings)
    # The agent's own clock is the machine's; prompts get the virtual one.
    agent.extra_template_vars["elapsed_seconds"] = 0
    ctx.clock.template_vars = agent.extra_template_vars
    if fast is not None:  # the fast path learns this trajectory's transitions
        model.observer = fast.recorder(agent, env, model)
    status, reason, evaluation, exit_status = "unresolved", "", None, "Incomplete"
    # The testbed is a fixed path: a trajectory that may record actions there holds it alone.
    workdir = setup.suite.workdir_for(ctx.instance_id)
    records_actions = setup.policy.observation == "live" and setup.suite.has_repos
    testbed = locked(workdir.parent / f"{workdir.name}.lock") if records_actions else nullcontext()
    try:
        with testbed:
            exit_info = agent.run(instance["problem_statement"])
        exit_status = exit_info.get("exit_status", "")
        if model.observer is not None:
            model.observer.finish(exit_info)
        status, reason, evaluation = outcome(ctx, setup, instance, exit_info)
    except Incomplete as e:
        status, reason = "incomplete", e.reason
    except Exception as e:  # a crash of the agent or environment ends this trajectory only
        status, reason, exit_status = "incomplete", f"{type(e).__name__}: {e}", "Error"
    finally:
        if scratch:
            scratch.cleanup()
    return run_result(ctx, router_spec, status, exit_status, reason, evaluation, env.keys)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a replay, with the trajectories that finished (in (router, instance) order) and how many
    were planned: enough for a partial report."""

    def __init__(self, finished: list[RunResult], planned: int) -> None:
        super().__init__(f"{len(finished)} of {planned} trajectories that finished")
        self.finished, self.partial = finished, {"finished": len(finished), "planned": planned}


_worker: dict = {}


def _init_worker(setup: Setup, budget: LiveBudget) -> None:
    fast = FastPath(setup) if FastPath.applies(setup) else None
    _worker.update(setup=setup, budget=budget, store=setup.open_store(), factories={}, fast=fast)
    # The loaded recording and the transitions learned so far live as long as the process: out of the cyclic
    # collector's sight, its full passes no longer walk them all (replays allocate fast: 2-3x faster).
    gc.freeze()


def _init_pool_worker(setup: Setup, budget: LiveBudget) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    _init_worker(setup, budget)


def _stop(executor: ProcessPoolExecutor) -> None:
    """Stop now: trajectories in flight are dropped, queued ones never start."""
    for process in list((executor._processes or {}).values()):  # no public way to stop a running task
        process.terminate()
    executor.shutdown(wait=False, cancel_futures=True)


def _run_one(router_spec: str, instance_id: str) -> RunResult:
    setup, store, factories = _worker["setup"], _worker["store"], _worker["factories"]
    if router_spec not in factories:  # parse the spec (and import a router file) once per worker
        factories[router_spec] = router_factory(router_spec, setup.pool)
    make_router, instance, fast = factories[router_spec], setup.suite.instance(instance_id), _worker["fast"]
    if fast is not None:
        try:
            router = make_router()  # a fresh router per trajectory
        except (Exception, SystemExit):
            router = None  # the agent loop reports it
        if router is not None:
            walked = fast.walk(router_spec, router, instance, store, _worker["budget"])
            if isinstance(walked, RunResult):
                return walked
            make_router = lambda: Replayed(walked.decisions, router)  # the agent loop from here, no step asked twice
    result = replay_trajectory(
        setup, router_spec, instance, store, _worker["budget"], make_router=make_router, fast=fast
    )
    keep_run(setup, store, result)
    return result


def keep_run(setup: Setup, store: Store, result: RunResult) -> None:
    """When recording, an exact run joins the recording's manifest (through the store)."""
    if setup.policy.goes_live and not result.approximations:
        store.put("run", run_id(result), result.model_dump(mode="json"))


def run_replays(
    setup: Setup,
    routers: list[str],
    instance_ids: list[str],
    *,
    jobs: int = 1,
    max_live_usd: float | None = None,
    show_progress: bool = True,
) -> list[RunResult]:
    """Replay every (router, instance) pair; results in (router, instance) order, whatever `setup.executor` ran
    them: this process, `jobs` forked ones, or Ray tasks (`replay/cluster.py`)."""
    for spec in routers:
        router_factory(spec, setup.pool)  # a bad router spec fails before any work
    for instance_id in instance_ids:
        setup.suite.instance(instance_id)
    budget = LiveBudget(max_live_usd)
    pairs = [(r, i) for r in routers for i in instance_ids]
    results: dict[tuple[str, str], RunResult] = {}
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show_progress,
        transient=True,
    )
    try:
        with progress:
            task = progress.add_task("trajectories", total=len(pairs))
            if setup.executor == "ray":
                from simulator.replay.cluster import run_on_ray

                ray_results = run_on_ray(setup, pairs, init=_init_worker, run=_run_one, max_live_usd=max_live_usd)
                for pair, result in ray_results:
                    results[pair] = result
                    progress.advance(task)
            elif jobs <= 1:
                _init_worker(setup, budget)
                for pair in pairs:
                    results[pair] = _run_one(*pair)
                    progress.advance(task)
            else:
                ctx = get_context("fork")
                with ProcessPoolExecutor(
                    jobs, mp_context=ctx, initializer=_init_pool_worker, initargs=(setup, budget)
                ) as executor:
                    futures = {executor.submit(_run_one, *pair): pair for pair in pairs}
                    try:
                        for future in as_completed(futures):
                            results[futures[future]] = future.result()
                            progress.advance(task)
                    except KeyboardInterrupt:
                        _stop(executor)
                        raise
    except KeyboardInterrupt:
        raise Interrupted([results[pair] for pair in pairs if pair in results], len(pairs)) from None
    return [results[pair] for pair in pairs]
