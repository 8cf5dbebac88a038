"""CachedEnvironment: mini-swe-agent's Environment protocol, observations served from the store.

Observations chain over the actions executed so far, from a root that stands
for (environment spec, instance). The root also holds the environment's
template variables (platform facts and the like) as recorded, so a prompt
never picks them up from the replaying machine.

Under `approximate`, a missing observation is computed by running the action in the
real environment when there is one (`live-env`: exact for a deterministic environment,
no API cost), else taken from the same action in the nearest recorded state. Nothing
computed under `approximate` is stored: the store stays the recording, and every
trajectory sees the same store whatever ran before. That real environment is a private
copy of the instance's repository (`RelocatedEnvironment`), never the shared testbed.
"""

import contextlib
import copy
import time
from collections.abc import Callable
from typing import Any

from minisweagent import Environment
from minisweagent.exceptions import InterruptAgentFlow, Submitted
from minisweagent.utils.serialize import recursive_merge

from simulator import keys
from simulator.records import EnvironmentRecord, ObservationRecord
from simulator.replay.context import Incomplete, ReplayContext
from simulator.replay.nearest import recorded

INTERRUPTS = {"Submitted": Submitted}
SECRET_NAME_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "AUTH")


def _moved(value: Any, old: str, new: str) -> Any:
    """`value` with the path `old` written as `new` in every string it holds."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _moved(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, old, new) for v in value]
    return value


class RelocatedEnvironment:
    """A real environment in a private copy of the testbed, that looks as if it ran at the testbed's fixed path.

    Commands (and a cwd) that name the testbed run in the copy; outputs, interrupts and
    template variables that name the copy name the testbed, so the agent sees what it
    would have seen there, and no action touches the folder other replays share.
    """

    def __init__(self, env: Environment, testbed: str, copy: str) -> None:
        self.env, self.testbed, self.copy = env, testbed, copy
        self.config = env.config

    def execute(self, action: dict, cwd: str = "", **kwargs) -> dict[str, Any]:
        action = _moved(action, self.testbed, self.copy)
        try:
            output = self.env.execute(action, _moved(cwd, self.testbed, self.copy), **kwargs)
        except InterruptAgentFlow as e:
            raise type(e)(*_moved(list(e.messages), self.copy, self.testbed)) from None
        return _moved(output, self.copy, self.testbed)

    def get_template_vars(self, **kwargs) -> dict[str, Any]:
        return _moved(self.env.get_template_vars(**kwargs), self.copy, self.testbed)

    def serialize(self) -> dict:
        return self.env.serialize()


class CachedEnvironment:
    def __init__(
        self,
        ctx: ReplayContext,
        *,
        env_spec: dict,
        template_names: frozenset[str],
        make_env: Callable[[], Environment] | None = None,
    ) -> None:
        """`make_env` builds the real environment for live and approximate misses (None: there is none here)."""
        self.ctx, self.make_env, self.env_spec = ctx, make_env, env_spec
        self.template_names = {n for n in template_names if not any(m in n.upper() for m in SECRET_NAME_MARKERS)}
        self.config = env_spec
        self.root = keys.environment_root(env_spec, ctx.instance_id)
        self.node = self.root
        self.actions: list[dict] = []
        self.keys: list[str] = []
        self.live_env: Environment | None = None
        self.applied = 0  # how many of self.actions the live environment has executed
        self.template_vars: dict | None = None

    def get_template_vars(self, **kwargs) -> dict[str, Any]:
        if self.template_vars is None:
            self.template_vars = self._recorded_template_vars()
        return recursive_merge(copy.deepcopy(self.template_vars), kwargs)

    def _recorded_template_vars(self) -> dict:
        ctx = self.ctx
        record = ctx.store.get("environment", self.root)
        if record is None:
            self._miss("environment", "the environment's template variables")
            variables = self._live().get_template_vars()
            picked = {k: variables[k] for k in sorted(self.template_names) if k in variables}
            record = EnvironmentRecord(env=self.env_spec, instance_id=ctx.instance_id, template_vars=picked).model_dump(
                mode="json"
            )
            ctx.store.put("environment", self.root, record)
            ctx.tally.live["environment"] += 1
        else:
            ctx.tally.hits["environment"] += 1
        return record["template_vars"]

    def execute(self, action: dict, cwd: str = "", **kwargs) -> dict[str, Any]:
        keyed = keys.action_of(action) | ({"cwd": cwd} if cwd else {})
        key = keys.observation_key(self.node, keyed)
        record = self.ctx.store.get("observation", key)
        if record is None:
            what = f"the observation of action {len(self.actions)} ({keyed.get('command', keyed)!r:.80})"
            asked = {"key": key, "chain": [self.root, *self.keys], "action": keyed}
            if self._miss("observation", what, asked) == "approximate":
                record = self._approximate(action, keyed, key, cwd, what)
            else:
                record = self._execute_live(action, keyed, key, cwd)
        else:
            self.ctx.tally.hits["observation"] += 1
        self.node = key
        self.actions.append(action)
        self.keys.append(key)
        self.ctx.clock.advance(record["duration_ms"])
        if record["interrupt"]:
            interrupt = record["interrupt"]
            raise INTERRUPTS.get(interrupt["type"], InterruptAgentFlow)(*copy.deepcopy(interrupt["messages"]))
        return copy.deepcopy(record["output"])

    def serialize(self) -> dict:
        return {"info": {"config": {"environment": self.env_spec, "environment_type": "twinsim.CachedEnvironment"}}}

    def _miss(self, kind: str, what: str, asked: dict | None = None) -> str:
        """Count the miss; return the policy that applies to it."""
        policy = self.ctx.policy.observation
        if policy == "live" and self.make_env is None:
            policy = "error"  # nothing to run it live on
        if policy == "approximate" and kind == "environment":
            policy = "error"  # the platform facts of an instance never recorded: nothing near to take
        self.ctx.tally.miss(kind, policy, f"{kind} miss: {what} of {self.ctx.instance_id} is not recorded", asked)
        return policy

    def _live(self) -> Environment:
        """The real environment, brought to the state after every action served so far."""
        if self.live_env is None:
            self.live_env, self.applied = self.make_env(), 0
        for action in self.actions[self.applied :]:
            with contextlib.suppress(InterruptAgentFlow):  # a replayed submission, say
                self.live_env.execute(action)
        self.applied = len(self.actions)
        return self.live_env

    def _run(self, action: dict, keyed: dict, cwd: str) -> dict:
        """Execute the action in the real environment; the observation record (not stored)."""
        env = self._live()
        start = time.monotonic()
        output, interrupt = {}, None
        try:
            output = env.execute(action, cwd) if cwd else env.execute(action)
        except InterruptAgentFlow as e:
            interrupt = {"type": type(e).__name__, "messages": list(e.messages)}
        self.applied += 1
        return ObservationRecord(
            parent=self.node,
            action=keyed,
            output=output,
            interrupt=interrupt,
            duration_ms=round((time.monotonic() - start) * 1000),
        ).model_dump(mode="json")

    def _execute_live(self, action: dict, keyed: dict, key: str, cwd: str) -> dict:
        record = self._run(action, keyed, cwd)
        self.ctx.store.put("observation", key, record)
        self.ctx.tally.live["observation"] += 1
        return record

    def _approximate(self, action: dict, keyed: dict, key: str, cwd: str, what: str) -> dict:
        ctx = self.ctx
        if self.make_env is not None:
            # No virtual time: the wall time of running it here depends on the machine.
            ctx.tally.approximate("observation", ctx.step, key, key, 1.0, "live-env")
            return self._run(action, keyed, cwd) | {"duration_ms": 0}
        choice = recorded(ctx.store).nearest_observation([self.root, *self.keys], keyed)
        if choice is None:
            raise Incomplete(
                f"observation miss: {what} of {ctx.instance_id} was never recorded in any state, and there is no "
                "environment to run it"
            )
        ctx.tally.approximate("observation", ctx.step, key, choice.key, choice.similarity, choice.how)
        return ctx.store.get("observation", choice.key)
