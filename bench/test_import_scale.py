"""Import at scale: 500 runs built from the ten shared ones, each with its own task (so nothing is
shared between copies), imported into one recording; then that recording's load time.

Run: python -m pytest bench/test_import_scale.py --benchmark-only -s   (numbers in the README)
"""

import resource
import time
from pathlib import Path

import pytest
from copies import write_copies

from simulator.config import Pricing
from simulator.imports.importer import import_runs
from simulator.recording import load_recording

COPIES = 50  # x 10 runs = 500 trajectories
PRICING = Pricing(input=2, cache_read=0.2, cache_write=2, output=12)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return write_copies(tmp_path_factory.mktemp("runs"), COPIES)


def test_import_throughput_and_load_time(benchmark, runs, tmp_path):
    files = list(runs.glob("*.traj.json"))
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    out = tmp_path / "big"
    result = benchmark.pedantic(lambda: import_runs([runs], out, tier="high", pricing=PRICING), rounds=1, iterations=1)
    seconds = benchmark.stats.stats.mean
    assert len(result.runs) == len(files) and not result.skipped
    start = time.perf_counter()
    recording = load_recording(out)
    load = time.perf_counter() - start
    size = (out / "objects.jsonl.gz").stat().st_size / 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    calls = sum(len(r.turns) for r in result.runs)
    benchmark.extra_info.update(
        trajectories=len(files),
        calls=calls,
        input_mb=round(megabytes, 1),
        recording_mb=round(size, 1),
        objects=len(recording.objects),
        load_sec=round(load, 2),
        peak_rss_mb=round(peak),
    )
    print(
        f"\nimport: {len(files)} trajectories ({calls} calls, {megabytes:.0f} MB of JSON) in {seconds:.1f} s: "
        f"{len(files) / seconds:.0f} trajectories/s, {megabytes / seconds:.1f} MB/s; recording {size:.1f} MB, "
        f"{len(recording.objects)} objects, loaded in {load:.1f} s; peak RSS {peak:.0f} MB"
    )
