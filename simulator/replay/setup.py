"""Setup: everything a worker needs to replay trajectories, and the one way to build it from a recording."""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from simulator.config import DEFAULT_SELECT_TIMEOUT_SEC, AgentConfig, Pool
from simulator.recording import Recording, RecordingError, load_recording, read_manifest
from simulator.records import Manifest
from simulator.replay.context import MissPolicy
from simulator.replay.environment import RelocatedEnvironment
from simulator.routers.protocol import RunConfig
from simulator.store import LayeredStore, Store, open_store
from simulator.suite import Suite, materialize, suite_of


@dataclass
class Setup:
    """Pool, agent, suite, miss policy and where objects come from (picklable: sent to worker processes)."""

    pool: Pool
    agent: AgentConfig
    suite: Suite
    policy: MissPolicy = field(default_factory=MissPolicy)
    recording: Path | None = None
    cache_dir: Path | str | None = None
    """Where live misses go: a diskcache folder or a `postgresql://` URL."""
    sample: int = 0
    fanout: bool = False
    cost_model: str = "simulated"
    """How replayed steps are priced: `simulated` (the prompt-cache simulator) or `recorded` (the served
    response's provider-reported usage)."""
    trajectories: Path | None = None
    """Where the agent writes each replayed trajectory in mini-swe-agent's own format (None: nowhere)."""
    fast_path: bool = True
    """Walk transitions learned earlier in this process where a strict replay allows (`replay.fastpath`)."""
    executor: str = "local"
    """What runs the (router × instance) pairs: `local` (processes of this machine) or `ray` (a Ray cluster)."""
    env_runs: bool = True
    """May actions and grades the recording lacks be computed here under `approximate` (each trajectory in a
    throwaway copy of its repository)? Off (`--no-env-runs`): they are approximated from recorded ones."""
    select_timeout_sec: float = DEFAULT_SELECT_TIMEOUT_SEC
    """How long a router's select() may take before its trajectory ends incomplete (0: no limit)."""
    manifest: Manifest | None = None
    """The recording's manifest (its runs, sessions, name), when there is a recording."""
    _loaded: Recording | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_recording(cls, path: Path | str, **settings) -> "Setup":
        """Replay RECORDING with its own pool, agent and suite (`settings`: policy, cache_dir, sample, fanout).
        Reads the manifest only; objects are loaded (and verified) when a store is opened.
        Raises RecordingError when the recording is unreadable or its suite is not the one installed here."""
        manifest = read_manifest(path)
        try:
            suite = suite_of(manifest.suite)
        except (ValueError, FileNotFoundError) as e:
            raise RecordingError(f"{path}: {e}") from None
        return cls(
            pool=manifest.pool, agent=manifest.agent, suite=suite, recording=Path(path), manifest=manifest, **settings
        )

    def load(self) -> Recording:
        """The recording's objects, loaded and verified once (forked workers inherit them)."""
        if self._loaded is None:
            self._loaded = load_recording(self.recording)
        return self._loaded

    def open_store(self) -> Store:
        """The recording in memory, with the disk cache on top when anything may go live (or there is no recording)."""
        if self.recording is None:
            return open_store(self.cache_dir or "cache")
        base = self.load().store()
        if self.policy.goes_live and self.cache_dir:
            return LayeredStore(base, open_store(self.cache_dir))
        return base

    @property
    def recorded_runs(self) -> tuple[list[str], list[str]]:
        """The routers and the instances the recording ran: what a command uses unless told otherwise."""
        runs = self.manifest.runs if self.manifest else []
        return list(dict.fromkeys(r.router for r in runs)), sorted({r.instance_id for r in runs})

    @property
    def run_config(self) -> RunConfig:
        """What routers see of the run's limits: the agent's step and cost limits, the pool's cache TTL."""
        return RunConfig(
            max_steps=int(self.agent.agent.get("step_limit", 0)),
            budget_usd=float(self.agent.agent.get("cost_limit", 0.0)),
            wallclock_ttl_sec=self.pool.cache_ttl_sec,
            select_timeout_sec=self.select_timeout_sec,
        )

    def environment_spec(self, instance: dict) -> dict:
        """What decides observations: the environment config of the agent and where the instance lives.

        Only portable facts: the replaying machine's PATH or temp names never enter it.
        """
        return {
            "environment": self.agent.environment,
            "suite": self.suite.name,
            "base_commit": instance["base_commit"],  # a content hash of the repository files
            "workdir": str(self.suite.workdir_for(instance["instance_id"])),
        }

    def environment_maker(self, instance: dict, copy_in: Path | None = None):
        """What builds a real environment for the instance, or None when its repository is not here or
        `env_runs` is off; with `copy_in`, in a private copy of the repository under that folder."""
        return (lambda: self.make_environment(instance, copy_in)) if self.suite.has_repos and self.env_runs else None

    def make_environment(self, instance: dict, copy_in: Path | None = None):
        """A fresh real environment for the instance: the repository materialized at its fixed path, or in a
        private copy under `copy_in` that looks as if it were at the fixed path (`RelocatedEnvironment`)."""
        from minisweagent.environments import get_environment

        testbed = self.suite.workdir_for(instance["instance_id"])
        path = materialize(self.suite, instance, copy_in / testbed.name if copy_in else None)
        config = dict(self.agent.environment)
        # The agent's `python` must be the one that has pytest: ours.
        env_vars = dict(config.get("env", {})) | {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        }
        env = get_environment(config | {"cwd": str(path), "env": env_vars}, default_type="local")
        return RelocatedEnvironment(env, str(testbed), str(path)) if copy_in else env
