"""Importing real mini-swe-agent runs: ten public SWE-bench Verified runs of Gemini 3 Pro under
mini-swe-agent 1.15.0 (tests/data/mini-swe-agent-v1-trajectories, MIT, unedited) become a recording
that replays every run exactly, with zero live calls."""

import gzip
import json
from pathlib import Path

import pytest
from conftest import twinsim

DATA = Path(__file__).resolve().parent / "data" / "mini-swe-agent-v1-trajectories"
TRAJS, LOGS = DATA / "trajs", DATA / "logs"
PRICING = "input=2,cache_read=0.2,cache_write=2,output=12"  # the run's OpenRouter prices
NO_USAGE_COST = "django__django-12143"  # billed through Portkey: no usage.cost, reasoning outside completion


def trajectory(instance_id: str) -> dict:
    return json.loads((TRAJS / f"{instance_id}.traj.json").read_text())


def report(instance_id: str) -> dict:
    return json.loads((LOGS / f"{instance_id}.report.json").read_text())


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("import") / "gemini"
    result = twinsim("import-trajectories", str(TRAJS), "--reports", str(LOGS), "--out", str(out), "--tier", "high",
                     "--pricing", PRICING, "--cache-rule", "fit")  # fmt: skip
    return {"out": out, "stdout": result.stdout, "stderr": result.stderr}


@pytest.fixture(scope="module")
def replayed(imported, tmp_path_factory):
    folder = tmp_path_factory.mktemp("trajectories")
    out = twinsim("replay", str(imported["out"]), "-r", "always:high", "--cost-model", "recorded", "--json", "-", "-q",
                  "--trajectories", str(folder)).stdout  # fmt: skip
    return {"report": json.loads(out), "folder": folder / "always_high"}


def test_every_run_replays_as_it_ran_with_zero_live_calls(replayed):
    runs = {r["instance_id"]: r for r in replayed["report"]["runs"]}
    assert sorted(runs) == sorted(p.name.removesuffix(".traj.json") for p in TRAJS.glob("*.traj.json"))
    for instance_id, run in runs.items():
        original = trajectory(instance_id)
        again = json.loads((replayed["folder"] / f"{instance_id}.traj.json").read_text())
        # 1.x ended with a user message holding the submission; 2.x's loop ends with an exit message.
        got = [("user" if m["role"] == "exit" else m["role"], m["content"]) for m in again["messages"]]
        assert got == [(m["role"], m["content"]) for m in original["messages"]], instance_id
        assert len(run["steps"]) == original["info"]["model_stats"]["api_calls"]
        assert run["exit_status"] == original["info"]["exit_status"] == "Submitted"
        assert again["info"]["submission"] == original["info"]["submission"]
        assert (run["status"] == "resolved") == report(instance_id)["resolved"]
        assert run["fidelity"] == "exact" and run["live"] == {} and run["misses"] == {}


def test_recorded_spend_is_the_runs_own_cost_where_the_provider_priced_each_call(replayed):
    assert replayed["report"]["cost_model"] == "recorded"
    for run in replayed["report"]["runs"]:
        instance_cost = trajectory(run["instance_id"])["info"]["model_stats"]["instance_cost"]
        if run["instance_id"] == NO_USAGE_COST:
            assert abs(run["spend_usd"] - instance_cost) > 1e-3  # another gateway's prices: not reproducible
        else:
            assert abs(run["spend_usd"] - instance_cost) <= 1e-6, run["instance_id"]


def test_the_import_checks_itself_and_names_what_it_cannot_reproduce(imported):
    assert "10 runs imported as tier high (10 replay exactly), 0 skipped" in " ".join(imported["stderr"].split())
    manifest = json.loads((imported["out"] / "manifest.json").read_text())
    (session,) = [s for s in manifest["made_with"]["sessions"] if "import" in s]
    checks = {c["instance_id"]: c for c in session["import"]["runs"]}
    assert all(c["exact"] for c in checks.values())
    assert [i for i, c in checks.items() if not c["reproducible"]] == [NO_USAGE_COST]
    assert (
        "no per-call cost" in checks[NO_USAGE_COST]["reason"] and "reasoning tokens" in checks[NO_USAGE_COST]["reason"]
    )
    # The cache model against the provider: the default rule under-prices, the fitted one is close.
    recorded = sum(c["recorded_usd"] for c in checks.values())
    assert sum(c["simulated_usd"] for c in checks.values()) < 0.7 * recorded
    assert abs(sum(c["fitted_usd"] for c in checks.values()) / recorded - 1) < 0.02
    rule = session["import"]["cache_rule"]
    assert (rule["block_tokens"], rule["min_tokens"]) == (2048, 2048) and 0.85 < rule["hit_rate"] < 0.92
    assert manifest["pool"]["tiers"][0]["cache"] == rule  # simulated replays use it from now on


def test_the_suite_and_grades_travel_with_the_recording(imported):
    manifest = json.loads((imported["out"] / "manifest.json").read_text())
    instances = {i["instance_id"]: i for i in manifest["suite"]["instances"]}
    original = trajectory("django__django-15127")
    assert instances["django__django-15127"]["problem_statement"] in original["messages"][1]["content"]
    assert (
        json.loads(instances["django__django-15127"]["FAIL_TO_PASS"])
        == report("django__django-15127")["tests_status"]["FAIL_TO_PASS"]["failure"]
    )
    assert manifest["agent"]["agent"]["agent_class"] == "mini-swe-agent-1"


def test_extending_in_parts_gives_the_same_objects(imported, tmp_path):
    files = sorted(TRAJS.glob("*.traj.json"))
    out = tmp_path / "parts"
    twinsim(
        "import-trajectories",
        *map(str, files[:4]),
        "--reports",
        str(LOGS),
        "--out",
        str(out),
        "--tier",
        "high",
        "--pricing",
        PRICING,
    )
    twinsim(
        "import-trajectories",
        *map(str, files[4:]),
        "--reports",
        str(LOGS),
        "--out",
        str(out),
        "--tier",
        "high",
        "--extend",
    )
    whole = gzip.decompress((imported["out"] / "objects.jsonl.gz").read_bytes())
    assert gzip.decompress((out / "objects.jsonl.gz").read_bytes()) == whole


def test_bad_files_are_named_and_skipped_or_refused(tmp_path):
    good = TRAJS / "django__django-16255.traj.json"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "truncated.traj.json").write_text(good.read_text()[:5000])
    (bad / "other.traj.json").write_text(json.dumps({"hello": "world"}))
    future = trajectory("django__django-16255") | {"trajectory_format": "mini-swe-agent-9"}
    (bad / "future.traj.json").write_text(json.dumps(future))
    shuffled = trajectory("django__django-16255")
    shuffled["messages"][3], shuffled["messages"][4] = shuffled["messages"][4], shuffled["messages"][3]
    (bad / "shuffled.traj.json").write_text(json.dumps(shuffled))
    args = ["import-trajectories", str(good), str(bad), "--reports", str(LOGS), "--tier", "high", "--pricing", PRICING]
    result = twinsim(*args, "--out", str(tmp_path / "rec"))
    said = " ".join(result.stderr.split())
    assert "truncated.traj.json: not a readable JSON file" in said
    assert "other.traj.json: not a mini-swe-agent trajectory" in said
    assert "trajectory format 'mini-swe-agent-9' is not one twinsim reads" in said
    assert "shuffled.traj.json: message 2 (assistant): 1.x alternates assistant and user messages" in said
    assert "a report of django__django-10999, which has no trajectory here" in said
    assert "1 runs imported as tier high (1 replay exactly), 13 skipped" in said
    before = (tmp_path / "rec" / "objects.jsonl.gz").read_bytes()
    refused = twinsim(*args, "--out", str(tmp_path / "rec"), "--extend", "--strict", check=False)
    assert refused.returncode != 0 and "nothing was written" in refused.stderr
    assert (tmp_path / "rec" / "objects.jsonl.gz").read_bytes() == before  # nothing lost
    again = twinsim(*args, "--out", str(tmp_path / "rec"), check=False)
    assert again.returncode != 0 and "add to it with --extend" in again.stderr


def test_no_credential_from_a_run_config_is_stored(tmp_path):
    run = trajectory("django__django-16255")
    run["info"]["config"]["model"]["model_kwargs"]["api_key"] = "sk-import-0123456789"
    run["info"]["config"]["environment"]["env"]["GITHUB_TOKEN"] = "ghp_import0123456789"
    (tmp_path / "django__django-16255.traj.json").write_text(json.dumps(run))
    out = tmp_path / "rec"
    twinsim(
        "import-trajectories",
        str(tmp_path / "django__django-16255.traj.json"),
        "--out",
        str(out),
        "--tier",
        "high",
        "--pricing",
        PRICING,
    )
    for blob in (gzip.decompress((out / "objects.jsonl.gz").read_bytes()), (out / "manifest.json").read_bytes()):
        assert b"sk-import" not in blob and b"ghp_import" not in blob


LOCAL = Path(__file__).resolve().parent / "data" / "mini-swe-agent-v2-local"  # mini-swe-agent 2.x's own runs


@pytest.fixture(scope="module")
def two_tiers(tmp_path_factory):
    """The same five instances run by two models (mini-swe-agent 2.x format), imported as two tiers of one pool."""
    out = tmp_path_factory.mktemp("tiers") / "local"
    twinsim("import-trajectories", str(LOCAL / "mid"), "--reports", str(LOCAL / "mid" / "reports"), "--out", str(out),
            "--tier", "mid", "--pricing", "input=0.3,cache_read=0.059,cache_write=0.3,output=1.2")  # fmt: skip
    twinsim("import-trajectories", str(LOCAL / "high"), "--out", str(out), "--tier", "high", "--extend",
            "--pricing", "input=5,cache_read=0.5,cache_write=6.25,output=25")  # fmt: skip
    return out


def test_each_tier_of_a_two_model_recording_replays_its_runs_exactly(two_tiers, tmp_path):
    manifest = json.loads((two_tiers / "manifest.json").read_text())
    assert [t["name"] for t in manifest["pool"]["tiers"]] == ["mid", "high"]
    report = json.loads(twinsim("replay", str(two_tiers), "--json", "-", "-q", "--trajectories", str(tmp_path)).stdout)
    assert {r["router"] for r in report["runs"]} == {"always:mid", "always:high"}
    for run in report["runs"]:
        tier = run["router"].removeprefix("always:")
        original = json.loads((LOCAL / tier / f"{run['instance_id']}.traj.json").read_text())
        again = json.loads((tmp_path / f"always_{tier}" / f"{run['instance_id']}.traj.json").read_text())
        assert [(m["role"], m["content"]) for m in again["messages"]] == [
            (m["role"], m["content"]) for m in original["messages"]
        ]
        assert (run["exit_status"], len(run["steps"]), run["fidelity"]) == (
            original["info"]["exit_status"],
            original["info"]["model_stats"]["api_calls"],
            "exact",
        )
    exits = {r["exit_status"] for r in report["runs"]}
    assert {"LimitsExceeded", "RepeatedFormatError"} <= exits  # 2.x's own ways to end, reproduced


def test_a_router_switching_tiers_replays_approximately_and_says_so(two_tiers):
    router = "round-robin:tiers=high/mid"
    strict = json.loads(twinsim("replay", str(two_tiers), "-r", router, "--json", "-", "-q").stdout)
    assert all(r["fidelity"] == "incomplete" for r in strict["runs"])  # the runs never switched
    approx = json.loads(
        twinsim("replay", str(two_tiers), "-r", router, "--on-miss", "approximate", "--json", "-", "-q").stdout
    )
    (aggregate,) = approx["routers"]
    assert aggregate["incomplete"] == 0 and aggregate["approximate"] == 5 and aggregate["approximated"]["response"] > 0
    for run in approx["runs"]:
        assert {s["tier"] for s in run["steps"]} == {"high", "mid"} or len(run["steps"]) == 1
        assert run["approximations"] and all(
            a["used"] != a["asked"] for a in run["approximations"] if a["kind"] == "response"
        )
