"""Add one SWE-bench-format instance to a local suite folder, verified with swebench's own grading.

An instance is written as three sets of files: the base project (with the bug), the source
files the gold fix changes, and the test files the test patch changes or adds. From them this
writes `repos/<instance_id>/`, derives `patch` and `test_patch` with git, takes FAIL_TO_PASS and
PASS_TO_PASS from a pytest run of the test patch's files on the base project (parsed with
swebench's parser), and refuses the instance unless swebench grades the gold patch resolved and
the empty patch not. Usage from a script: `add_instance(Path("simulator/suites/graded"), spec)`.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from simulator.replay.evaluation import SwebenchEvaluator
from simulator.suite import commit_base_files, git, load_suite

PYPROJECT = """[project]
name = "{name}"
version = "{version}"
description = "{description}"
requires-python = ">=3.9"

[tool.pytest.ini_options]
pythonpath = ["."]
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _diff(repo: Path, files: dict[str, str]) -> str:
    """The patch from HEAD to HEAD with `files` written; the repo is reset afterwards."""
    _write(repo, files)
    git(repo, "add", "-A")
    patch = git(repo, "diff", "--cached", "HEAD").stdout
    git(repo, "reset", "-q", "--hard")
    return patch


def _pytest_statuses(repo: Path, test_files: list[str]) -> dict[str, str]:
    from swebench.harness.log_parsers.python import parse_log_pytest

    cmd = [sys.executable, "-m", "pytest", "-rA", "--tb=short", "-p", "no:cacheprovider", *test_files]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    return parse_log_pytest(proc.stdout, None)


def add_instance(suite_dir: Path, spec: dict) -> dict:
    """spec: instance_id, difficulty, problem_statement, created_at, version, description,
    base / gold / tests (path -> text). Returns the instance, also written to instances.json."""
    iid = spec["instance_id"]
    name = iid.split("__")[1].rsplit("-", 1)[0]
    base = {"pyproject.toml": PYPROJECT.format(name=name, version=spec["version"], description=spec["description"])}
    repo_dir = suite_dir / "repos" / iid
    shutil.rmtree(repo_dir, ignore_errors=True)
    _write(repo_dir, base | spec["base"])
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / iid
        base_commit = commit_base_files(repo_dir, repo)
        patch, test_patch = _diff(repo, spec["gold"]), _diff(repo, spec["tests"])
        _write(repo, spec["tests"])
        before = _pytest_statuses(repo, sorted(spec["tests"]))
        _write(repo, spec["gold"])
        after = _pytest_statuses(repo, sorted(spec["tests"]))
    f2p = [t for t, s in before.items() if s != "PASSED"]
    p2p = [t for t, s in before.items() if s == "PASSED"]
    if not f2p or any(after.get(t) != "PASSED" for t in before) or set(after) != set(before):
        raise ValueError(f"{iid}: before {before}, after the gold patch {after}")
    instance = {
        "repo": f"twinsim/{name}",
        "instance_id": iid,
        "base_commit": base_commit,
        "patch": patch,
        "test_patch": test_patch,
        "problem_statement": spec["problem_statement"],
        "hints_text": "",
        "created_at": spec["created_at"],
        "version": spec["version"],
        "FAIL_TO_PASS": json.dumps(f2p),
        "PASS_TO_PASS": json.dumps(p2p),
        "environment_setup_commit": base_commit,
        "difficulty": spec["difficulty"],
    }
    index = suite_dir / "instances.json"
    instances = [i for i in json.loads(index.read_text()) if i["instance_id"] != iid] + [instance]
    index.write_text(json.dumps(sorted(instances, key=lambda i: i["instance_id"]), indent=2) + "\n")
    evaluator = SwebenchEvaluator(load_suite(suite_dir))
    if not evaluator.evaluate(instance, patch)["resolved"] or evaluator.evaluate(instance, "")["resolved"]:
        raise ValueError(f"{iid}: swebench does not grade the gold patch resolved and the empty one not")
    return instance
