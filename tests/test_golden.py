"""The README's outputs on the committed quickstart, byte for byte: a refactoring must not change a number.

An intended change of results regenerates them (`TWINSIM_UPDATE_GOLDEN=1 pytest tests/test_golden.py`)
in the commit that explains it.
"""

import difflib
import gzip
import os
from pathlib import Path

import pytest
from conftest import twinsim

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
QUICKSTART = "recordings/quickstart"
BANK = "recordings/quickstart-bank.jsonl"
COMMANDS = {
    "replay": ["replay", QUICKSTART, "--json", "-", "-q"],
    "approx": ["replay", QUICKSTART, "--on-miss", "approximate", "-r", "always:high", "-r", "random:seed=3",
               "-r", "escalate", "-r", "cache-aware", "--json", "-", "-q"],
    "static": ["static", "score", BANK, "-r", "always:low", "-r", "always:mid", "-r", "always:high",
               "-r", "random:seed=1", "-r", f"knn:bank={BANK},k=3", "--json", "-"],
    "gap": ["gap", QUICKSTART, "--bank", BANK, "--json", "-", "-q"],
    "compare": ["compare", QUICKSTART, "always:high", "always:low", "--json", "-", "-q"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_output_is_byte_identical_to_the_golden_file(name):
    out = twinsim(*COMMANDS[name], cwd=ROOT).stdout
    path = GOLDEN / f"{name}.json.gz"
    if os.environ.get("TWINSIM_UPDATE_GOLDEN"):
        path.write_bytes(gzip.compress(out.encode(), mtime=0))
    expected = gzip.decompress(path.read_bytes()).decode()
    if out != expected:
        diff = difflib.unified_diff(expected.splitlines(), out.splitlines(), "golden", "now", n=2, lineterm="")
        pytest.fail(f"`twinsim {' '.join(COMMANDS[name])}` changed:\n" + "\n".join(list(diff)[:60]))
