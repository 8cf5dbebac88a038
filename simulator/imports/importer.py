"""Importing mini-swe-agent runs as a recording: every call, observation and grade under the keys a replay asks.

Runs are read one at a time and their objects staged in a disk store, so memory holds one run, not
the set. Per run it stores the message prefixes, each model call as the response of (prefix, tier),
each observation on the chain of executed actions from the instance's environment root, and the
grade of the submitted patch from its harness report. The recording's suite (instances, problem
statements, test lists) and agent config travel in its manifest.
"""

import heapq
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from simulator import keys
from simulator.config import TIER_IDS, AgentConfig, Pool, Pricing, Tier
from simulator.imports import convert
from simulator.imports.reports import find_reports, read_report
from simulator.imports.trajectory import Run, TrajectoryError, read_run
from simulator.recording import Recording, load_recording, write_recording
from simulator.records import (
    KINDS,
    EnvironmentRecord,
    EvaluationRecord,
    Manifest,
    ObservationRecord,
    ResponseRecord,
    usage_of,
)
from simulator.replay.evaluation import evaluation_spec, evaluator_for
from simulator.replay.model import scrub
from simulator.replay.setup import Setup
from simulator.replay.templates import template_variables
from simulator.store import DiskStore
from simulator.suite import Suite, suite_identity

SUITE_NAME = "imported"


@dataclass
class Imported:
    """What an import did: the runs it took (with their setup) and the files it skipped, with the reason."""

    setup: Setup
    runs: list[Run] = field(default_factory=list)
    reports: dict[str, dict | None] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def trajectory_files(paths: list[Path]) -> list[Path]:
    """Each PATH: a trajectory file, or a folder searched for `*.traj.json`."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.rglob("*.traj.json"))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no trajectory file or folder {path}")
    return files


def import_runs(
    paths: list[Path],
    out: Path,
    *,
    tier: str,
    pricing: Pricing | None,
    reports_dir: Path | None = None,
    model: str | None = None,
    extend: bool = False,
    strict: bool = False,
) -> Imported:
    """Read the runs and write OUT (a new recording, or with `extend` the union with the one there).
    Nothing is written until every run is read; with `strict` the first bad file stops the import."""
    existing = _existing(out, extend)
    reports = find_reports(reports_dir) if reports_dir else {}
    setup, runs, skipped, graded = None, [], [], {}
    with tempfile.TemporaryDirectory(prefix="twinsim-import-") as staging:
        store = DiskStore(staging)
        for path in trajectory_files(paths):
            try:
                run = read_run(path)
                setup = setup or _setup(run, existing, tier=tier, pricing=pricing, model=model)
                _check_same_setup(run, setup, tier, model)
                if any(r.instance_id == run.instance_id for r in runs):
                    raise TrajectoryError(f"{path}: a second run of {run.instance_id} in this import")
                report = read_report(reports[run.instance_id], run.instance_id) if run.instance_id in reports else None
                _stage(run, report, setup, tier, store)
            except TrajectoryError as e:
                if strict:
                    raise
                skipped.append((str(path), str(e)))
                continue
            runs.append(run)
            graded[run.instance_id] = report
        if setup is None:
            raise TrajectoryError("no trajectory could be imported: " + "; ".join(r for _, r in skipped[-3:]))
        unmatched = sorted(set(reports) - set(graded) - _known_instances(existing))
        skipped += [(str(reports[i]), f"a report of {i}, which has no trajectory here") for i in unmatched]
        manifest = _manifest(out, setup, existing)
        write_recording(out, manifest, _merged(existing, store))
    setup.manifest, setup.recording = manifest, out
    return Imported(setup, runs, graded, skipped)


def _existing(out: Path, extend: bool) -> Recording | None:
    if not (out / "manifest.json").is_file():
        return None
    if not extend:
        raise FileExistsError(f"{out} is a recording already: add to it with --extend, or write a new one")
    return load_recording(out)


def _known_instances(existing: Recording | None) -> set[str]:
    return {i["instance_id"] for i in existing.manifest.suite.get("instances", [])} if existing else set()


def _setup(run: Run, existing: Recording | None, *, tier: str, pricing: Pricing | None, model: str | None) -> Setup:
    """The pool, agent and suite the runs go into: the existing recording's, with the tier added if it is new."""
    agent = convert.agent_config(run)
    if existing is None:
        tiers = []
        workdir = str(agent.environment.get("cwd") or "/testbed")
        description = "SWE-bench instances of imported mini-swe-agent runs, graded by their harness reports"
        suite = Suite(
            name=SUITE_NAME, version="1", description=description, workdir=workdir, evaluator="reports", instances=[]
        )
    else:
        manifest = existing.manifest
        if "instances" not in manifest.suite:
            raise TrajectoryError(
                f"{existing} holds runs of suite {manifest.suite['name']!r}: import only into imported ones"
            )
        if manifest.agent != agent:
            raise TrajectoryError(
                f"{run.path}: its agent config differs from the recording's: runs of one recording share one agent"
            )
        tiers = list(manifest.pool.tiers)
        suite = Suite.model_validate({k: v for k, v in manifest.suite.items() if k != "sha256"})
    known = {t.name: t for t in tiers}
    if tier not in known:
        if pricing is None:
            raise TrajectoryError(
                f"tier {tier!r} is new: give its prices with --pricing input=X,cache_read=X,cache_write=X,output=X"
            )
        tiers.append(
            Tier(name=tier, model=model or convert.tier_model(run), params=convert.tier_params(run), pricing=pricing)
        )
        if all(t.name in TIER_IDS for t in tiers):  # TwinRouterBench's tier names have an order: keep it
            tiers.sort(key=lambda t: TIER_IDS[t.name])
    elif pricing is not None and pricing != known[tier].pricing:
        raise TrajectoryError(f"tier {tier!r} exists with other prices ({known[tier].pricing}); leave out --pricing")
    pool = (existing.manifest.pool if existing else Pool(name=SUITE_NAME, tiers=tiers)).model_copy(
        update={"tiers": tiers}
    )
    return Setup(pool=pool, agent=agent, suite=suite)


def _check_same_setup(run: Run, setup: Setup, tier: str, model: str | None) -> None:
    if convert.agent_config(run) != setup.agent:
        raise TrajectoryError(
            f"{run.path}: its agent config differs from the other runs' (templates, limits or environment)"
        )
    expected = setup.pool.tier(tier)
    same = convert.bare_model(convert.tier_model(run)) == convert.bare_model(expected.model)
    if model is None and not (same and convert.tier_params(run) == expected.params):
        raise TrajectoryError(
            f"{run.path}: model {convert.tier_model(run)} {convert.tier_params(run)} is not tier {tier}'s "
            f"({expected.model} {expected.params}); import it as another tier, or name the tier's model with --model"
        )


def _stage(run: Run, report: dict | None, setup: Setup, tier_name: str, store: DiskStore) -> None:
    """Put every object of `run` into the staging store, and its instance into the suite."""
    tier = setup.pool.tier(tier_name)
    template_vars = _environment_template_vars(setup.agent)
    task = convert.problem_statement(run, setup.agent, setup.agent.agent | template_vars)
    instance = convert.instance(run, task, report)
    known = next((i for i in setup.suite.instances if i["instance_id"] == run.instance_id), None)
    if known is None:
        setup.suite.instances.append(instance)
        setup.suite.instances.sort(key=lambda i: i["instance_id"])
    elif known != instance:
        if report is not None or known["problem_statement"] != task:
            raise TrajectoryError(
                f"{run.path}: {run.instance_id} is in the recording already, with another task or tests"
            )
        instance = known  # another tier's run of the same instance, its report given with that one
    env_spec = setup.environment_spec(instance)
    root = keys.environment_root(env_spec, run.instance_id)
    environment = EnvironmentRecord(env=env_spec, instance_id=run.instance_id, template_vars=template_vars)
    objects = {("environment", root): environment.model_dump(mode="json")}  # the run's, written in one go
    chain, parent = keys.PrefixChain(), root
    created = [t.raw.get("created") for t in run.turns]
    for n, turn in enumerate(run.turns):
        done = len(chain.nodes)
        head = chain.extend_to(run.messages[: turn.prefix])
        for i in range(done, len(chain.nodes)):
            blob, normalized = chain.blobs[i]
            objects["message", blob] = {"message": normalized}
            objects["prefix", chain.nodes[i]] = {"parent": chain.nodes[i - 1] if i else keys.ROOT, "message": blob}
        usage = usage_of(turn.raw.get("usage") or {})
        if usage.cost_usd is None and turn.cost is not None:
            usage.cost_usd = float(turn.cost)  # the agent priced the call itself (1.x Portkey, 2.x litellm)
        latency = _gap_ms(created, n)
        record = ResponseRecord(
            prefix=head,
            tier=tier.spec,
            sample=0,
            message=scrub(turn.message),
            finish_reason=turn.raw["choices"][0].get("finish_reason"),
            usage=usage,
            latency_ms=latency,
            provider_model=turn.raw.get("model"),
            raw=scrub(turn.raw),
        )
        objects["response", keys.response_key(head, tier.spec, 0)] = record.model_dump(mode="json")
        for k, action in enumerate(turn.actions):
            keyed = keys.action_of(action)
            key = keys.observation_key(parent, keyed)
            output, interrupt = (turn.outputs[k], None) if k < len(turn.outputs) else ({}, turn.interrupt)
            observation = ObservationRecord(parent=parent, action=keyed, output=output, interrupt=interrupt)
            objects["observation", key] = observation.model_dump(mode="json")
            parent = key
    if run.exit_status == "Submitted" and report is not None:
        spec = evaluation_spec(evaluator_for(setup.suite), instance)
        patch = keys.normalize_patch(run.submission)
        grade = EvaluationRecord(
            evaluator=spec, instance_id=run.instance_id, patch=patch, resolved=report["resolved"], result=report
        )
        objects["evaluation", keys.evaluation_key(spec, run.instance_id, run.submission)] = grade.model_dump(
            mode="json"
        )
    store.put_many(objects)


def _environment_template_vars(agent: AgentConfig) -> dict:
    """The environment's template variables the run's templates read (1.x and 2.x render them from its config)."""
    templates = [v for section in (agent.agent, agent.model) for k, v in section.items() if k.endswith("_template")]
    names = template_variables(*templates)
    return {k: agent.environment[k] for k in sorted(names) if k in agent.environment}


def _gap_ms(created: list, n: int) -> int:
    """A call's latency, as far as the trajectory tells: seconds to the next call's creation (model and
    action time together); 0 when unknown."""
    if n + 1 < len(created) and isinstance(created[n], int) and isinstance(created[n + 1], int):
        return max(0, created[n + 1] - created[n]) * 1000
    return 0


def _manifest(out: Path, setup: Setup, existing: Recording | None) -> Manifest:
    base = existing.manifest if existing else Manifest(name=out.name, pool=setup.pool, agent=setup.agent, suite={})
    return base.model_copy(update={"pool": setup.pool, "agent": setup.agent, "suite": suite_identity(setup.suite)})


def _merged(existing: Recording | None, store: DiskStore) -> Iterator[tuple[str, str, dict]]:
    """The existing objects and the staged ones, in (kind, key) order; an object in both is written once."""
    staged = ((kind, key, value) for kind in sorted(KINDS) for key, value in store.iter(kind))
    old = (
        ((kind, key, existing.objects[(kind, key)]) for kind, key in sorted(existing.objects)) if existing else iter(())
    )
    last = None
    for kind, key, value in heapq.merge(old, staged, key=lambda item: (item[0], item[1])):
        if (kind, key) != last:
            yield kind, key, value
        last = (kind, key)
