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
        {
            "role": "assistant",
            "content": f"THOUGHT: step {i}\n```bash\ncat file_{i}.py\n```",
            "extra": {"timestamp": i},
        },
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
    """Strict replay of every run of the quickstart recording, in process (imports excluded),
    against what the same objects took live: the sum of recorded model latencies, action
    durations and grading times (the manifest's session wall times also count idle waits)."""
    from simulator.replay.engine import run_replays
    from simulator.replay.setup import Setup

    setup = Setup.from_recording(QUICKSTART)
    recording, manifest = setup.load(), setup.manifest
    routers, instances = setup.recorded_runs
    results = benchmark.pedantic(lambda: run_replays(setup, routers, instances, show_progress=False), rounds=3)
    assert all(r.status != "incomplete" for r in results)
    steps = sum(len(r.steps) for r in results)
    live_ms = sum(v.get("latency_ms", 0) + v.get("duration_ms", 0) for v in recording.objects.values())
    mean = benchmark.stats.stats.mean
    benchmark.extra_info.update(
        steps=steps,
        steps_per_sec=round(steps / mean, 1),
        live_sec=round(live_ms / 1000, 1),
        session_wall_sec=sum(s["live_wall_sec"] for s in manifest.made_with.get("sessions", [])),
        replay_vs_live_speedup=round(live_ms / 1000 / mean, 1),
    )
    print(
        f"\nreplay: {steps} steps in {mean:.2f} s ({steps / mean:.0f} steps/s); "
        f"live: {live_ms / 1000:.0f} s of model, action and grading time; speedup {live_ms / 1000 / mean:.0f}x"
    )
