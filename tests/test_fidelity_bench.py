"""bench/fidelity.py: the static baseline, the comparison and the README table; one live smoke run."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import INSTANCE, TEST_KEY, twinsim, write_agent, write_pool

from simulator.records import Approximation, RunResult, StepTrace

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("fidelity", ROOT / "bench" / "fidelity.py")
fidelity = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fidelity)


def run(router, instance, status, tiers, spend=0.0, approximated=()):
    steps = [
        StepTrace(
            step=i,
            tier=t,
            response=f"r{i}",
            source="hit",
            cost_usd=0,
            input_tokens=0,
            cache_read_tokens=0,
            cache_write_tokens=0,
            output_tokens=0,
        )
        for i, t in enumerate(tiers)
    ]
    approximations = [
        Approximation(kind="response", step=i, asked="a", used="u", similarity=0.5, how="nearest-prefix")
        for i in approximated
    ]
    return RunResult(
        router=router,
        instance_id=instance,
        status=status,
        exit_status="Submitted",
        steps=steps,
        spend_usd=spend,
        approximations=approximations,
    )


BASE = [
    run("always:low", "i1", "unresolved", ["low"] * 4, 0.01),
    run("always:low", "i2", "resolved", ["low"] * 2, 0.03),
    run("always:high", "i1", "resolved", ["high"] * 2, 0.20),
    run("always:high", "i2", "resolved", ["high"] * 2, 0.40),
    run("always:high", "i3", "unresolved", ["high"] * 2, 9.00),  # another instance: left out
    run("random:seed=1", "i1", "resolved", ["low", "high"], 0.1),
]


def test_the_baseline_weights_each_always_tier_by_the_routers_tier_mix():
    always = fidelity.always_outcomes(BASE, {"i1", "i2"})
    assert sorted(always) == ["high", "low"]
    assert always["low"]["resolved_rate"] == 0.5 and always["high"]["mean_spend_usd"] == pytest.approx(0.30)
    approximate = [
        run("random:seed=7", "i1", "resolved", ["low", "low", "low", "high"], approximated=[1, 2]),
        run("random:seed=7", "i2", "unresolved", ["low", "high", "high", "high"]),
    ]
    mix = fidelity.tier_mix(approximate)
    assert mix == {"high": 0.5, "low": 0.5}
    assert fidelity.baseline(mix, always) == pytest.approx({"resolved_rate": 0.75, "mean_spend_usd": 0.16})
    assert fidelity.baseline({"mid": 1.0}, always) is None  # no always:mid in the base: no baseline


def test_compare_reports_errors_against_the_live_truth_and_the_table_shows_them():
    always = fidelity.always_outcomes(BASE, {"i1", "i2"})
    approximate = [
        run("random:seed=7", "i1", "resolved", ["low", "high"], 0.10, approximated=[1]),
        run("random:seed=7", "i2", "unresolved", ["high"], 0.20),
    ]
    live = [
        run("random:seed=7", "i1", "resolved", ["low", "high", "high"], 0.30),
        run("random:seed=7", "i2", "resolved", ["high"], 0.20),
    ]
    row = fidelity.compare("random:seed=7", live, approximate, always)
    assert row["error"]["approximate"] == pytest.approx({"resolved_rate": 0.5, "mean_spend_usd": 0.1})
    # mix: low 1/3, high 2/3; always:low resolved 1/2 at 0.02 $, always:high 2/2 at 0.30 $
    assert row["baseline"] == pytest.approx({"resolved_rate": 0.5 / 3 + 2 / 3, "mean_spend_usd": 0.02 / 3 + 0.60 / 3})
    assert row["error"]["baseline"]["resolved_rate"] == pytest.approx(abs(row["baseline"]["resolved_rate"] - 1.0))
    assert (
        row["same_status"] == 0.5 and row["approximate"]["approximated_steps"] == 1 and row["approximate"]["exact"] == 1
    )
    no_baseline = fidelity.compare("r2", live, [run("r2", "i1", "resolved", ["mid"])], {})
    table = fidelity.markdown_table([row, no_baseline]).splitlines()
    assert len(table) == 4 and all(line.count("|") == table[0].count("|") for line in table)
    assert table[2].startswith("| random:seed=7 | 2 | 100% | 50% | 83% |") and "| 1/3 | 50% |" in table[2]
    assert table[3].count("| – |") == 2 and table[3].count(" / – |") == 2  # no always:mid, no baseline


@pytest.mark.live
def test_the_harness_end_to_end_on_the_smollm2_pool(tmp_path, smollm2_api_base):
    pool, agent = (
        write_pool(tmp_path / "pool.yaml", smollm2_api_base),
        write_agent(tmp_path / "agent.yaml", step_limit=2),
    )
    base = tmp_path / "base"
    twinsim(
        "record",
        "--pool",
        str(pool),
        "--agent",
        str(agent),
        "-r",
        "always:low",
        "-r",
        "always:high",
        "--fanout",
        "-i",
        INSTANCE,
        "--out",
        str(base),
        "--cache",
        str(tmp_path / "c"),
        "-q",
    )
    env = os.environ | {"TWINSIM_TEST_KEY": TEST_KEY}
    args = [
        sys.executable,
        str(ROOT / "bench" / "fidelity.py"),
        "--base",
        str(base),
        "--cache",
        str(tmp_path / "live"),
        "--out",
        str(tmp_path / "f.json"),
    ]
    refused = subprocess.run([*args, "--held-out", "always:low"], capture_output=True, text=True, env=env)
    assert refused.returncode != 0 and "must not be in the base recording" in refused.stderr
    done = subprocess.run(
        [*args, "--held-out", "random:seed=3"], capture_output=True, text=True, env=env, timeout=900, check=True
    )
    report = json.loads((tmp_path / "f.json").read_text())
    (row,) = report["rows"]
    assert row["router"] == "random:seed=3" and row["live"]["n"] == 1 and row["baseline"] is not None
    assert all(r["live"] == {} for r in report["runs"]["approximate"])  # the approximate side made no model call
    assert report["runs"]["live"][0]["live"].get("response", 0) > 0  # the ground truth was run live, from a fresh cache
    assert any(line.startswith("| random:seed=3 | 1 |") for line in done.stdout.splitlines())  # the README table
