"""Grading: a final patch's evaluation, served from the store or computed with swebench's own rules.

`cached_evaluate` looks the grade of (evaluator, instance tests, patch) up; on a miss
the policy decides: `live` grades and stores it, `approximate` grades it here without
storing it (`live-eval`) or, when the evaluator cannot run here, takes the grade of the
nearest recorded patch (`estimated`). `SwebenchEvaluator` grades the way the SWE-bench
harness does, minus docker: a fresh checkout, the model patch, the test patch, then
swebench's log parser and resolution rules (imported only when grading).
"""

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import swebench

from simulator import keys
from simulator.records import EvaluationRecord
from simulator.replay.context import Incomplete, ReplayContext
from simulator.replay.nearest import recorded
from simulator.suite import Suite, expected_tests, git, locked, materialize

EVAL_ROOT = Path("/tmp/twinsim-eval")
TEST_TIMEOUT_S = 120
LOG_EXCERPT_CHARS = 2000


class Evaluator(Protocol):
    """Grades a final patch for an instance."""

    spec: dict
    runnable: bool
    """Can it grade here? If not, an approximate replay estimates a missing grade instead."""

    def evaluate(self, instance: dict, patch: str) -> dict:
        """Return at least {"resolved": bool}; the rest (test results, log excerpt) is kept as is."""
        ...


def evaluation_spec(evaluator: Evaluator, instance: dict) -> dict:
    """What decides a grade: the evaluator, and the instance's tests too."""
    tests = [instance.get(k) for k in ("base_commit", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS")]
    return evaluator.spec | {"tests": keys.sha256(keys.canonical_json(tests))}


def cached_evaluate(ctx: ReplayContext, evaluator: Evaluator, instance: dict, patch: str) -> tuple[str, dict]:
    """The evaluation key and record of (evaluator, instance, patch): recorded, or graded now under
    `live` (stored) or `approximate` (not stored; estimated from the nearest recorded patch when the
    evaluator cannot run here)."""
    store, tally, policy = ctx.store, ctx.tally, ctx.policy.evaluation
    step = len(ctx.steps)  # the step count at submission, for the approximation
    spec = evaluation_spec(evaluator, instance)
    key = keys.evaluation_key(spec, instance["instance_id"], patch)
    record = store.get("evaluation", key)
    if record is not None:
        tally.hits["evaluation"] += 1
        return key, record
    reason = f"evaluation miss: the final patch of {instance['instance_id']} was never graded (key {key[:12]}…)"
    tally.miss(
        "evaluation", policy, reason, {"key": key, "spec": spec, "instance_id": instance["instance_id"], "patch": patch}
    )
    if policy == "approximate" and not evaluator.runnable:
        choice = recorded(store).nearest_evaluation(spec, instance["instance_id"], patch)
        if choice is None:
            raise Incomplete(f"{reason}; no graded patch of this instance to estimate it from")
        tally.approximate("evaluation", step, key, choice.key, choice.similarity, choice.how)
        return choice.key, store.get("evaluation", choice.key)
    start = time.monotonic()
    result = evaluator.evaluate(instance, patch)
    record = EvaluationRecord(
        evaluator=spec,
        instance_id=instance["instance_id"],
        patch=keys.normalize_patch(patch),
        resolved=bool(result["resolved"]),
        result=result,
        duration_ms=round((time.monotonic() - start) * 1000),
    ).model_dump(mode="json")
    if policy == "approximate":
        tally.approximate("evaluation", step, key, key, 1.0, "live-eval")
        return key, record
    store.put("evaluation", key, record)
    tally.live["evaluation"] += 1
    return key, record


# Same order as swebench.harness.run_evaluation.GIT_APPLY_CMDS (patch reads stdin here).
_APPLY_CMDS = [
    ["git", "apply", "--verbose"],
    ["git", "apply", "--verbose", "--3way"],
    ["git", "apply", "--verbose", "--reject"],
    ["patch", "--batch", "--forward", "--fuzz=5", "-p1"],
]


def _patched_files(patch: str) -> list[str]:
    # The way SWE-bench derived test directives from a test_patch (new files included).
    return re.findall(r"^diff --git a/.* b/(.*)$", patch, flags=re.M)


def _apply_model_patch(repo: Path, patch: str) -> tuple[bool, str]:
    from swebench.harness.constants import APPLY_PATCH_FAIL, APPLY_PATCH_PASS

    if not patch.strip():
        return True, f"{APPLY_PATCH_PASS}: empty patch\n"
    failures = ""
    for attempt, cmd in enumerate(_APPLY_CMDS):
        if attempt:
            # A failed attempt (notably --reject) leaves partial state behind.
            git(repo, "reset", "-q", "--hard")
            git(repo, "clean", "-q", "-fdx")
        proc = subprocess.run(cmd, cwd=repo, input=patch, text=True, capture_output=True)
        output = f"$ {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}"
        if proc.returncode == 0:
            return True, f"{APPLY_PATCH_PASS}:\n{output}"
        failures += output
    return False, f"{APPLY_PATCH_FAIL}:\n{failures}"


def _apply_test_patch(repo: Path, test_patch: str) -> list[str]:
    """Reset the files the test patch touches, as SWE-bench's eval script does, then apply it."""
    files = _patched_files(test_patch)
    tracked = git(repo, "ls-files", "--", *files).stdout.split()
    if tracked:
        git(repo, "checkout", "HEAD", "--", *tracked)
    for f in set(files) - set(tracked):  # a model patch may have created them
        (repo / f).unlink(missing_ok=True)
    git(repo, "apply", "-", input=test_patch)
    return files


def _normalize_log(log: str, repo: Path) -> str:
    """Drop what varies between machines and runs: paths, plugin lists, durations."""
    log = log.replace(f"{repo}/", "").replace(str(repo), ".")
    log = re.sub(r"^(platform .*|(rootdir|configfile|plugins|cachedir): .*)\n", "", log, flags=re.M)
    return re.sub(r"^=+ (.*?) in [\d.]+s(?: \([\d:]+\))? =+$", r"=== \1 ===", log, flags=re.M)


def evaluator_for(suite: Suite, grade_here: bool = True) -> Evaluator:
    """The suite's grader: swebench's rules here, or only the harness reports recorded with imported runs.
    `grade_here=False` (`--no-env-runs`): it never runs the tests here, so a missing grade is estimated."""
    evaluator = SwebenchEvaluator(suite) if suite.evaluator == "swebench" else HarnessReports(suite)
    evaluator.runnable = evaluator.runnable and grade_here
    return evaluator


class HarnessReports:
    """The grades of an imported recording: the SWE-bench harness reports that came with its runs.
    Nothing can be graded here (no harness, no repository): a patch without a report is a miss."""

    runnable = False

    def __init__(self, suite: Suite):
        self.suite = suite

    @property
    def spec(self) -> dict[str, str]:
        return {"kind": "swebench-harness-report", "suite": self.suite.name}

    def evaluate(self, instance: dict, patch: str) -> dict[str, Any]:
        raise RuntimeError(f"{instance['instance_id']}: this patch has no harness report, and it cannot be graded here")


class SwebenchEvaluator:
    """Grades a patch on a fresh checkout with swebench's log parser and resolution rules."""

    log_parser = "parse_log_pytest"
    runnable = True

    def __init__(self, suite: Suite):
        self.suite = suite

    @property
    def spec(self) -> dict[str, str]:
        return {
            "kind": "swebench",
            "suite": self.suite.name,
            "suite_version": self.suite.version,
            "swebench": swebench.__version__,
        }

    def evaluate(self, instance: dict, patch: str) -> dict[str, Any]:
        from swebench.harness.constants import FAIL_TO_PASS, PASS_TO_PASS, ResolvedStatus
        from swebench.harness.grading import get_eval_tests_report, get_resolution_status

        iid = instance["instance_id"]
        gold = {key: expected_tests(instance, key) for key in (FAIL_TO_PASS, PASS_TO_PASS)}
        repo = EVAL_ROOT / iid
        with locked(EVAL_ROOT / f"{iid}.lock"):
            materialize(self.suite, instance, repo)
            applied, log = _apply_model_patch(repo, patch)
            status_map: dict[str, str] = {}
            if applied:
                log += self._run_tests(repo, _apply_test_patch(repo, instance["test_patch"]))
                status_map = self._parse(instance, gold, log)
            log = _normalize_log(log, repo)
        report = get_eval_tests_report(status_map, gold)
        status = get_resolution_status(report)
        return {
            "resolved": status == ResolvedStatus.FULL.value,
            "status": status,
            "patch_applied": applied,
            FAIL_TO_PASS: report[FAIL_TO_PASS],
            PASS_TO_PASS: report[PASS_TO_PASS],
            "log_excerpt": log[-LOG_EXCERPT_CHARS:],
        }

    def _run_tests(self, repo: Path, test_files: list[str]) -> str:
        from swebench.harness.constants import END_TEST_OUTPUT, START_TEST_OUTPUT, TEST_EXIT_CODE, TESTS_TIMEOUT

        argv = shlex.split(self.suite.test_command.format(test_files=shlex.join(test_files)))
        if argv[0] == "python":
            argv[0] = sys.executable
        # Hermetic, reproducible output: no third-party plugins, colours or user addopts.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTHONPATH")}
        env |= {
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PY_COLORS": "0",
            "COLUMNS": "80",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        try:
            proc = subprocess.run(
                argv,
                cwd=repo,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=TEST_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return f"{TESTS_TIMEOUT} after {TEST_TIMEOUT_S}s\n"
        # The markers and exit code line the SWE-bench eval script prints, for get_logs_eval.
        exit_line = f"{TEST_EXIT_CODE}: {proc.returncode}"
        return f"{START_TEST_OUTPUT}\n{proc.stdout}{END_TEST_OUTPUT}\n{exit_line}\n"

    def _parse(self, instance: dict, gold: dict[str, list[str]], log: str) -> dict[str, str]:
        """swebench's own log judgement: markers, error codes, exit code vs. parsed results."""
        from swebench.harness.constants import EvalType
        from swebench.harness.grading import get_logs_eval
        from swebench.types import TestSpec

        # get_logs_eval only reads spec.log_parser, but wants a whole TestSpec and a log file.
        spec = TestSpec(
            instance_id=instance["instance_id"],
            image="",
            eval_script_list=[],
            repo=instance["repo"],
            version=instance["version"],
            **gold,
            log_parser=self.log_parser,
            eval_type=EvalType.PASS_AND_FAIL.value,
        )
        log_path = EVAL_ROOT / f"{instance['instance_id']}.log"
        log_path.write_text(log)
        status_map, valid = get_logs_eval(spec, str(log_path))
        return status_map if valid else {}
