"""What is recorded near a key that missed: the index behind `--on-miss approximate`,
`twinsim explain-miss` and `twinsim coverage`.

The store already holds the recorded trajectories as a tree (prefix nodes, each
with its parent and one message blob). `Recorded` indexes it once per store and
process, lazily per kind: the nodes with their depth and message, the responses
at each node, the observations of each action, the evaluations of each instance.

Which recorded response stands in for a missing (prefix, tier) — first rule that has one:

1. `nearest-prefix`, sibling: the same tier at a recorded prefix of the same length whose
   history differs only in the last agent step (the model's reply and the observation it got).
2. `nearest-tier`: the same prefix answered by another tier; the adjacent tier first, and
   between two equally near tiers the cheaper one (an approximate replay should not
   flatter a router by handing it a stronger model's answer).
3. `nearest-prefix`: the same tier anywhere in the instance's recorded tree.
4. `nearest-prefix-tier`: any tier anywhere in the instance's recorded tree.

Never an answer at a proper prefix of the asked one: that answered an earlier step of this
very conversation. Within a rule: the deepest shared ancestor first, then the nearer tier, the cheaper tier,
the nearer length, the most similar messages after the shared ancestor (difflib ratio),
then the key, so the choice is deterministic.

Why a sibling of the same tier beats the same prefix at another tier, but a distant prefix
does not: tier identity is what a router is judged on (its cost and the quality of its
steps), so we keep the tier while the context is nearly the same; once the histories
diverged more than one step back, the same tier's recorded answer responds to another
state of the repository and conversation, and an exact-context answer of a neighbouring
tier is the more faithful continuation.

"Same instance" means the same task: the messages up to the first user message (system
prompt and task) must be equal, so an answer is never borrowed from another task.
"""

import difflib
import weakref
from dataclasses import dataclass
from functools import cached_property

from simulator import keys
from simulator.config import Pool
from simulator.store import Store

SIBLING_SLACK = 2  # one agent step: the model's reply and the observation it got
HOW = {0: "nearest-prefix", 1: "nearest-tier", 2: "nearest-prefix", 3: "nearest-prefix-tier"}


@dataclass(frozen=True)
class Node:
    parent: str
    depth: int
    message: dict
    """The normalized message this node appends to its parent."""


@dataclass(frozen=True)
class Choice:
    """A recorded object standing in for a missing one."""

    key: str
    similarity: float
    how: str


def task_depth(messages: list[dict]) -> int:
    """How many messages state the task: up to the first user message (after the system prompt).
    Not "up to the first reply": a reply without an action comes back as a user message only."""
    return next((i + 1 for i, m in enumerate(messages) if m.get("role") == "user"), len(messages))


def message_text(message: dict) -> str:
    return keys.canonical_json(message).decode()


def similarity(a: list[dict], b: list[dict]) -> float:
    """difflib's ratio between two message lists as text (1.0 when both are empty)."""
    return difflib.SequenceMatcher(None, "\n".join(map(message_text, a)), "\n".join(map(message_text, b))).ratio()


def shared_depth(path: list[str], nodes: list[str]) -> int:
    """How many leading prefix nodes two root-first paths share."""
    n = 0
    while n < min(len(path), len(nodes)) and path[n] == nodes[n]:
        n += 1
    return n


class Recorded:
    """The recorded trees of one store, indexed lazily."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._paths: dict[str, list[str]] = {}

    # --- the prefix trie ------------------------------------------------------------------

    @cached_property
    def nodes(self) -> dict[str, Node]:
        """Every prefix node reachable from the root (a node with a missing ancestor is left out)."""
        raw = dict(self.store.iter("prefix"))
        messages: dict[str, dict] = {}
        nodes: dict[str, Node] = {}
        for start in raw:
            chain, key = [], start
            while key not in nodes and key in raw:
                chain.append(key)
                key = raw[key]["parent"]
            if key != keys.ROOT and key not in nodes:
                continue
            depth = nodes[key].depth if key in nodes else 0
            for k in reversed(chain):
                depth += 1
                blob = raw[k]["message"]
                if blob not in messages:
                    messages[blob] = self.store.get("message", blob)["message"]
                nodes[k] = Node(raw[k]["parent"], depth, messages[blob])
        return nodes

    @cached_property
    def children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for key in sorted(self.nodes):
            children.setdefault(self.nodes[key].parent, []).append(key)
        return children

    def path(self, node: str) -> list[str]:
        """Root-first prefix nodes down to `node` (inclusive)."""
        if node not in self._paths:
            path = [node]
            while self.nodes[path[-1]].parent != keys.ROOT:
                path.append(self.nodes[path[-1]].parent)
            self._paths[node] = path[::-1]
        return self._paths[node]

    def messages(self, path: list[str]) -> list[dict]:
        return [self.nodes[n].message for n in path]

    def task_node(self, node: str) -> str:
        """The node of the instance's task (see task_depth)."""
        path = self.path(node)
        return path[task_depth(self.messages(path)) - 1]

    # --- responses --------------------------------------------------------------------------

    @cached_property
    def responses(self) -> dict[str, list[tuple[str, bytes, int]]]:
        """Per prefix node: (response key, canonical tier spec, sample) of each recorded answer."""
        by_node: dict[str, list[tuple[str, bytes, int]]] = {}
        for key, record in self.store.iter("response"):
            if record["prefix"] in self.nodes:
                by_node.setdefault(record["prefix"], []).append(
                    (key, keys.canonical_json(record["tier"]), record["sample"])
                )
        return by_node

    @cached_property
    def by_task(self) -> dict[str, list[str]]:
        """Per task node: the prefix nodes with recorded answers in that instance's tree."""
        tasks: dict[str, list[str]] = {}
        for node in sorted(self.responses):
            tasks.setdefault(self.task_node(node), []).append(node)
        return tasks

    def tiers_at(self, node: str, pool: Pool, sample: int) -> list[str]:
        names = {keys.canonical_json(t.spec): t.name for t in pool.tiers}
        found = {names[spec] for _, spec, k in self.responses.get(node, ()) if k == sample and spec in names}
        return [t for t in pool.names if t in found]

    def nearest_response(
        self, nodes: list[str], messages: list[dict], tier: str, sample: int, pool: Pool
    ) -> Choice | None:
        """The recorded answer that best stands in for `tier` at the prefix `nodes` (module doc)."""
        depth, task = len(nodes), task_depth(messages)
        if task == 0:
            return None
        names = {keys.canonical_json(t.spec): i for i, t in enumerate(pool.tiers)}
        asked = pool.names.index(tier)
        ranked = []
        for node in self.by_task.get(nodes[task - 1], ()):
            path = self.path(node)
            shared = shared_depth(path, nodes)
            if len(path) == shared < depth:
                continue  # an earlier step of this very conversation: it answered that step, not this one
            for key, spec, k in self.responses[node]:
                if k != sample or spec not in names:
                    continue
                used = names[spec]
                if used == asked and len(path) == depth and shared >= depth - SIBLING_SLACK:
                    rule = 0
                elif shared == depth == len(path):
                    rule = 1
                else:
                    rule = 2 if used == asked else 3
                ranked.append(((rule, -shared, abs(used - asked), used, abs(len(path) - depth)), key, path, shared))
        if not ranked:
            return None
        best = min(r[0] for r in ranked)
        scored = [
            (similarity(messages[shared:], self.messages(path[shared:])), key)
            for rank, key, path, shared in ranked
            if rank == best
        ]
        score, key = min(scored, key=lambda s: (-s[0], s[1]))
        return Choice(key, score, HOW[best[0]])

    # --- observations -------------------------------------------------------------------------

    @cached_property
    def observations(self) -> dict[str, dict]:
        """Observation key -> {parent, action} (outputs stay in the store)."""
        return {
            key: {"parent": r["parent"], "action": keys.canonical_json(r["action"])}
            for key, r in self.store.iter("observation")
        }

    @cached_property
    def observations_by_parent(self) -> dict[str, list[str]]:
        by_parent: dict[str, list[str]] = {}
        for key in sorted(self.observations):
            by_parent.setdefault(self.observations[key]["parent"], []).append(key)
        return by_parent

    def observation_chain(self, key: str) -> list[str]:
        """Root-first: the environment root, then each observation key down to `key`."""
        chain = [key]
        while chain[-1] in self.observations:
            chain.append(self.observations[chain[-1]]["parent"])
        return chain[::-1]

    def nearest_observation(self, chain: list[str], action: dict) -> Choice | None:
        """The recorded output of the same action in the state whose history shares most with `chain`
        (root-first: environment root, then the observation keys served so far)."""
        wanted = keys.canonical_json(keys.action_of(action))
        ranked = []
        for key, obs in self.observations.items():
            if obs["action"] != wanted:
                continue
            parents = self.observation_chain(obs["parent"])
            shared = shared_depth(parents, chain)
            if shared:  # same environment root: same instance
                ranked.append((-shared, abs(len(parents) - len(chain)), key, shared / max(len(parents), len(chain))))
        if not ranked:
            return None
        _, _, key, score = min(ranked)
        return Choice(key, score, "nearest-state")

    # --- evaluations ----------------------------------------------------------------------------

    @cached_property
    def evaluations(self) -> dict[tuple[bytes, str], list[tuple[str, str]]]:
        """(canonical evaluator spec, instance) -> [(evaluation key, patch)]."""
        by_instance: dict[tuple[bytes, str], list[tuple[str, str]]] = {}
        for key, r in self.store.iter("evaluation"):
            by_instance.setdefault((keys.canonical_json(r["evaluator"]), r["instance_id"]), []).append(
                (key, r["patch"])
            )
        return by_instance

    def nearest_evaluation(self, spec: dict, instance_id: str, patch: str) -> Choice | None:
        """The grade of the recorded patch most similar to `patch` (same evaluator and instance)."""
        patch = keys.normalize_patch(patch)
        scored = [
            (difflib.SequenceMatcher(None, patch, p).ratio(), key)
            for key, p in self.evaluations.get((keys.canonical_json(spec), instance_id), ())
        ]
        if not scored:
            return None
        score, key = min(scored, key=lambda s: (-s[0], s[1]))
        return Choice(key, score, "estimated")


_indexes: "weakref.WeakKeyDictionary[Store, Recorded]" = weakref.WeakKeyDictionary()


def recorded(store: Store) -> Recorded:
    """The index of `store`, built once per process (its parts on first use)."""
    if store not in _indexes:
        _indexes[store] = Recorded(store)
    return _indexes[store]
