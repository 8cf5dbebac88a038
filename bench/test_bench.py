"""Speed: per-step key cost against trajectory length, and replay throughput.

Run: python -m pytest bench/ --benchmark-only   (see README for the numbers)
"""

from pathlib import Path

import pytest

from simulator import keys

QUICKSTART = Path(__file__).resolve().parent.parent / "recordings" / "quickstart"
OUTPUT = "x" * 2000  # a typical observation: a couple of KB of command output


def step_messages(i: int) -> list[dict]:
    return [
        {"role": "assistant", "content": f"THOUGHT: step {i}\n```bash\ncat file_{i}.py\n```", "extra": {"timestamp": i}},
        {"role": "user", "content": f"<returncode>0</returncode>\n<output>{OUTPUT}{i}</output>"},
    ]


def trajectory(steps: int) -> list[dict]:
    messages = [{"role": "system", "content": "You fix bugs." * 50}, {"role": "user", "content": "Issue: ..." * 200}]
    for i in range(steps):
        messages += step_messages(i)
    return messages


@pytest.mark.parametrize("length", [10, 100, 1000])
def test_per_step_key_cost(benchmark, length):
    """Key of the next step of a trajectory that is `length` steps long, as the agent grows it:
    append one step (assistant + observation) and derive the response key. Each round is the
    following step, so the lengths measured are length … length+20."""
    spec = keys.tier_spec("openai/m", {"temperature": 0})
    messages, chain = trajectory(0), keys.PrefixChain()
    for i in range(length):  # grown step by step, like a real trajectory
        messages += step_messages(i)
        chain.extend_to(messages)
    counter = iter(range(length, length + 1000))

    def next_step():
        messages.extend(step_messages(next(counter)))
        return keys.response_key(chain.extend_to(messages), spec, 0)

    benchmark.pedantic(next_step, rounds=20, iterations=1, warmup_rounds=2)


@pytest.mark.skipif(not (QUICKSTART / "manifest.json").is_file(), reason="no quickstart recording")
def test_replay_throughput(benchmark):
    """Strict replay of every run of the quickstart recording, in process (imports excluded)."""
    from simulator.engine import Setup, run_replays
    from simulator.recording import load_recording
    from simulator.suite import load_suite

    manifest = load_recording(QUICKSTART).manifest
    setup = Setup(pool=manifest.pool, agent=manifest.agent, suite=load_suite(manifest.suite["name"]), recording=QUICKSTART)
    routers = list(dict.fromkeys(r.router for r in manifest.runs))
    instances = sorted({r.instance_id for r in manifest.runs})
    results = benchmark.pedantic(lambda: run_replays(setup, routers, instances, show_progress=False), rounds=3)
    steps = sum(len(r.steps) for r in results)
    assert all(r.status != "incomplete" for r in results)
    benchmark.extra_info["steps"] = steps
    benchmark.extra_info["steps_per_sec"] = steps / benchmark.stats.stats.mean
    live_sec = sum(s["live_wall_sec"] for s in manifest.made_with.get("sessions", []))
    benchmark.extra_info["live_wall_sec"] = live_sec
    benchmark.extra_info["replay_vs_live_speedup"] = live_sec / benchmark.stats.stats.mean
