"""Task suites in SWE-bench format, shipped as data, and their repositories at a fixed commit.

A suite is a folder: ``suite.yaml`` (metadata and test command), ``instances.json``
(SWE-bench instances) and ``repos/<instance_id>/`` (the files of each base project).
``materialize`` turns the base files into a git repo whose HEAD is the instance's
``base_commit`` on any machine (grading is `simulator.replay.evaluation`).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from simulator import keys

SUITES_DIR = Path(__file__).parent / "suites"

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
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


class Suite(BaseModel):
    name: str
    version: str
    description: str
    workdir: str  # template with {instance_id}
    test_command: str = ""  # template with {test_files}
    path: Path | None = None
    """The suite folder with `repos/`; None for a suite embedded in a recording (imported runs)."""
    repos_from: str | None = None
    """A built-in suite whose `repos/` holds the base files of the instances this one shares with it."""
    evaluator: Literal["swebench", "reports"] = "swebench"
    """How patches are graded: `swebench` here with swebench's rules, `reports` only from recorded harness reports."""
    instances: list[dict[str, Any]]

    def instance(self, instance_id: str) -> dict[str, Any]:
        for inst in self.instances:
            if inst["instance_id"] == instance_id:
                return inst
        raise KeyError(f"no instance {instance_id!r} in suite {self.name!r}")

    def workdir_for(self, instance_id: str) -> Path:
        return Path(self.workdir.format(instance_id=instance_id))

    def repo_dir(self, instance_id: str) -> Path:
        own = self.path / "repos" / instance_id
        if own.is_dir() or self.repos_from is None:
            return own
        return SUITES_DIR / self.repos_from / "repos" / instance_id

    @property
    def has_repos(self) -> bool:
        """Can an instance's repository be materialized here (to run actions, to grade)?"""
        return self.path is not None


def list_suites() -> list[str]:
    return sorted(p.parent.name for p in SUITES_DIR.glob("*/suite.yaml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name, or any suite folder by path."""
    builtin = SUITES_DIR / str(name_or_path)
    path = builtin if "/" not in str(name_or_path) and builtin.is_dir() else Path(name_or_path)
    meta = yaml.safe_load((path / "suite.yaml").read_text())
    instances = json.loads((path / "instances.json").read_text())
    from swebench.types import SWEbenchInstance  # the instance fields SWE-bench requires

    required = SWEbenchInstance.__required_keys__
    for inst in instances:
        if missing := required - inst.keys():
            raise ValueError(f"{path}: instance {inst.get('instance_id')} lacks {sorted(missing)}")
    return Suite(**meta, path=path.resolve(), instances=instances)


def expected_tests(instance: dict, key: str) -> list[str]:
    """FAIL_TO_PASS / PASS_TO_PASS as a list; SWE-bench stores them JSON-encoded."""
    value = instance[key]
    return json.loads(value) if isinstance(value, str) else list(value)


def git(repo: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    # Drop inherited GIT_* (e.g. GIT_DIR inside a hook) so only _GIT_ENV applies.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | _GIT_ENV
    return subprocess.run(["git", *args], cwd=repo, env=env, input=input, text=True, capture_output=True, check=True)


def commit_base_files(src: Path, dest: Path) -> str:
    """Replace `dest` with a one-commit git repo of the files in `src`; return HEAD."""
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.exists():
        shutil.rmtree(dest)
    # copyfile, not copy2: file modes (which git records) must not depend on the source.
    shutil.copytree(src, dest, ignore=_COPY_IGNORE, copy_function=shutil.copyfile)
    git(dest, "-c", "init.defaultBranch=main", "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "Initial commit")
    return git(dest, "rev-parse", "HEAD").stdout.strip()


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


def suite_identity(suite: Suite) -> dict:
    """What a manifest records of its suite: name, version and a hash of the instances for an installed
    suite; the whole suite for an embedded one (it travels with the recording)."""
    identity = {
        "name": suite.name,
        "version": suite.version,
        "sha256": keys.sha256(keys.canonical_json(suite.instances)),
    }
    if suite.has_repos:
        return identity
    return identity | suite.model_dump(mode="json", include={"description", "workdir", "evaluator", "instances"})


def suite_of(identity: dict) -> Suite:
    """The suite a manifest names: embedded in it, or installed here (and then the same one as recorded)."""
    if "instances" in identity:
        suite = Suite.model_validate({k: v for k, v in identity.items() if k != "sha256"})
    else:
        suite = load_suite(identity["name"])
    if suite_identity(suite) != identity:
        raise ValueError(
            f"suite {suite.name!r} here ({suite.version}) differs from the one recorded ({identity.get('version')})"
        )
    return suite
