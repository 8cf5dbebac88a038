"""Strict replay speed in one process, on the same prompts: twinsim's fast path (transitions learned by
an earlier replay in the process), twinsim's agent loop (`--no-fast-path`), litellm's own in-memory cache
(the anchor: what a user gets by turning on litellm caching) and the hash-and-lookup floor (hash each
step's new messages, look the answer up in a dict). Prints steps/s and the ratios.

Run: python -m pytest bench/test_replay_speed.py --benchmark-only -s   (needs the `bench` extra; numbers in README)
"""

import copy
import time
from pathlib import Path

import pytest

from simulator import keys

QUICKSTART = Path(__file__).resolve().parent.parent / "recordings" / "quickstart"
ROUNDS = 3
UNREACHABLE = "http://127.0.0.1:9/v1"  # a litellm cache miss fails at once instead of calling a model


def messages_at(objects: dict, node: str) -> list[dict]:
    """The normalized messages of a prefix node, from the recording's trie."""
    out = []
    while node != keys.ROOT:
        prefix = objects[("prefix", node)]
        out.append(objects[("message", prefix["message"])]["message"])
        node = prefix["parent"]
    return out[::-1]


def served_steps(objects: dict, results) -> list[list[tuple[dict, list[dict], dict]]]:
    """Per trajectory, every step's (tier spec, prompt, response record) as the replay served them."""
    trajectories = []
    for run in results:
        steps = []
        for step in run.steps:
            record = objects[("response", step.response)]
            steps.append((record["tier"], messages_at(objects, record["prefix"]), record))
        trajectories.append(steps)
    return trajectories


def floor(trajectories, answers: dict) -> int:
    """Hash-and-lookup: per trajectory a growing message list, each step hashes its new messages."""
    found = 0
    for steps in trajectories:
        chain, messages = keys.PrefixChain(), []
        for spec, prompt, _ in steps:
            messages.extend(prompt[len(messages) :])
            found += keys.response_key(chain.extend_to(messages), spec, 0) in answers
    return found


def litellm_calls(trajectories):
    """Every step as a litellm completion call with caching on (the same model string and parameters)."""
    return [
        {"model": spec["model"], "messages": prompt, "api_base": UNREACHABLE, "api_key": "none", **spec["params"]}
        for steps in trajectories
        for spec, prompt, _ in steps
    ]


def prime_litellm(trajectories) -> None:
    """litellm's in-memory cache, holding every recorded response under litellm's own key of its call."""
    import litellm
    from litellm.caching.caching import Cache

    # A fair anchor answers every step from the cache: by default litellm neither stores nor looks up
    # a request of more than 4 messages, and keeps 200 items.
    litellm.cache = Cache(type="local", max_messages=None)
    litellm.cache.cache.max_size_in_memory = 10 * sum(len(steps) for steps in trajectories)
    records = [record for steps in trajectories for _, _, record in steps]
    for call, record in zip(litellm_calls(trajectories), records, strict=True):
        litellm.cache.add_cache(litellm.ModelResponse(**copy.deepcopy(record["raw"])), **call)


def ask_litellm(calls) -> int:
    import litellm

    hits = 0
    for call in calls:
        try:
            response = litellm.completion(**call, caching=True, num_retries=0)
        except Exception:  # a miss: the unreachable endpoint refuses at once
            continue
        hits += bool(response._hidden_params.get("cache_hit"))
    return hits


def best(fn, rounds: int = ROUNDS) -> tuple[float, float]:
    """Best wall time and best CPU time of `rounds` calls (other jobs share the 2 cores: CPU time says what
    this process spent)."""
    times, cpu_times = [], []
    for _ in range(rounds):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
    return min(times), min(cpu_times)


@pytest.mark.skipif(not (QUICKSTART / "manifest.json").is_file(), reason="no quickstart recording")
def test_replay_speed(benchmark):
    pytest.importorskip("fastapi", reason="litellm's cache path needs the bench extra: pip install -e '.[bench]'")
    from simulator.replay.engine import run_replays
    from simulator.replay.setup import Setup

    setup = Setup.from_recording(QUICKSTART)
    objects = setup.load().objects
    routers, instances = setup.recorded_runs
    loop_only = Setup.from_recording(QUICKSTART, fast_path=False)
    loop_only._loaded = setup.load()
    agent_loop = lambda: run_replays(loop_only, routers, instances, show_progress=False)
    fast_path = lambda: run_replays(setup, routers, instances, show_progress=False)
    results = fast_path()  # the agent loop, learning the transitions
    assert all(r.exact for r in results)
    trajectories = served_steps(objects, results)
    steps = sum(len(t) for t in trajectories)

    benchmark.pedantic(fast_path, rounds=ROUNDS)
    answers = {k: v for (kind, k), v in objects.items() if kind == "response"}
    assert floor(trajectories, answers) == steps
    prime_litellm(trajectories)
    calls = litellm_calls(trajectories)
    hits = ask_litellm(calls)
    timed = {  # (wall, CPU) seconds
        "fast path": best(fast_path),
        "agent loop": best(agent_loop),
        "hash-and-lookup floor": best(lambda: floor(trajectories, answers)),
        "litellm in-memory cache": best(lambda: ask_litellm(calls)),
    }
    rates = {name: (steps / wall, steps / cpu) for name, (wall, cpu) in timed.items()}

    anchor, cpu_anchor = rates["litellm in-memory cache"]
    benchmark.extra_info.update(steps=steps, litellm_cache_hits=hits)
    for name, (rate, cpu_rate) in rates.items():
        benchmark.extra_info[name.replace(" ", "_") + "_steps_per_sec"] = round(rate)
        benchmark.extra_info[name.replace(" ", "_") + "_steps_per_cpu_sec"] = round(cpu_rate)
    print(f"\n{len(results)} trajectories, {steps} steps; litellm cache hits: {hits} of {steps}")
    for name, (rate, cpu_rate) in rates.items():
        print(
            f"{name:>24}: {rate:>9,.0f} steps/s  ({rate / anchor:6.1f}x litellm's cache); "
            f"{cpu_rate:>9,.0f} per CPU second ({cpu_rate / cpu_anchor:6.1f}x)"
        )
