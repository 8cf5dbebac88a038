"""Approximate replay, explain-miss and coverage on the committed quickstart recording."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import twinsim

from simulator import keys
from simulator.cli import main
from simulator.recording import load_recording, save_recording
from simulator.replay.context import Miss
from simulator.replay.explain import explain
from simulator.replay.nearest import recorded

QUICKSTART = Path(__file__).resolve().parent.parent / "recordings" / "quickstart"
# Routers the quickstart never ran: every stateful built-in (knn needs a bank) and unrecorded seeds.
UNRECORDED = [
    "round-robin",
    "schedule:high=2,then=low",
    "escalate",
    "budget:usd=0.01",
    "cache-aware",
    "random:seed=3",
    "random:seed=4",
]
HOWS = {
    "response": {"nearest-prefix", "nearest-tier", "nearest-prefix-tier"},
    "observation": {"live-env"},
    "evaluation": {"live-eval"},
}


def manifest():
    return json.loads((QUICKSTART / "manifest.json").read_text())


def replay(*args, recording=QUICKSTART):
    return twinsim("replay", str(recording), "--json", "-", "-q", *args).stdout


def in_process(*args: str) -> str:
    """The CLI in this process (cheap: no interpreter start-up); fails on a non-zero exit."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def approximate(tmp_path_factory):
    """The table and the JSON report of one approximate replay of every always-router and the unrecorded routers."""
    routers = [f"always:{t['name']}" for t in manifest()["pool"]["tiers"]] + UNRECORDED
    path = tmp_path_factory.mktemp("approximate") / "report.json"
    table = twinsim(
        "replay",
        str(QUICKSTART),
        "-q",
        "--on-miss",
        "approximate",
        "--json",
        str(path),
        *[a for r in routers for a in ("-r", r)],
    ).stdout
    return {"table": table, "json": path.read_text(), "routers": routers}


def test_every_router_completes_under_approximate_with_zero_model_calls(approximate):
    report = json.loads(approximate["json"])
    assert {r["router"] for r in report["runs"]} >= set(UNRECORDED)
    for run in report["runs"]:
        assert run["status"] != "incomplete", run["reason"]
        assert run["live"] == {} and run["live_usd"] == 0
        assert run["fidelity"] == ("approximate" if run["approximations"] else "exact")
        steps = {s["step"]: s for s in run["steps"]}
        for a in run["approximations"]:
            assert a["how"] in HOWS[a["kind"]] and 0 <= a["similarity"] <= 1
            if a["kind"] == "response":  # the step served the recorded answer used instead
                assert (
                    steps[a["step"]]["source"] == "approximate"
                    and steps[a["step"]]["response"] == a["used"] != a["asked"]
                )
            else:
                assert a["used"] == a["asked"] and a["similarity"] == 1.0
        assert sum(s["source"] == "approximate" for s in run["steps"]) == sum(
            a["kind"] == "response" for a in run["approximations"]
        )
    for agg in report["routers"]:
        runs = [r for r in report["runs"] if r["router"] == agg["router"]]
        assert agg["exact"] + agg["approximate"] + agg["incomplete"] == agg["n"] == len(runs)
        assert agg["approximated_steps"] == sum(len({a["step"] for a in r["approximations"]}) for r in runs)
        assert agg["live_calls"] == 0
    assert sum(a["approximate"] for a in report["routers"]) > 0  # the unrecorded routers leave the recording


def test_approximate_replay_is_byte_identical_across_processes(approximate):
    assert (
        replay("--on-miss", "approximate", "--jobs", "2", *[a for r in approximate["routers"] for a in ("-r", r)])
        == approximate["json"]
    )


def test_recorded_routers_give_the_same_results_under_approximate_as_under_error():
    strict, approximate = json.loads(replay()), json.loads(replay("--on-miss", "approximate"))
    assert (strict["policy"], approximate["policy"]) == ("error", "approximate")
    assert strict["runs"] == approximate["runs"] and strict["routers"] == approximate["routers"]
    assert all(r["fidelity"] == "exact" for r in strict["runs"])


def test_the_table_marks_approximate_numbers(approximate):
    report = {a["router"]: a for a in json.loads(approximate["json"])["routers"]}
    for router, agg in report.items():
        row = next(line for line in approximate["table"].splitlines() if f" {router} " in line)
        assert ("≈" in row) == (agg["approximate"] > 0)
        assert f"/{agg['approximate']}/{agg['incomplete']} " in row  # exact/apx/inc
        note = (
            f"approximate {router}: {agg['approximate']} of {agg['n']} trajectories, {agg['approximated_steps']} steps"
        )
        assert (note in approximate["table"]) == (agg["approximate"] > 0)


# --- explain-miss -----------------------------------------------------------------------------


def deepest_recorded_path(rec, router="always:high"):
    """Messages of the longest recorded prefix a run of `router` was answered at."""
    store = rec.store()
    index = recorded(store)
    prefixes = [
        store.get("response", run.steps[-1].response)["prefix"]
        for run in rec.manifest.runs
        if run.router == router and run.steps
    ]
    return index, max((index.path(p) for p in prefixes), key=len)


def test_explain_miss_names_the_changed_observation_and_shows_the_character():
    rec = load_recording(QUICKSTART)
    index, path = deepest_recorded_path(rec)
    messages = index.messages(path)
    at = next(i for i, m in enumerate(messages) if i > 1 and m["role"] == "user" and len(m.get("content", "")) > 40)
    content = messages[at]["content"]
    middle = len(content) // 2
    perturbed = [
        *messages[:at],
        messages[at] | {"content": content[:middle] + "§" + content[middle + 1 :]},
        *messages[at + 1 :],
    ]
    chain = keys.PrefixChain()
    chain.extend_to(perturbed)
    asked = {"key": "k", "tier": "high", "sample": 0, "nodes": chain.nodes, "messages": [m for _, m in chain.blobs]}
    text = explain(index, Miss("response", "response miss", asked), rec.manifest.pool)
    assert f"the recording has the first {at} " in text
    assert f"first differing message: #{at} (user), field content" in text
    plus = [line for line in text.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert any("§" in line for line in plus)
    assert re.search(r"first difference at line \d+, column \d+: recorded .* vs asked '.*§", text)


def test_explain_miss_cli_on_a_recording_with_one_observation_changed(tmp_path):
    """Edit one character of a recorded observation (its key covers the action, not the output):
    always:high then sees a prompt nobody answered, and explain-miss shows where and what."""
    rec = load_recording(QUICKSTART)
    shown = lambda k: rec.objects[("observation", k)]["output"].get("output")
    run = next(r for r in rec.manifest.runs if r.router == "always:high" and any(map(shown, r.observations[:-1])))
    key = next(k for k in run.observations[:-1] if shown(k))  # an observation the agent queried after
    output = rec.objects[("observation", key)]["output"]
    original = output["output"]
    at = len(original) - 1 - min(len(original), 3000) // 2  # the template shows the last 3000 characters
    output["output"] = original[:at] + "§" + original[at + 1 :]
    save_recording(rec, tmp_path / "edited")
    text = twinsim("explain-miss", str(tmp_path / "edited"), "-r", "always:high", "-i", run.instance_id).stdout
    assert re.match(r"response miss at step \d+: tier high", text)
    assert re.search(r"first differing message: #\d+ \(user\), field content", text)
    assert "§" in text
    exact = in_process("explain-miss", QUICKSTART, "-r", "always:high", "-i", run.instance_id)
    assert exact.startswith("always:high on ") and "no miss" in exact


def test_explain_miss_rejects_unknown_routers_and_instances():
    for args, error in (
        (("-r", "always:top", "-i", manifest()["runs"][0]["instance_id"]), "unknown tier 'top'"),
        (("-r", "always:low", "-i", "nope"), "no instance 'nope'"),
    ):
        result = CliRunner().invoke(main, ["explain-miss", str(QUICKSTART), *args])
        assert (
            result.exit_code == 1 and error in result.stderr and isinstance(result.exception, SystemExit)
        )  # a message, no traceback


# --- coverage -----------------------------------------------------------------------------------


def test_coverage_shows_each_instance_tree_and_how_much_a_router_replays_exactly():
    m = manifest()
    instances = sorted({r["instance_id"] for r in m["runs"]})
    tiers = [t["name"] for t in m["pool"]["tiers"]]
    text = in_process("coverage", QUICKSTART, "-r", "always:high", "-r", UNRECORDED[0])
    blocks = re.findall(r"^(\S+): (\d+) prefix nodes, (\d+) branch points, max depth (\d+) messages", text, re.M)
    assert sorted(b[0] for b in blocks) == instances
    for _, nodes, branches, depth in blocks:
        assert int(nodes) >= int(depth) >= 2 and int(branches) < int(nodes)
    for tier in tiers:  # always:high was recorded with fan-out: every tier answered its first prefix
        rows = re.findall(rf"^    {tier} +(\S+)", text, re.M)
        assert len(rows) == len(instances) and "." not in rows
    assert f"always:high: {len(instances)}/{len(instances)} trajectories exact" in text
    probe = re.search(rf"^{re.escape(UNRECORDED[0])}: (\d+)/{len(instances)} trajectories exact", text, re.M)
    assert probe is not None
    strict = json.loads(in_process("replay", QUICKSTART, "--json", "-", "-q", "-r", UNRECORDED[0]))
    assert int(probe.group(1)) == sum(r["fidelity"] == "exact" for r in strict["runs"])
