"""The pytest plugin, run as a user runs it: pytest in a new process on a test file that uses the marker and fixture."""

import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import INSTANCE, TEST_KEY, twinsim, write_agent, write_pool

from simulator.testing import LeftRecording, TwinsimReport, replay_router

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "recordings" / "quickstart"
LEAVES = "schedule:tiers=high/high/low,then=high"  # on retrykit its step-3 prefix holds a low answer never followed

TESTS = f"""
import litellm
import pytest

QUICKSTART = {str(QUICKSTART)!r}


@pytest.fixture(autouse=True)
def no_live_calls(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("LIVE CALL MADE")

    monkeypatch.setattr(litellm, "completion", refuse)


@pytest.mark.twinsim(recording=QUICKSTART)
def test_always_high_resolves_wordfreq_only(twinsim):
    report = twinsim("always:high")
    assert (report.resolved, report.n, report.incomplete, report.live_calls) == (1, 16, 0, 0)
    assert report.resolved_instances == ["twinsim__wordfreq-1"]
    assert all(step.tier == "high" for step in report.run("twinsim__wordfreq-1").steps)


class Cheap:
    def select(self, ctx):
        return "low"


@pytest.mark.twinsim(recording=QUICKSTART, instances=["twinsim__wordfreq-1"])
def test_a_class_and_a_function_are_routers(twinsim):
    assert twinsim(Cheap).resolved == 0
    assert twinsim(lambda ctx: "high", label="high-fn").aggregate["router"] == "high-fn"


@pytest.mark.twinsim(recording=QUICKSTART, instances=["twinsim__retrykit-1"])
def test_a_router_that_leaves_the_recording(twinsim):
    report = twinsim({LEAVES!r})
    assert report.approximate == 1 and report.incomplete == 0  # only reached under --twinsim-record-mode=approximate
"""


def plugin_args() -> list[str]:
    """The plugin registers through its entry point once the package is installed; before that, by name."""
    installed = any(e.value == "simulator.pytest_plugin" for e in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "simulator.pytest_plugin"]


def run_tests(pytester, *args):
    pytester.makepyfile(test_router=TESTS)
    return pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", *args, timeout=600)


def test_strict_mode_passes_recorded_routers_and_fails_one_that_leaves_naming_where(pytester):
    result = run_tests(pytester)
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "LIVE CALL MADE" not in out
    assert f"{LEAVES} left the recording on twinsim__retrykit-1 at step 3 (response miss)" in out
    assert "first differing message: #5 (assistant), field content" in out
    assert "no live call was made" in out and "Traceback" not in out


def test_approximate_mode_continues_and_marks_the_run(pytester):
    run_tests(pytester, "--twinsim-record-mode", "approximate").assert_outcomes(passed=3)


def test_the_record_mode_comes_from_the_ini_file_too_and_is_checked(pytester):
    pytester.makeini("[pytest]\ntwinsim_record_mode = approximate\n")
    run_tests(pytester).assert_outcomes(passed=3)
    pytester.makeini("[pytest]\ntwinsim_record_mode = sometimes\n")
    assert "twinsim_record_mode = 'sometimes'" in run_tests(pytester).stderr.str()


def test_the_fixture_without_the_marker_is_a_clear_error(pytester):
    pytester.makepyfile("def test_x(twinsim):\n    twinsim('always:high')\n")
    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert 'needs @pytest.mark.twinsim(recording="...")' in result.stdout.str()


def test_replay_router_helper_returns_runs_and_steps():
    report = replay_router(QUICKSTART, "always:low", instances=["twinsim__wordfreq-1", "twinsim__tempconv-1"])
    assert isinstance(report, TwinsimReport) and report.n == 2 and report.resolved == 0
    assert [r.instance_id for r in report.runs] == ["twinsim__wordfreq-1", "twinsim__tempconv-1"]
    assert report.run("twinsim__tempconv-1").steps[0].source == "hit"
    with pytest.raises(LeftRecording, match="at step 3"):
        replay_router(QUICKSTART, LEAVES, instances=["twinsim__retrykit-1"])
    with pytest.raises(ValueError, match="unknown record mode"):
        replay_router(QUICKSTART, "always:low", record_mode="once")


LIVE_TESTS = """
import pytest

@pytest.mark.twinsim(recording="recording")
def test_high(twinsim):
    report = twinsim("always:high")
    print("LIVE", report.live_calls, "INCOMPLETE", report.incomplete)
"""


def live_recording(tmp_path_factory, api_base, pytester) -> Path:
    d = tmp_path_factory.mktemp("plugin")
    pool, agent = write_pool(d / "pool.yaml", api_base), write_agent(d / "agent.yaml", step_limit=2)
    out = pytester.path / "recording"
    twinsim(*f"record --pool {pool} --agent {agent} -r always:low -i {INSTANCE} --out {out} -q".split(), cwd=d)
    return out


def run_live(pytester, mode: str) -> tuple[int, int]:
    pytester.makepyfile(test_live=LIVE_TESTS)
    result = pytester.runpytest_subprocess(
        *plugin_args(), "-p", "no:cacheprovider", "-s", "--twinsim-record-mode", mode, timeout=600
    )
    result.assert_outcomes(passed=1)
    line = next(x for x in result.stdout.lines if "LIVE " in x)
    *_, live, _, incomplete = line.split()
    return int(live), int(incomplete)


@pytest.mark.live
@pytest.mark.parametrize("mode", ["new_episodes", "all"])
def test_recording_modes_call_live_and_write_into_the_recording(
    mode, pytester, tmp_path_factory, smollm2_api_base, monkeypatch
):
    monkeypatch.setenv("TWINSIM_TEST_KEY", TEST_KEY)
    recording = live_recording(tmp_path_factory, smollm2_api_base, pytester)
    before = json.loads((recording / "manifest.json").read_text())
    live, incomplete = run_live(pytester, mode)
    assert live > 0 and incomplete == 0
    after = json.loads((recording / "manifest.json").read_text())
    assert len(after["made_with"]["sessions"]) == len(before["made_with"]["sessions"]) + 1
    assert f"--twinsim-record-mode {mode}" in after["made_with"]["sessions"][-1]["command"]
    assert {r["router"] for r in after["runs"]} == {"always:low", "always:high"}
    # What was recorded now replays strictly, with no live call.
    assert run_live(pytester, "none") == (0, 0)
    shutil.rmtree(recording)


def test_the_ci_example_passes_and_its_baseline_is_todays_replay(tmp_path):
    example = ROOT / "examples" / "ci"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *plugin_args(), "-p", "no:cacheprovider", "-q", str(example)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr
    fresh = twinsim("replay", str(QUICKSTART), "-r", "always:high", "--json", "-", "-q").stdout
    assert fresh == (example / "baseline.json").read_text()  # regenerate it with the command in the README
    (tmp_path / "fresh.json").write_text(fresh)
    gate = twinsim("check", str(tmp_path / "fresh.json"), "--baseline", str(example / "baseline.json"))
    assert gate.stdout.startswith("PASS always:high")
    assert "uses: actions/checkout" in (example / "github-actions.yml").read_text()
