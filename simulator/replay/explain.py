"""Why a replay left the recording (`twinsim explain-miss`) and what a recording covers (`twinsim coverage`).

A miss is explained by walking the asked prefix down the recorded trie to its
deepest recorded ancestor and diffing the first message that differs against the
most similar recorded message at that point (its nearest sibling). Observation
misses walk the observation chain the same way and diff the action; evaluation
misses diff the patch against the nearest graded one.
"""

import difflib
import json
from collections import Counter
from dataclasses import dataclass

from simulator import keys
from simulator.config import Pool
from simulator.records import RunResult
from simulator.replay.context import Miss
from simulator.replay.nearest import Recorded, similarity

DIFF_LINES = 24
LINE_CHARS = 240
EXCERPT_CHARS = 24


@dataclass
class Divergence:
    """Where an asked message list leaves the recorded prefix trie."""

    depth: int
    """How many messages were asked."""
    shared: int
    """messages[:shared] are recorded; messages[shared] (if any) is the first that is not."""
    ancestor: str
    """Prefix node of messages[:shared] (keys.ROOT when not even the first message is recorded)."""
    sibling: str | None = None
    """The recorded node after `ancestor` whose message is most like messages[shared]."""
    field: str | None = None
    """First semantic field in which messages[shared] differs from the sibling's message."""
    diff: tuple[str, ...] = ()


def diverge(rec: Recorded, nodes: list[str], messages: list[dict]) -> Divergence:
    """Compare an asked prefix (its nodes and normalized messages) with the recorded trie."""
    shared = next((i for i in range(len(nodes), 0, -1) if nodes[i - 1] in rec.nodes), 0)
    point = Divergence(len(nodes), shared, nodes[shared - 1] if shared else keys.ROOT)
    siblings = rec.children.get(point.ancestor, []) if shared < len(nodes) else []
    if not siblings:
        return point
    asked = messages[shared]
    point.sibling = min(siblings, key=lambda s: (-similarity([asked], [rec.nodes[s].message]), s))
    recorded = rec.nodes[point.sibling].message
    point.field = next(f for f in keys.SEMANTIC_FIELDS if recorded.get(f) != asked.get(f))
    point.diff = tuple(
        text_diff(
            recorded.get(point.field),
            asked.get(point.field),
            f"recorded #{shared} {point.field}",
            f"asked #{shared} {point.field}",
        )
    )
    return point


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)


def text_diff(recorded, asked, from_name: str = "recorded", to_name: str = "asked") -> list[str]:
    """A short unified diff, then where the first difference is, with the characters around it."""
    a, b = _text(recorded), _text(asked)
    lines = [
        line[:LINE_CHARS]
        for line in difflib.unified_diff(a.splitlines(), b.splitlines(), from_name, to_name, n=1, lineterm="")
    ]
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"… ({len(lines) - DIFF_LINES} more diff lines)"]
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    line, column = a.count("\n", 0, at) + 1, at - (a.rfind("\n", 0, at) + 1) + 1
    around = lambda s: repr(s[max(0, at - EXCERPT_CHARS) : at + EXCERPT_CHARS])
    return [*lines, f"first difference at line {line}, column {column}: recorded {around(a)} vs asked {around(b)}"]


def explain(rec: Recorded, miss: Miss, pool: Pool) -> str:
    """A few lines on why the first miss of a trajectory missed."""
    lines = [miss.reason]
    if miss.kind == "response":
        lines += _response_lines(rec, miss.asked, pool)
    elif miss.kind == "observation":
        lines += _observation_lines(rec, miss.asked)
    elif miss.kind == "evaluation":
        lines += _evaluation_lines(rec, miss.asked)
    return "\n".join(lines)


def _response_lines(rec: Recorded, asked: dict, pool: Pool) -> list[str]:
    point = diverge(rec, asked["nodes"], asked["messages"])
    if point.shared == point.depth:
        tiers = rec.tiers_at(point.ancestor, pool, asked["sample"])
        return [
            f"the whole prefix ({point.depth} messages, node {point.ancestor[:12]}) is recorded, answered there by "
            f"{', '.join(tiers) or 'no tier'}, not by {asked['tier']}"
        ]
    role = asked["messages"][point.shared].get("role")
    lines = [
        f"asked {point.depth} messages; the recording has the first {point.shared} (deepest recorded ancestor "
        f"{point.ancestor[:12]})",
        f"first differing message: #{point.shared} ({role})" + (f", field {point.field}" if point.field else ""),
    ]
    if point.sibling is None:
        return [*lines, "nothing was recorded after that ancestor: the recorded trajectories end there"]
    return [*lines, f"nearest recorded sibling: node {point.sibling[:12]}", *point.diff]


def _observation_lines(rec: Recorded, asked: dict) -> list[str]:
    # The first miss comes after recorded observations only: the state itself is recorded.
    state = asked["chain"][-1]
    siblings = rec.observations_by_parent.get(state, [])
    lines = [
        f"the recording has this state (after {len(asked['chain']) - 1} action(s)) and {len(siblings)} other "
        "action(s) run in it"
    ]
    if siblings:
        action = keys.canonical_json(asked["action"])
        nearest = min(
            siblings, key=lambda s: (-difflib.SequenceMatcher(None, action, rec.observations[s]["action"]).ratio(), s)
        )
        lines += [
            f"nearest recorded action: observation {nearest[:12]}",
            *text_diff(json.loads(rec.observations[nearest]["action"]), asked["action"]),
        ]
    return lines


def _evaluation_lines(rec: Recorded, asked: dict) -> list[str]:
    choice = rec.nearest_evaluation(asked["spec"], asked["instance_id"], asked["patch"])
    if choice is None:
        return ["no patch of this instance was ever graded"]
    recorded_patch = rec.store.get("evaluation", choice.key)["patch"]
    return [
        f"nearest graded patch: evaluation {choice.key[:12]} (similarity {choice.similarity:.2f})",
        *text_diff(recorded_patch, keys.normalize_patch(asked["patch"])),
    ]


# --- coverage -----------------------------------------------------------------------------


def instance_tasks(rec: Recorded, runs: list[RunResult]) -> dict[str, str]:
    """Task node -> instance id, learnt from the recorded runs' first answers."""
    tasks = {}
    for run in runs:
        record = rec.store.get("response", run.steps[0].response) if run.steps else None
        if record and record["prefix"] in rec.nodes:
            tasks.setdefault(rec.task_node(record["prefix"]), run.instance_id)
    return tasks


def tree_summary(rec: Recorded, task: str, name: str, pool: Pool, sample: int) -> list[str]:
    """Prefix nodes, branch points, depth, and how many answers each tier has at each depth."""
    base = len(rec.path(task))
    subtree = [n for n in rec.nodes if len(rec.path(n)) >= base and rec.path(n)[base - 1] == task]
    branches = sum(len(rec.children.get(n, [])) > 1 for n in subtree)
    depth = max(rec.nodes[n].depth for n in subtree)
    answers = Counter(
        (tier, rec.nodes[n].depth) for n in rec.by_task.get(task, ()) for tier in rec.tiers_at(n, pool, sample)
    )
    depths = sorted({d for _, d in answers})
    label = max(len("depth"), *map(len, pool.names)) + 2
    return [
        f"{name}: {len(subtree)} prefix nodes, {branches} branch points, max depth {depth} messages; answers per "
        "tier and prefix depth:",
        "    " + "depth".ljust(label) + "".join(f"{d:>4}" for d in depths),
        *(
            "    " + tier.ljust(label) + "".join(f"{answers[(tier, d)] or '.':>4}" for d in depths)
            for tier in pool.names
        ),
    ]


def coverage_text(
    rec: Recorded, runs: list[RunResult], pool: Pool, sample: int = 0, instances: list[str] | None = None
) -> str:
    """One block per recorded instance tree (those of `instances` if given)."""
    tasks = instance_tasks(rec, runs)
    named = sorted((tasks.get(t, f"task {t[:12]}"), t) for t in rec.by_task)
    named = [(name, task) for name, task in named if not instances or name in instances]
    return "\n".join(line for name, task in named for line in tree_summary(rec, task, name, pool, sample))


def probe_text(results: list[RunResult]) -> str:
    """Per router, from a strict replay: how much of it the recording serves exactly."""
    lines = []
    for router in dict.fromkeys(r.router for r in results):
        runs = [r for r in results if r.router == router]
        exact = [r for r in runs if r.exact]
        line = f"{router}: {len(exact)}/{len(runs)} trajectories exact"
        others = [r for r in runs if not r.exact]
        if others:
            first = Counter(next(iter(r.misses), "other") for r in others)
            mean = sum(len(r.steps) for r in others) / len(others)
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(first.items()))
            line += (
                f"; the other {len(others)} leave the recording after {mean:.1f} steps on average (first miss: {kinds})"
            )
        lines.append(line)
    return "\n".join(lines)
