"""The fast path of strict replay is invisible in results: every run of every committed recording (the
quickstart, and the runs in tests/data imported as recordings, 1.x and 2.x agents) gives the same JSON
report byte for byte through the agent loop, while the fast path learns, and through the fast path; a
router that leaves the learned paths hands over to the agent loop and is asked once per step."""

from pathlib import Path

import pytest

from simulator.config import Pricing
from simulator.imports.importer import import_runs
from simulator.records import RunResult
from simulator.replay import engine
from simulator.replay.context import LiveBudget
from simulator.replay.engine import run_replays
from simulator.replay.setup import Setup
from simulator.report.aggregate import build_report, deterministic, report_json

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
PRICING = Pricing(input=2, cache_read=0.2, cache_write=2, output=12)
V1, V2 = DATA / "mini-swe-agent-v1-trajectories", DATA / "mini-swe-agent-v2-local"


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("recordings")
    import_runs([V1 / "trajs"], out / "v1", tier="high", pricing=PRICING, reports_dir=V1 / "logs")
    import_runs([V2 / "mid"], out / "v2", tier="mid", pricing=PRICING, reports_dir=V2 / "mid" / "reports")
    import_runs([V2 / "high"], out / "v2", tier="high", pricing=PRICING, extend=True)
    return {"quickstart": ROOT / "recordings" / "quickstart", "v1": out / "v1", "v2": out / "v2"}


def report(setup: Setup, routers: list[str], instances: list[str]) -> str:
    results = run_replays(setup, routers, instances, show_progress=False)
    return report_json(deterministic(build_report(results, source={}, policy=str(setup.policy))))


@pytest.mark.parametrize("name", ["quickstart", "v1", "v2"])
def test_every_run_replays_byte_identical_through_the_fast_path(recordings, name):
    setup = Setup.from_recording(recordings[name])
    routers, instances = setup.recorded_runs
    if not routers:  # an import keeps no runs in its manifest: each tier's runs
        routers = [f"always:{tier.name}" for tier in setup.pool.tiers]
        instances = [instance["instance_id"] for instance in setup.suite.instances]
    agent_loop = report(Setup.from_recording(recordings[name], fast_path=False), routers, instances)
    assert not setup.load().transitions
    learning = report(setup, routers, instances)
    assert setup.load().transitions  # learned from the agent loop
    fast = report(setup, routers, instances)
    walker = engine._worker["fast"]
    assert walker.walked == len(routers) * len(instances) and walker.handed_over == 0
    assert fast == learning == agent_loop


def test_routers_that_leave_the_recording_give_the_same_report(recordings):
    """Unrecorded routers: strict replays end incomplete at their first miss, on both paths alike."""
    path = recordings["quickstart"]
    setup = Setup.from_recording(path)
    routers, instances = ["random:seed=3", "escalate", "round-robin", *setup.recorded_runs[0]], setup.recorded_runs[1]
    agent_loop = report(Setup.from_recording(path, fast_path=False), routers, instances)
    assert report(setup, routers, instances) == agent_loop
    assert report(setup, routers, instances) == agent_loop
    assert '"fidelity": "incomplete"' in agent_loop


class Switching:
    """Follows `high` for two steps, then `low`; remembers every step it was asked about."""

    asked: list[tuple[str, int]] = []

    def select(self, ctx):
        Switching.asked.append((ctx.instance_id, ctx.step_index))
        return "high" if ctx.step_index < 2 else "low"


def test_a_handover_asks_the_router_once_per_step_and_changes_nothing(recordings):
    setup = Setup.from_recording(recordings["quickstart"])
    instances = setup.recorded_runs[1]
    run_replays(setup, ["always:high"], instances, show_progress=False)  # learn always:high's paths
    results = {}
    for fast_path in (False, True):
        engine._init_worker(
            setup if fast_path else Setup.from_recording(setup.recording, fast_path=False), LiveBudget()
        )
        engine._worker["factories"]["switching"] = Switching
        Switching.asked = []
        results[fast_path] = [engine._run_one("switching", i) for i in instances]
        asked = Switching.asked
        assert len(asked) == len(set(asked)), "a step was asked twice"
        for run in results[fast_path]:
            steps = sorted(s for i, s in asked if i == run.instance_id)
            assert steps == list(range(len(steps))) and len(steps) - len(run.steps) in (0, 1)
    walker = engine._worker["fast"]
    assert walker.handed_over > 0  # it did leave the learned paths
    dump = lambda runs: [RunResult.model_dump(r, mode="json") for r in runs]
    assert dump(results[True]) == dump(results[False])
