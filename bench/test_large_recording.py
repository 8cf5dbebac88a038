"""A ~20 MB recording: load time with full verification, strict replay speed of every run (the agent loop,
which teaches the fast path, then the fast path), peak memory.

The recording is built from the ten real mini-swe-agent runs in tests/data (SWE-bench Verified, Gemini 3
Pro, 31-32 calls at most), copied 75 times with their own task each: 750 trajectories of real shape and
size, nothing shared between copies. Load and replay run in a fresh process, so its peak RSS is theirs.

Run: python -m pytest bench/test_large_recording.py --benchmark-only -s   (numbers in the README)
Set TWINSIM_BENCH_LARGE=DIR to keep the built recording in DIR between runs.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from copies import write_copies

from simulator.config import Pricing

ROOT = Path(__file__).resolve().parent.parent
COPIES = 75  # x 10 runs = 750 trajectories, ~20 MB
PRICING = Pricing(input=2, cache_read=0.2, cache_write=2, output=12)

MEASURE = """
import json, resource, sys, time
from simulator.replay.engine import run_replays
from simulator.replay.setup import Setup

setup = Setup.from_recording(sys.argv[1])
start, cpu = time.perf_counter(), time.process_time()
setup.load()
load, load_cpu = time.perf_counter() - start, time.process_time() - cpu
instances = [i["instance_id"] for i in setup.suite.instances]
start = time.perf_counter()
results = run_replays(setup, ["always:high"], instances, show_progress=False)  # the agent loop, learning
agent_loop = time.perf_counter() - start
start, cpu = time.perf_counter(), time.process_time()
walked = run_replays(setup, ["always:high"], instances, show_progress=False)  # the fast path
fast_path, fast_path_cpu = time.perf_counter() - start, time.process_time() - cpu
assert all(r.exact for r in results), [r.reason for r in results if not r.exact][:3]
assert [r.model_dump() for r in walked] == [r.model_dump() for r in results]
steps = sum(len(r.steps) for r in results)
print(json.dumps({
    "trajectories": len(results),
    "steps": steps,
    "objects": len(setup.load().objects),
    "load_sec": round(load, 2),
    "load_cpu_sec": round(load_cpu, 2),
    "agent_loop_steps_per_sec": round(steps / agent_loop),
    "fast_path_steps_per_sec": round(steps / fast_path),
    "fast_path_steps_per_cpu_sec": round(steps / fast_path_cpu),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
}))
"""


def build(out: Path) -> Path:
    """Import the copies into OUT (once: kept when OUT already holds a recording)."""
    from simulator.imports.importer import import_runs

    if (out / "manifest.json").is_file():
        return out
    runs = write_copies(out.parent / (out.name + "-runs"), COPIES)
    import_runs([runs], out, tier="high", pricing=PRICING, reports_dir=runs / "logs")
    return out


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    keep = os.environ.get("TWINSIM_BENCH_LARGE")
    return build(Path(keep) if keep else tmp_path_factory.mktemp("large") / "recording")


def test_large_recording(benchmark, large):
    measured = {}

    def measure():
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, str(large)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        measured.update(json.loads(out.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(measure, rounds=1, iterations=1)
    megabytes = (large / "objects.jsonl.gz").stat().st_size / 1e6
    benchmark.extra_info.update(recording_mb=round(megabytes, 1), **measured)
    print(
        f"\n{megabytes:.1f} MB recording, {measured['objects']} objects, {measured['trajectories']} trajectories, "
        f"{measured['steps']} steps: loaded and verified in {measured['load_sec']} s "
        f"({measured['load_cpu_sec']} s CPU); strict replay "
        f"{measured['fast_path_steps_per_sec']:,} steps/s through the fast path "
        f"({measured['fast_path_steps_per_cpu_sec']:,} per CPU second), "
        f"{measured['agent_loop_steps_per_sec']:,} through the agent loop (learning); "
        f"peak RSS {measured['peak_rss_mb']} MB"
    )
