"""Command start time: process start to exit, min of several runs, for what a user types first.

Run: python -m pytest bench/test_startup.py --benchmark-only -s   (numbers in the README)
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
COMMANDS = {
    "--help": ["--help"],
    "routers": ["routers"],
    "bad router spec": ["replay", "recordings/quickstart", "-r", "always:top"],
}


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "simulator", *args], cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_start(benchmark, name):
    benchmark.pedantic(wall, args=(COMMANDS[name],), rounds=RUNS, iterations=1)
    best = benchmark.stats.stats.min
    benchmark.extra_info["min_sec"] = round(best, 3)
    print(f"\ntwinsim {' '.join(COMMANDS[name])}: min {best:.2f} s over {RUNS} runs")
