"""Task suites in SWE-bench format, shipped as data, and grading with swebench's own code.

A suite is a folder: ``suite.yaml`` (metadata and test command), ``instances.json``
(SWE-bench instances) and ``repos/<instance_id>/`` (the files of each base project).
``materialize`` turns the base files into a git repo whose HEAD is the instance's
``base_commit`` on any machine, and ``SwebenchEvaluator`` grades a patch the way the
SWE-bench harness does, minus docker.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import swebench
import yaml
from pydantic import BaseModel
from swebench.harness.constants import (
    APPLY_PATCH_FAIL,
    APPLY_PATCH_PASS,
    END_TEST_OUTPUT,
    FAIL_TO_PASS,
    PASS_TO_PASS,
    START_TEST_OUTPUT,
    TEST_EXIT_CODE,
    TESTS_TIMEOUT,
    EvalType,
    ResolvedStatus,
)
from swebench.harness.grading import get_eval_tests_report, get_logs_eval, get_resolution_status
from swebench.types import SWEbenchInstance, TestSpec

SUITES_DIR = Path(__file__).parent / "suites"
EVAL_ROOT = Path("/tmp/twinsim-eval")
TEST_TIMEOUT_S = 120
LOG_EXCERPT_CHARS = 2000

# Everything that goes into a commit hash besides the tree, pinned so that
# materialized repos get the same base_commit on every machine.
_GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "twinsim",
    "GIT_AUTHOR_EMAIL": "twinsim@localhost",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "twinsim",
    "GIT_COMMITTER_EMAIL": "twinsim@localhost",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000",
}
# Same order as swebench.harness.run_evaluation.GIT_APPLY_CMDS (patch reads stdin here).
_APPLY_CMDS = [
    ["git", "apply", "--verbose"],
    ["git", "apply", "--verbose", "--3way"],
    ["git", "apply", "--verbose", "--reject"],
    ["patch", "--batch", "--forward", "--fuzz=5", "-p1"],
]
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


class Suite(BaseModel):
    name: str
    version: str
    description: str
    workdir: str  # template with {instance_id}
    test_command: str  # template with {test_files}
    path: Path
    instances: list[dict[str, Any]]

    def instance(self, instance_id: str) -> dict[str, Any]:
        for inst in self.instances:
            if inst["instance_id"] == instance_id:
                return inst
        raise KeyError(f"no instance {instance_id!r} in suite {self.name!r}")

    def workdir_for(self, instance_id: str) -> Path:
        return Path(self.workdir.format(instance_id=instance_id))

    def repo_dir(self, instance_id: str) -> Path:
        return self.path / "repos" / instance_id


def list_suites() -> list[str]:
    return sorted(p.parent.name for p in SUITES_DIR.glob("*/suite.yaml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name, or any suite folder by path."""
    builtin = SUITES_DIR / str(name_or_path)
    path = builtin if "/" not in str(name_or_path) and builtin.is_dir() else Path(name_or_path)
    meta = yaml.safe_load((path / "suite.yaml").read_text())
    instances = json.loads((path / "instances.json").read_text())
    required = SWEbenchInstance.__required_keys__
    for inst in instances:
        if missing := required - inst.keys():
            raise ValueError(f"{path}: instance {inst.get('instance_id')} lacks {sorted(missing)}")
    return Suite(**meta, path=path.resolve(), instances=instances)


def expected_tests(instance: dict, key: str) -> list[str]:
    """FAIL_TO_PASS / PASS_TO_PASS as a list; SWE-bench stores them JSON-encoded."""
    value = instance[key]
    return json.loads(value) if isinstance(value, str) else list(value)


def _git(repo: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    # Drop inherited GIT_* (e.g. GIT_DIR inside a hook) so only _GIT_ENV applies.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | _GIT_ENV
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, input=input, text=True, capture_output=True, check=True
    )


def commit_base_files(src: Path, dest: Path) -> str:
    """Replace `dest` with a one-commit git repo of the files in `src`; return HEAD."""
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.exists():
        shutil.rmtree(dest)
    # copyfile, not copy2: file modes (which git records) must not depend on the source.
    shutil.copytree(src, dest, ignore=_COPY_IGNORE, copy_function=shutil.copyfile)
    _git(dest, "-c", "init.defaultBranch=main", "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "Initial commit")
    return _git(dest, "rev-parse", "HEAD").stdout.strip()


def materialize(suite: Suite, instance: dict, path: Path | str | None = None) -> Path:
    """A fresh git repo of the instance's base files at `path` (default: the suite's workdir)."""
    iid = instance["instance_id"]
    dest = Path(path) if path is not None else suite.workdir_for(iid)
    head = commit_base_files(suite.repo_dir(iid), dest)
    if head != instance["base_commit"]:
        raise RuntimeError(f"{iid}: HEAD {head} != base_commit {instance['base_commit']}")
    return dest


@contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _patched_files(patch: str) -> list[str]:
    # The way SWE-bench derived test directives from a test_patch (new files included).
    return re.findall(r"^diff --git a/.* b/(.*)$", patch, flags=re.M)


def _apply_model_patch(repo: Path, patch: str) -> tuple[bool, str]:
    if not patch.strip():
        return True, f"{APPLY_PATCH_PASS}: empty patch\n"
    failures = ""
    for attempt, cmd in enumerate(_APPLY_CMDS):
        if attempt:
            # A failed attempt (notably --reject) leaves partial state behind.
            _git(repo, "reset", "-q", "--hard")
            _git(repo, "clean", "-q", "-fdx")
        proc = subprocess.run(cmd, cwd=repo, input=patch, text=True, capture_output=True)
        output = f"$ {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}"
        if proc.returncode == 0:
            return True, f"{APPLY_PATCH_PASS}:\n{output}"
        failures += output
    return False, f"{APPLY_PATCH_FAIL}:\n{failures}"


def _apply_test_patch(repo: Path, test_patch: str) -> list[str]:
    """Reset the files the test patch touches, as SWE-bench's eval script does, then apply it."""
    files = _patched_files(test_patch)
    tracked = _git(repo, "ls-files", "--", *files).stdout.split()
    if tracked:
        _git(repo, "checkout", "HEAD", "--", *tracked)
    for f in set(files) - set(tracked):  # a model patch may have created them
        (repo / f).unlink(missing_ok=True)
    _git(repo, "apply", "-", input=test_patch)
    return files


def _normalize_log(log: str, repo: Path) -> str:
    """Drop what varies between machines and runs: paths, plugin lists, durations."""
    log = log.replace(f"{repo}/", "").replace(str(repo), ".")
    log = re.sub(r"^(platform .*|(rootdir|configfile|plugins|cachedir): .*)\n", "", log, flags=re.M)
    return re.sub(r"^=+ (.*?) in [\d.]+s(?: \([\d:]+\))? =+$", r"=== \1 ===", log, flags=re.M)


class SwebenchEvaluator:
    """Grades a patch on a fresh checkout with swebench's log parser and resolution rules."""

    log_parser = "parse_log_pytest"

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
                argv, cwd=repo, env=env, text=True, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=TEST_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return f"{TESTS_TIMEOUT} after {TEST_TIMEOUT_S}s\n"
        # The markers and exit code line the SWE-bench eval script prints, for get_logs_eval.
        exit_line = f"{TEST_EXIT_CODE}: {proc.returncode}"
        return f"{START_TEST_OUTPUT}\n{proc.stdout}{END_TEST_OUTPUT}\n{exit_line}\n"

    def _parse(self, instance: dict, gold: dict[str, list[str]], log: str) -> dict[str, str]:
        """swebench's own log judgement: markers, error codes, exit code vs. parsed results."""
        # get_logs_eval only reads spec.log_parser, but wants a whole TestSpec and a log file.
        spec = TestSpec(
            instance_id=instance["instance_id"], image="", eval_script_list=[],
            repo=instance["repo"], version=instance["version"], **gold,
            log_parser=self.log_parser, eval_type=EvalType.PASS_AND_FAIL.value,
        )
        log_path = EVAL_ROOT / f"{instance['instance_id']}.log"
        log_path.write_text(log)
        status_map, valid = get_logs_eval(spec, str(log_path))
        return status_map if valid else {}
