"""`--executor ray`: the (router × instance) pairs (or, for label, the instances) as Ray tasks on a local cluster
(2 CPUs) give the same report, sweep, bank and trials, byte for byte, as a local run."""

import importlib.util
import os
from pathlib import Path

import pytest
from conftest import twinsim
from pgserver import require

QUICKSTART = Path(__file__).resolve().parent.parent / "recordings" / "quickstart"


@pytest.fixture(scope="module")
def ray_address():
    if importlib.util.find_spec("ray") is None:
        require("Ray is not installed")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def _report(executor: str) -> str:
    from simulator.replay.engine import run_replays
    from simulator.replay.setup import Setup
    from simulator.report.aggregate import build_report, deterministic, report_json

    setup = Setup.from_recording(QUICKSTART, executor=executor)
    routers, instances = setup.recorded_runs
    results = run_replays(setup, routers, instances, show_progress=False)
    source = {"name": "quickstart", "suite": setup.manifest.suite, "pool": setup.pool.model_dump(mode="json")}
    return report_json(deterministic(build_report(results, source=source, policy="error", tiers=setup.pool.names)))


def test_the_quickstart_replayed_on_ray_is_byte_identical_to_a_local_replay(ray_address):
    on_ray, local = _report("ray"), _report("local")
    assert '"exact": 16' in on_ray and on_ray.count('"router": "always:high"') >= 16
    assert on_ray == local


def test_replay_executor_ray_from_the_command_line(ray_address, tmp_path):
    instances = ["-i", "twinsim__wordfreq-1", "-i", "twinsim__tempconv-1", "-i", "twinsim__slugger-1"]
    args = ["replay", str(QUICKSTART), "-r", "always:high", "-r", "random:seed=1", *instances, "-q", "--json"]
    twinsim(*args, str(tmp_path / "ray.json"), "--executor", "ray", env={"RAY_ADDRESS": ray_address})
    twinsim(*args, str(tmp_path / "local.json"))
    assert (tmp_path / "ray.json").read_bytes() == (tmp_path / "local.json").read_bytes()


def test_sweep_executor_ray_gives_the_local_sweep(ray_address, tmp_path):
    instances = ["-i", "twinsim__wordfreq-1", "-i", "twinsim__tempconv-1"]
    args = ["sweep", str(QUICKSTART), "-r", "escalate", "--grid", "patience=1,2", *instances, "-q", "--json"]
    twinsim(*args, str(tmp_path / "ray.json"), "--executor", "ray", env={"RAY_ADDRESS": ray_address})
    twinsim(*args, str(tmp_path / "local.json"))
    assert (tmp_path / "ray.json").read_bytes() == (tmp_path / "local.json").read_bytes()


def test_label_executor_ray_gives_the_local_bank_and_trials(ray_address, tmp_path):
    for executor in ("ray", "local"):
        out = tmp_path / executor
        out.mkdir()
        args = ["label", str(QUICKSTART), "--out", str(out / "bank.jsonl"), "--json", str(out / "trials.json")]
        twinsim(*args, "--executor", executor, env={"RAY_ADDRESS": ray_address})
    for name in ("bank.jsonl", "trials.json"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert (tmp_path / "ray" / "bank.jsonl").read_text().count("\n") == 6  # the quickstart's bank: six rows


def test_without_ray_the_error_says_what_to_install(tmp_path):
    # A Python path where `import ray` fails: a package named ray that raises ImportError.
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "__init__.py").write_text("raise ImportError('no ray here')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = twinsim("replay", str(QUICKSTART), "-r", "always:high", "-q", "--executor", "ray", check=False, env=env)
    assert result.returncode != 0 and "pip install 'twinsim[scale]'" in result.stderr
