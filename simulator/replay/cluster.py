"""The Ray executor: (router × instance) pairs as Ray tasks, results handed back as each one finishes.

The setup (with the recording loaded and verified once, in the driver) is put into
Ray's object store once; each worker process builds its store from it on its first
task and keeps it for the next ones, as a local worker process does. Live work goes
to the setup's store, which must then be one every node reaches (a PostgreSQL URL).
The engine keeps the fixed order of results, so a report does not depend on the executor.
"""

from collections.abc import Callable, Iterator

from simulator.replay.context import LiveBudget
from simulator.replay.setup import Setup

_current: list[str] = [""]  # the setup this worker process is initialised with (its object id)


def _run_task(boxed_setup: list, init: Callable, run: Callable, router_spec: str, instance_id: str):
    import ray

    (ref,) = boxed_setup  # boxed: Ray would fetch a bare ref for every task; a worker needs it once
    if _current[0] != ref.hex():
        init(ray.get(ref), LiveBudget(None))
        _current[0] = ref.hex()
    return run(router_spec, instance_id)


def run_on_ray(
    setup: Setup, pairs: list[tuple[str, str]], *, init: Callable, run: Callable, max_live_usd: float | None
) -> Iterator[tuple[tuple[str, str], object]]:
    """Run `run(router, instance)` for every pair on the Ray cluster (RAY_ADDRESS, else a local one);
    yield (pair, result) as results arrive. `init(setup, budget)` prepares each worker process."""
    try:
        import ray
    except ImportError:
        raise ValueError("--executor ray needs Ray: pip install 'twinsim[scale]'") from None
    if max_live_usd is not None:
        raise ValueError("--max-live-usd needs one process to keep the spend: use the local executor with it")
    if not ray.is_initialized():
        ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    if setup.policy.goes_live and len(ray.nodes()) > 1 and not _shared(setup):
        raise ValueError("going live on a Ray cluster needs a store every node reaches: --store postgresql://…")
    if setup.recording is not None:
        setup.load()  # verified once here; workers get the loaded objects
    boxed = [ray.put(setup)]
    task = ray.remote(_run_task).options(max_retries=0)
    pending = {task.remote(boxed, init, run, *pair): pair for pair in pairs}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            yield pending.pop(ref), ray.get(ref)


def _shared(setup: Setup) -> bool:
    from simulator.pgstore import is_database_url

    return is_database_url(setup.cache_dir)
