"""Replays for tests: `replay_router` replays a router on a recording and returns a `TwinsimReport` to assert on.

The router may be a spec (`always:high`, `module:attr`, `file.py:attr`, an URL), a
class, a router object or a function. What happens on a miss is the record mode,
in vcrpy's words:

| record mode    | miss policy  | the recording |
|----------------|--------------|---------------|
| `none`         | `error`      | read only; a trajectory that leaves it fails the test (`LeftRecording`) |
| `approximate`  | `approximate`| read only; runs that borrowed answers are marked approximate |
| `new_episodes` | `live`       | misses are run live and written into it |
| `all`          | `live`       | nothing is read from it: everything runs live and is written into it |

`none` is the default, so a test never spends money by accident; `new_episodes`
and `all` need the pool's models (and keys) to be reachable.
"""

import dataclasses
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from simulator.recording import export_store, session
from simulator.records import RunResult
from simulator.replay.context import LiveBudget, MissPolicy, Tally
from simulator.replay.setup import Setup
from simulator.report.aggregate import build_report
from simulator.routers.registry import factory_of, router_factory
from simulator.store import DiskStore

RECORD_MODES = {"none": "error", "approximate": "approximate", "new_episodes": "live", "all": "live"}


class LeftRecording(AssertionError):
    """A trajectory left the recording under record mode `none`: the message says where and why."""


@dataclass(frozen=True)
class TwinsimReport:
    """One router's replay: the `twinsim.report/*` dict, its runs (`RunResult`, with per-step `StepTrace`s),
    and the aggregates as attributes (`resolved`, `n`, `router_cost_usd`, `tier_mix`, ... see
    `report/aggregate.py`)."""

    report: dict
    runs: list[RunResult]

    @cached_property
    def aggregate(self) -> dict:
        (row,) = self.report["routers"]
        return row

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.aggregate:
            raise AttributeError(name)
        return self.aggregate[name]

    @property
    def resolved_instances(self) -> list[str]:
        return [r.instance_id for r in self.runs if r.status == "resolved"]

    def run(self, instance_id: str) -> RunResult:
        """The run of one instance."""
        for r in self.runs:
            if r.instance_id == instance_id:
                return r
        raise KeyError(f"no run of {instance_id!r}; ran: {', '.join(r.instance_id for r in self.runs)}")


def replay_router(
    recording: Path | str,
    router: Any,
    *,
    instances: Sequence[str] | None = None,
    record_mode: str = "none",
    label: str | None = None,
    sample: int = 0,
    cost_model: str = "simulated",
    max_live_usd: float | None = None,
) -> TwinsimReport:
    """Replay `router` on `instances` (default: those the recording ran) of RECORDING, one trajectory at a time."""
    from simulator.replay.engine import keep_run, replay_trajectory  # mini-swe-agent and litellm: only when used

    if record_mode not in RECORD_MODES:
        raise ValueError(f"unknown record mode {record_mode!r}; use one of {', '.join(RECORD_MODES)}")
    policy = MissPolicy.parse(RECORD_MODES[record_mode])
    setup = Setup.from_recording(recording, policy=policy, sample=sample, cost_model=cost_model)
    if isinstance(router, str):
        label, make_router = label or router, router_factory(router, setup.pool)
    else:
        label = label or getattr(router, "__name__", type(router).__name__)
        make_router = factory_of(router, label)
    instances = list(instances or setup.recorded_runs[1])
    for instance_id in instances:
        setup.suite.instance(instance_id)  # an unknown instance fails before any work
    with tempfile.TemporaryDirectory(prefix="twinsim-") as cache:
        if policy.goes_live:  # `all` reads nothing recorded; both write what they ran into the recording
            setup = dataclasses.replace(
                setup, cache_dir=Path(cache), recording=None if record_mode == "all" else setup.recording
            )
        store, budget, start = setup.open_store(), LiveBudget(max_live_usd), time.monotonic()
        results, misses = [], []
        for instance_id in instances:
            tally = Tally()
            result = replay_trajectory(
                setup, label, setup.suite.instance(instance_id), store, budget, tally, make_router=make_router
            )
            keep_run(setup, store, result)
            results.append(result)
            if record_mode == "none" and result.status == "incomplete" and tally.first_miss:
                misses.append((result, tally.first_miss))
        if policy.goes_live:
            command = shlex.join(["pytest", *sys.argv[1:]])
            export_store(DiskStore(cache), setup.manifest, recording, session(command, time.monotonic() - start))
    if misses:
        raise LeftRecording(_left(label, misses, store, setup))
    source = {"name": setup.manifest.name or Path(recording).name, "suite": setup.manifest.suite, "sample": sample}
    report = build_report(
        results, source=source, policy=str(policy), tiers=setup.pool.names, cost_model=setup.cost_model
    )
    return TwinsimReport(report, results)


def _left(label: str, misses: list, store, setup: Setup) -> str:
    """Where each trajectory left the recording: instance, step, and the first message that differs."""
    from simulator.replay.explain import explain
    from simulator.replay.nearest import recorded

    rec = recorded(store)
    blocks = []
    for result, miss in misses:
        step = len(result.steps) if miss.kind == "response" else max(len(result.steps) - 1, 0)
        blocks.append(
            f"{label} left the recording on {result.instance_id} at step {step} ({miss.kind} miss):\n"
            + explain(rec, miss, setup.pool)
        )
    return (
        f"record mode none (strict): {len(misses)} trajectory(ies) left the recording; no live call was made.\n"
        + "\n\n".join(blocks)
        + "\nRecord the new paths with --twinsim-record-mode=new_episodes, or replay with =approximate."
    )
