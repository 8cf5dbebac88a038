"""CI for trajectory effects: the regression gate (`twinsim check`) and trajectory diffs (`twinsim diff`)."""

import json
from pathlib import Path

import pytest
from conftest import twinsim

from simulator.report.diff import trajectory_diff
from simulator.report.gate import Limits, gate, pick_router

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "recordings" / "quickstart"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """always:high as the baseline; always:high and always:low in one report."""
    d = tmp_path_factory.mktemp("ci")
    twinsim("replay", str(QUICKSTART), "-r", "always:high", "-r", "always:low", "--json", str(d / "both.json"), "-q")
    both = json.loads((d / "both.json").read_text())
    baseline = both | {"runs": [r for r in both["runs"] if r["router"] == "always:high"]}
    (d / "baseline.json").write_text(json.dumps(baseline))
    return d


def test_check_passes_the_baseline_router_replayed_on_the_recording(reports):
    result = twinsim("check", str(QUICKSTART), "--baseline", str(reports / "baseline.json"), "-r", "always:high", "-q")
    assert result.stdout.startswith("PASS always:high vs baseline always:high on 16 paired instances: resolved 1 → 1")
    assert "breach" not in result.stdout and "worse" not in result.stdout


def test_check_fails_a_router_that_resolves_less_and_names_the_instance(reports):
    args = ("--baseline", str(reports / "baseline.json"), "-r", "always:low", "--json", "-")
    result = twinsim("check", str(reports / "both.json"), *args, check=False)
    assert result.returncode == 1, result.stderr
    (c,) = json.loads(result.stdout)["checks"]
    assert (c["router"], c["baseline_router"], c["passed"]) == ("always:low", "always:high", False)
    assert c["resolved"] == {"baseline": 1, "current": 0} and c["resolved_drop"] == 1
    assert [w["instance_id"] for w in c["worse"]] == ["twinsim__wordfreq-1"]
    assert c["worse"][0]["status"] == ["resolved", "unresolved"]
    assert c["spend_increase_pct"] < 0  # cheaper: only the resolution breaches
    assert len(c["breaches"]) == 1 and c["breaches"][0].startswith("resolved dropped by 1")
    text = twinsim("check", str(reports / "both.json"), *args[:-2], check=False).stdout
    assert text.startswith("FAIL always:low") and "worse: twinsim__wordfreq-1: resolved → unresolved" in text
    loose = twinsim("check", str(reports / "both.json"), *args[:-2], "--max-resolved-drop", "1", check=False)
    assert loose.returncode == 0, loose.stdout


def test_check_fails_on_spend_and_bad_input_is_a_clear_error(reports):
    both = json.loads((reports / "both.json").read_text())
    low = both | {"runs": [r for r in both["runs"] if r["router"] == "always:low"]}
    (reports / "low.json").write_text(json.dumps(low))
    # A router is paired with the baseline's router of its name, else with its only one.
    spend = twinsim(
        "check", str(reports / "both.json"), "--baseline", str(reports / "low.json"), "-r", "always:high", check=False
    )
    assert spend.returncode == 1 and "breach: spend rose +" in spend.stdout and "+10% allowed" in spend.stdout
    bad = twinsim("check", str(reports / "both.json"), "--baseline", str(QUICKSTART / "manifest.json"), check=False)
    assert bad.returncode == 1 and "is not a twinsim JSON report" in bad.stderr
    unknown = twinsim(
        "check", str(reports / "both.json"), "--baseline", str(reports / "low.json"), "-r", "x", check=False
    )
    assert unknown.returncode == 1 and "router 'x' has no runs in the report" in unknown.stderr


def run(instance, status="unresolved", spend=0.01, router="r", responses=("a", "b"), tiers=None, reason=""):
    tiers = tiers or ["low"] * len(responses)
    return {
        "router": router,
        "instance_id": instance,
        "sample": 0,
        "status": status,
        "exit_status": "Submitted",
        "reason": reason,
        "spend_usd": spend,
        "steps": [{"step": i, "tier": t, "response": k} for i, (t, k) in enumerate(zip(tiers, responses))],
        "observations": [],
        "approximations": [],
    }


def report(*runs):
    return {
        "schema": "twinsim.report/3",
        "source": {},
        "policy": "error",
        "cost_model": "simulated",
        "runs": list(runs),
    }


def test_gate_counts_incomplete_as_not_resolved_and_missing_instances_as_a_breach():
    base = report(run("i1", "resolved"), run("i2", "resolved"), run("i3"))
    now = report(run("i1", "resolved"), run("i2", "incomplete", reason="response miss at step 1"))
    c = gate(now, "r", base, "r", Limits(max_resolved_drop=1, max_incomplete=1))
    assert c["resolved"] == {"baseline": 2, "current": 1} and c["n"] == 2
    assert c["missing"] == ["i3"] and not c["passed"]
    assert c["breaches"] == ["1 baseline instances not run: i3"]
    assert c["worse"][0]["why"] == ["no longer resolved", "incomplete: response miss at step 1"]
    strict = gate(now, "r", base, "r", Limits())
    assert len(strict["breaches"]) == 3  # resolved drop, incomplete, missing
    with pytest.raises(ValueError, match="this run with recorded"):
        gate(now | {"cost_model": "recorded"}, "r", base, "r", Limits())


def test_pick_router_by_name_then_the_only_one():
    two = report(run("i", router="a"), run("i", router="b"))
    assert pick_router(two, prefer="b") == "b" and pick_router(report(run("i", router="a")), prefer="b") == "a"
    with pytest.raises(ValueError, match="has 2 routers"):
        pick_router(two, prefer="c")
    with pytest.raises(ValueError, match="no runs"):
        pick_router(two, "c")


def test_diff_finds_the_first_divergent_step_or_none():
    same = trajectory_diff([run("i", responses=("x", "y"))], [run("i", responses=("x", "y"), router="s")], None)
    assert same["instances"][0]["same_trajectory"] and same["instances"][0]["divergence"] is None
    d = trajectory_diff(
        [run("i", responses=("x", "y", "z"), router="a"), run("j", router="a")],
        [run("i", responses=("x", "w"), tiers=["low", "high"], router="b"), run("k", router="b")],
        None,
    )
    (i,) = d["instances"]
    assert i["divergence"]["step"] == 1 and i["changed"] == {
        "outcome": False,
        "steps": True,
        "spend": False,
        "tiers": True,
    }
    assert (i["divergence"]["a"]["tier"], i["divergence"]["b"]["tier"]) == ("low", "high")
    assert (d["only_a"], d["only_b"]) == (["j"], ["k"])
    ended = trajectory_diff([run("i", responses=("x",))], [run("i", responses=("x", "y"))], None)["instances"][0]
    assert ended["divergence"]["step"] == 1 and ended["divergence"]["a"] is None


def test_diff_of_two_routers_names_each_instances_first_divergent_step(tmp_path):
    args = ("--recording", str(QUICKSTART), "-q")
    diff = json.loads(twinsim("diff", "always:high", "random:seed=1", *args, "--json", "-").stdout)
    assert len(diff["instances"]) == 16 and not diff["only_a"] and not diff["only_b"]
    for d in diff["instances"]:
        high, rand = d["tiers"]
        first_tier_change = next(i for i, (x, y) in enumerate(zip(high, rand)) if x != y)
        # The replay is deterministic: both runs share every step until the random router first picks another tier.
        assert d["divergence"]["step"] == first_tier_change, d["instance_id"]
        a, b = d["divergence"]["a"], d["divergence"]["b"]
        assert a["tier"] == "high" != b["tier"] and a["action"] and b["action"] and a["observation"]
    text = twinsim("diff", "always:high", "random:seed=1", *args, "--html", str(tmp_path / "diff.html")).stdout
    for d in diff["instances"]:
        assert f"{d['instance_id']}: " in text and f"first divergent step: {d['divergence']['step']}" in text
    html = (tmp_path / "diff.html").read_text()
    assert html.count("<details>") == 16 and "<script" not in html


def test_diff_of_two_reports_without_a_recording_shows_keys(reports):
    both = str(reports / "both.json")
    args = ("--router-a", "always:high", "--router-b", "always:low", "-i", "twinsim__wordfreq-1", "--json", "-")
    diff = json.loads(twinsim("diff", both, both, *args).stdout)
    (d,) = diff["instances"]
    assert d["status"] == ["resolved", "unresolved"] and d["divergence"]["step"] == 0
    assert d["divergence"]["a"]["action"].startswith("response ")
    missing = twinsim("diff", "always:high", both, check=False)
    assert missing.returncode == 1 and "name the recording with --recording" in missing.stderr
