"""Nearest recorded objects on small hand-built stores: which answer stands in for a missing one."""

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import keys
from simulator.config import load_pool
from simulator.records import ObservationRecord
from simulator.replay.context import Incomplete, LiveBudget, MissPolicy, ReplayContext
from simulator.replay.environment import CachedEnvironment
from simulator.replay.evaluation import cached_evaluate
from simulator.replay.nearest import Recorded, task_depth
from simulator.routers.protocol import RunConfig
from simulator.store import MemoryStore

POOL = load_pool("local")
SYSTEM = {"role": "system", "content": "you fix bugs"}


def task(text="fix the converter"):
    return [SYSTEM, {"role": "user", "content": text}]


def step(command, output):
    return [
        {"role": "assistant", "content": f"```bash\n{command}\n```"},
        {"role": "user", "content": f"<output>{output}</output>"},
    ]


def chain_of(messages):
    chain = keys.PrefixChain()
    chain.extend_to(messages)
    return chain


def put_answer(store, messages, tier, sample=0):
    """Record `tier`'s answer at the prefix `messages` (with the prefix nodes and message blobs)."""
    chain = chain_of(messages)
    parent = keys.ROOT
    for node, (blob, message) in zip(chain.nodes, chain.blobs):
        store.put("message", blob, {"message": message})
        store.put("prefix", node, {"parent": parent, "message": blob})
        parent = node
    key = keys.response_key(chain.head, POOL.tier(tier).spec, sample)
    store.put("response", key, {"prefix": chain.head, "tier": POOL.tier(tier).spec, "sample": sample})
    return key


def nearest(store, messages, tier, sample=0):
    chain = chain_of(messages)
    return Recorded(store).nearest_response(chain.nodes, [m for _, m in chain.blobs], tier, sample, POOL)


def test_a_same_tier_sibling_beats_the_same_prefix_at_another_tier():
    store = MemoryStore()
    asked = task() + step("cat a.py", "x = 1")
    sibling = put_answer(store, task() + step("cat a.py", "x = 2"), "mid")
    put_answer(store, asked, "high")
    choice = nearest(store, asked, "mid")
    assert (choice.key, choice.how) == (sibling, "nearest-prefix")
    assert 0.8 < choice.similarity < 1


def test_the_same_prefix_at_the_nearest_tier_beats_a_distant_prefix_of_the_same_tier():
    store = MemoryStore()
    asked = task() + step("cat a.py", "x = 1") + step("sed -i s/1/2/ a.py", "")
    put_answer(store, task() + step("ls", "a.py") + step("sed -i s/1/2/ a.py", ""), "mid")  # diverged at step 0
    low, high = put_answer(store, asked, "low"), put_answer(store, asked, "high")
    choice = nearest(store, asked, "mid")
    assert (choice.key, choice.how, choice.similarity) == (low, "nearest-tier", 1.0)  # equally near: the cheaper
    store.objects.pop(("response", low))
    assert nearest(store, asked, "mid").key == high


def test_the_deepest_shared_ancestor_wins_then_the_most_similar_messages():
    store = MemoryStore()
    base = task() + step("cat a.py", "x = 1")
    deep = put_answer(store, base + step("grep x a.py", "x = 1"), "low")
    put_answer(store, task() + step("ls", "a.py") + step("grep x a.py", "x = 1"), "low")
    asked = base + step("sed -i s/1/2/ a.py", "") + step("cat a.py", "x = 2")
    assert nearest(store, asked, "low").key == deep
    close = put_answer(store, base + step("sed -i s/1/2/ a.py", "") + step("cat a.py", "x = 3"), "low")
    put_answer(store, base + step("sed -i s/1/2/ a.py", "") + step("rm -rf build", "removed 40 files"), "low")
    choice = nearest(store, asked, "low")
    assert (choice.key, choice.how) == (close, "nearest-prefix") and choice.similarity > 0.9


def test_never_an_answer_of_another_task_or_of_an_earlier_step():
    store = MemoryStore()
    put_answer(store, task("another bug") + step("cat a.py", "x = 1"), "low")
    asked = task() + step("cat a.py", "x = 1")
    assert nearest(store, asked, "low") is None
    low_at_step_0 = put_answer(store, task(), "low")
    assert nearest(store, asked, "low") is None  # low's answer at step 0 of this very conversation answered that step
    assert nearest(store, task(), "mid").key == low_at_step_0  # at step 0 only another tier at the same prefix fits
    put_answer(store, task() + step("ls", "a.py"), "high")
    choice = nearest(store, asked, "low")
    assert choice.how == "nearest-prefix-tier" and choice.similarity < 1


def test_a_reply_without_an_action_does_not_hide_the_task():
    """mini-swe-agent returns a format error as a user message alone: the task is still message 1."""
    format_error = lambda n: {"role": "user", "content": f"Format error: found {n} bash blocks, expected one"}
    asked = [*task(), format_error(0), format_error(2)]
    assert task_depth(asked) == 2
    store = MemoryStore()
    recorded = put_answer(store, [*task(), format_error(0), format_error(3)], "low")
    assert nearest(store, asked, "low").key == recorded


contents = st.sampled_from(["a", "b", "c"])
paths = st.lists(st.tuples(contents, contents), min_size=0, max_size=3)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["t1", "t2"]), paths, st.sampled_from(POOL.names)), max_size=8),
    st.sampled_from(["t1", "t2"]),
    paths,
    st.sampled_from(POOL.names),
)
def test_choice_is_a_recorded_answer_of_the_same_task_whatever_the_insertion_order(
    recorded, asked_task, asked_path, tier
):
    def build(entries):
        store, answers = MemoryStore(), {}
        for task_text, path, answered_by in entries:
            messages = task(task_text) + [m for cmd, out in path for m in step(cmd, out)]
            answers[put_answer(store, messages, answered_by)] = (messages, answered_by)
        return store, answers

    asked = task(asked_task) + [m for cmd, out in asked_path for m in step(cmd, out)]
    store, answers = build(recorded)
    hit = keys.response_key(chain_of(asked).head, POOL.tier(tier).spec, 0) in answers
    choice = nearest(store, asked, tier)
    assert choice == nearest(build(list(reversed(recorded)))[0], asked, tier)
    if choice is not None:
        messages, answered_by = answers[choice.key]
        assert messages[:2] == asked[:2]  # same task
        assert not (len(messages) < len(asked) and asked[: len(messages)] == messages)  # not an earlier step
        assert 0 <= choice.similarity <= 1
        assert (choice.how == "nearest-tier") == (messages == asked and answered_by != tier)
    elif not hit:
        assert all(m[:2] != asked[:2] or (len(m) < len(asked) and asked[: len(m)] == m) for m, _ in answers.values())


def test_miss_policy_parses_approximate_per_kind():
    assert str(MissPolicy.parse("approximate")) == "approximate"
    policy = MissPolicy.parse("response=approximate,observation=live")
    assert (policy.response, policy.observation, policy.evaluation) == ("approximate", "live", "error")
    assert policy.goes_live and not MissPolicy.parse("approximate").goes_live
    for bad in ("approx", "response=nearest", "reply=approximate"):
        try:
            MissPolicy.parse(bad)
        except ValueError as e:
            assert "approximate" in str(e) or "unknown object kind" in str(e)
        else:
            raise AssertionError(bad)


def context(store, policy, instance_id, steps=0):
    """A trajectory's context with `steps` model steps already served (their traces do not matter here)."""
    ctx = ReplayContext(
        pool=POOL,
        store=store,
        policy=MissPolicy.parse(policy),
        budget=LiveBudget(),
        instance_id=instance_id,
        run_config=RunConfig(3, 3.0, 300, 0.0),
    )
    ctx.steps.extend([None] * steps)
    return ctx


def observation(store, parent, command, output):
    record = ObservationRecord(
        parent=parent, action={"command": command}, output={"output": output, "returncode": 0}
    ).model_dump(mode="json")
    key = keys.observation_key(parent, {"command": command})
    store.put("observation", key, record)
    return key


def test_without_an_environment_an_observation_comes_from_the_same_action_in_the_nearest_state():
    store, env_spec = MemoryStore(), {"environment": "test"}
    root = keys.environment_root(env_spec, "i1")
    ls = observation(store, root, "ls", "a.py")
    far = observation(store, root, "cat a.py", "x = 0")
    near = observation(store, ls, "cat a.py", "x = 1")
    observation(store, keys.environment_root(env_spec, "i2"), "pwd", "/i2")
    ctx = context(store, "approximate", "i1")
    tally = ctx.tally
    env = CachedEnvironment(ctx, env_spec=env_spec, template_names=set())
    assert env.execute({"command": "ls"})["output"] == "a.py"  # a hit
    assert env.execute({"command": "cat a.py"})["output"] == "x = 1"  # a hit too: same state
    assert env.execute({"command": "cat a.py"})["output"] == "x = 1"  # the state after it was never recorded
    (approx,) = tally.approximations
    assert (approx.kind, approx.used, approx.how) == (
        "observation",
        near,
        "nearest-state",
    ) and 0 < approx.similarity < 1
    assert far != near
    try:
        env.execute({"command": "pwd"})  # recorded only for another instance
    except Incomplete as e:
        assert "never recorded in any state" in e.reason
    else:
        raise AssertionError("an action of another instance was served")


class Grader:
    spec = {"kind": "test"}

    def __init__(self, runnable=True):
        self.calls, self.runnable = 0, runnable

    def evaluate(self, instance, patch):
        self.calls += 1
        return {"resolved": "fix" in patch}


def test_an_ungraded_patch_is_graded_unstored_or_estimated_from_the_nearest_graded_one():
    instance = {"instance_id": "i1"}
    store, grader = MemoryStore(), Grader()
    live = context(store, "live", "i1")
    cached_evaluate(live, grader, instance, "+fix the bug\n")
    cached_evaluate(live, grader, instance, "+break it\n")
    objects = dict(store.objects)
    ctx = context(store, "approximate", "i1", steps=4)
    tally = ctx.tally
    key, record = cached_evaluate(ctx, grader, instance, "+fix the bugs\n")
    assert record["resolved"] and grader.calls == 3 and store.objects == objects  # graded, not stored
    assert tally.approximations[-1].model_dump() == {
        "kind": "evaluation",
        "step": 4,
        "asked": key,
        "used": key,
        "similarity": 1.0,
        "how": "live-eval",
    }
    grader.runnable = False  # as if it could not grade here
    key, record = cached_evaluate(ctx, grader, instance, "+fix the bugs\n")
    estimate = tally.approximations[-1]
    assert (
        record["resolved"]
        and grader.calls == 3
        and estimate.how == "estimated"
        and key == estimate.used != estimate.asked
    )
    assert store.get("evaluation", estimate.used)["patch"] == "+fix the bug\n" and 0.9 < estimate.similarity < 1
