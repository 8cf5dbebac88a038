"""The local suite against real git, pytest and swebench grading (no mocks)."""

import json
import re
import subprocess

import pytest
from swebench.harness.utils import load_swebench_dataset

from simulator.replay.evaluation import SwebenchEvaluator
from simulator.suite import expected_tests, list_suites, load_suite, materialize, suite_identity, suite_of

SUITE = load_suite("local")
EVALUATOR = SwebenchEvaluator(SUITE)
IDS = [inst["instance_id"] for inst in SUITE.instances]
GRADED = load_suite("graded")
LEVELS = {"easy", "medium", "hard"}
# `graded` shares local's instances (checked below) and has its own; each is graded once.
NEW_IDS = [inst["instance_id"] for inst in GRADED.instances if inst["instance_id"] not in IDS]
CASES = [(SUITE, iid) for iid in IDS] + [(GRADED, iid) for iid in NEW_IDS]
EVALUATORS = {SUITE.name: EVALUATOR, GRADED.name: SwebenchEvaluator(GRADED)}


def test_local_suite_is_listed_and_big_enough():
    assert "local" in list_suites()
    assert len(SUITE.instances) >= 12
    assert len(set(IDS)) == len(IDS)
    assert {inst["difficulty"] for inst in SUITE.instances} == LEVELS


def test_graded_suite_has_levels_and_shares_local(tmp_path):
    assert "graded" in list_suites()
    assert len(GRADED.instances) >= 40 and len(NEW_IDS) >= 24 and len(set(NEW_IDS)) == len(NEW_IDS)
    new = [GRADED.instance(iid) for iid in NEW_IDS]
    for level in LEVELS:  # at least a quarter of the new instances at each level
        assert 4 * sum(inst["difficulty"] == level for inst in new) >= len(new), level

    # The shared instances are local's byte for byte, with local's base files (not copies).
    for iid in IDS:
        assert GRADED.instance(iid) == SUITE.instance(iid)
        assert GRADED.repo_dir(iid) == SUITE.repo_dir(iid)
    assert all(GRADED.repo_dir(iid).parent == GRADED.path / "repos" for iid in NEW_IDS)
    materialize(GRADED, GRADED.instance(IDS[0]), tmp_path / "repo")  # checks the base commit
    assert suite_of(suite_identity(GRADED)) == GRADED  # what a recording's manifest names


@pytest.mark.parametrize("iid", NEW_IDS)
def test_graded_levels_follow_their_design(iid):
    # easy: the issue names the file to fix and the fix is one line; medium and hard: the issue
    # names no file to fix (only the symptom); medium fixes stay in one file.
    inst = GRADED.instance(iid)
    files = re.findall(r"^diff --git a/(\S+)", inst["patch"], flags=re.M)
    removed = re.findall(r"^-(?!--)", inst["patch"], flags=re.M)
    added = re.findall(r"^\+(?!\+\+)", inst["patch"], flags=re.M)
    named = [f for f in files if f in inst["problem_statement"]]
    if inst["difficulty"] == "easy":
        assert named == files and len(files) == len(removed) == len(added) == 1
    else:
        assert named == [] and (inst["difficulty"] == "hard" or len(files) == 1)


def test_swebench_loader_reads_instances_json():
    # load_swebench_dataset only treats a *str* ending in .json as a local file.
    dataset = load_swebench_dataset(str(SUITE.path / "instances.json"))
    assert [inst["instance_id"] for inst in dataset] == IDS
    assert all(isinstance(inst["FAIL_TO_PASS"], str) for inst in dataset)  # JSON-encoded, like HF


def test_load_suite_by_path_matches_by_name():
    assert load_suite(SUITE.path) == SUITE
    assert SUITE.instance(IDS[0])["instance_id"] == IDS[0]
    with pytest.raises(KeyError):
        SUITE.instance("nope")


@pytest.mark.parametrize("suite,iid", CASES, ids=[f"{s.name}-{i}" for s, i in CASES])
def test_materialize_gives_base_commit(suite, iid, tmp_path):
    inst = suite.instance(iid)
    repo = materialize(suite, inst, tmp_path / "repo")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    assert head.stdout.strip() == inst["base_commit"]
    # The tests that the test_patch adds are not in the base files.
    for test in expected_tests(inst, "FAIL_TO_PASS"):
        path, name = test.split("::")
        assert not (repo / path).exists() or f"def {name}(" not in (repo / path).read_text()


@pytest.mark.parametrize("suite,iid", CASES, ids=[f"{s.name}-{i}" for s, i in CASES])
def test_empty_patch_is_not_resolved(suite, iid):
    inst = suite.instance(iid)
    result = EVALUATORS[suite.name].evaluate(inst, "")
    assert result["patch_applied"] and not result["resolved"]
    f2p, p2p = expected_tests(inst, "FAIL_TO_PASS"), expected_tests(inst, "PASS_TO_PASS")
    assert result["FAIL_TO_PASS"] == {"success": [], "failure": f2p}
    assert result["PASS_TO_PASS"] == {"success": p2p, "failure": []}


@pytest.mark.parametrize("suite,iid", CASES, ids=[f"{s.name}-{i}" for s, i in CASES])
def test_gold_patch_is_resolved_reproducibly(suite, iid):
    inst, evaluator = suite.instance(iid), EVALUATORS[suite.name]
    first = evaluator.evaluate(inst, inst["patch"])
    assert first["resolved"] and first["status"] == "RESOLVED_FULL", first["log_excerpt"]
    assert evaluator.evaluate(inst, inst["patch"]) == first
    assert json.loads(json.dumps(first)) == first
    assert "/tmp/twinsim-eval" not in first["log_excerpt"]
    assert " in 0." not in first["log_excerpt"]


def test_garbage_patch_is_not_applied():
    inst = SUITE.instances[0]
    garbage = "diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n"
    result = EVALUATOR.evaluate(inst, garbage)
    assert not result["patch_applied"] and not result["resolved"]
    assert result["status"] == "RESOLVED_NO"
    assert "Patch Apply Failed" in result["log_excerpt"]


def test_spec_is_json_able():
    spec = EVALUATOR.spec
    assert json.loads(json.dumps(spec)) == spec
    assert spec["kind"] == "swebench" and spec["suite"] == "local"
