"""The built wheel works without the checkout: installed (not editable) into a new virtual environment, run from
another directory, it lists the built-in pools, replays the quickstart strictly and scores a bank statically.

Offline: the wheel is built without build isolation and installed without dependencies; the new environment
sees the dependencies this interpreter already has through a path file (never this checkout's code).
"""

import gzip
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import twinsim

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT / "recordings" / "quickstart-bank.jsonl"
OUTSIDE = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing may point back at the checkout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `twinsim` script of a fresh virtual environment holding only the wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT / "simulator", source / "simulator", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(tmp)], check=True)
    (wheel,) = tmp.glob("twinsim-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True)
    where = subprocess.run(
        [python, "-c", "import simulator; print(simulator.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp,
        env=OUTSIDE,
    )
    assert where.stdout.startswith(str(venv)), where  # the wheel's code, not the checkout's
    return venv / "bin" / "twinsim"


def run(script: Path, *args: str, cwd: Path) -> str:
    result = subprocess.run([script, *args], capture_output=True, text=True, cwd=cwd, env=OUTSIDE, timeout=900)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_wheel_lists_the_built_in_pools(installed, tmp_path):
    out = run(installed, "pools", cwd=tmp_path)
    assert "local" in out and "twinrouterbench" in out


def test_the_wheel_replays_the_quickstart_strictly_as_the_checkout_does(installed, tmp_path):
    out = run(installed, "replay", str(ROOT / "recordings" / "quickstart"), "--json", "-", "-q", cwd=tmp_path)
    assert out == gzip.decompress((ROOT / "tests" / "golden" / "replay.json.gz").read_bytes()).decode()


def test_the_wheel_scores_a_bank_statically_as_the_checkout_does(installed, tmp_path):
    args = ("static", "score", str(BANK), "-r", "always:low", "-r", "always:high", "--json", "-")
    assert run(installed, *args, cwd=tmp_path) == twinsim(*args, cwd=ROOT).stdout
