"""Routers are isolated from the replay: read-only messages, and any fault fails only the faulty router's trajectories.

Each faulty router is a real file in tmp, replayed against the committed quickstart
recording next to a good router whose runs must come out as without it.
"""

import copy
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import twinsim

from simulator.report.aggregate import build_report, deterministic, report_json
from simulator.routers.deadline import Deadline
from simulator.routers.readonly import FrozenDict, FrozenList, follow, freeze

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "recordings" / "quickstart"
INSTANCES = ["twinsim__tempconv-1", "twinsim__wordfreq-1"]
GOOD = "always:high"

FAULTY = {
    "raises": "def select(ctx):\n    raise RuntimeError('boom')\n",
    "exits": "import sys\ndef select(ctx):\n    sys.exit(3)\n",
    "mutates": "def select(ctx):\n    ctx.messages[-1]['content'] = 'edited by the router'\n    return 'high'\n",
    "appends": "def select(ctx):\n    ctx.messages.append({'role': 'user'})\n    return 'high'\n",
    "nested": "def select(ctx):\n    for m in ctx.messages:\n        if m.get('extra'):\n"
    "            m['extra'].clear()\n    return 'high'\n",
    "garbage": "def select(ctx):\n    return {'tier': 'high'}\n",
    "sleeps": "import time\ndef select(ctx):\n    time.sleep(60)\n",
    "swallows": "import time\ndef select(ctx):\n    while True:\n        try:\n            time.sleep(60)\n"
    "        except Exception:\n            pass\n",
    "swallows_all": "import time\ndef select(ctx):\n    try:\n        time.sleep(60)\n    except BaseException:\n"
    "        pass\n    return 'high'\n",
    # made once to check the spec, then per trajectory: from the second trajectory on it exits
    "exits_when_made": "import sys\nMADE = []\nclass Router:\n    def __init__(self):\n        MADE.append(1)\n"
    "        if len(MADE) >= 3:\n            sys.exit(4)\n    def select(self, ctx):\n        return 'high'\n",
}
EXPECTED = {
    "raises": "at step 0 of {i} raised RuntimeError: boom",
    "exits": "at step 0 of {i} raised SystemExit: 3",
    "mutates": "at step 0 of {i} raised TypeError: FrozenDict.__setitem__: router context messages are read-only",
    "appends": "at step 0 of {i} raised TypeError: FrozenList.append: router context messages are read-only",
    "nested": "of {i} raised TypeError: FrozenDict.clear: router context messages are read-only",
    "garbage": "at step 0 of {i} returned {{'tier': 'high'}}; expected a RouterDecision or a tier name",
    "sleeps": "at step 0 of {i}: no answer within 1 s (--select-timeout)",
    "swallows": "at step 0 of {i}: no answer within 1 s (--select-timeout)",
    "swallows_all": "at step 0 of {i}: no answer within 1 s (--select-timeout)",
    "exits_when_made": "could not be made for {i}: SystemExit: 4",
}


def router_file(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(FAULTY[name])
    return str(path)


def replay(routers: list[str], jobs: int = 1) -> list:
    from simulator.replay.engine import run_replays
    from simulator.replay.setup import Setup

    setup = Setup.from_recording(QUICKSTART, select_timeout_sec=1.0)
    return run_replays(setup, routers, INSTANCES, jobs=jobs, show_progress=False)


def good_part(results: list) -> dict:
    """The good router's table row and runs, as the JSON report writes them."""
    report = deterministic(build_report(results, source={}, policy="error"))
    (row,) = [a for a in report["routers"] if a["router"] == GOOD]
    return report_json({"row": row, "runs": [r for r in report["runs"] if r["router"] == GOOD]})


@pytest.fixture(scope="module")
def alone():
    return good_part(replay([GOOD]))


@pytest.mark.parametrize("name", sorted(FAULTY))
def test_a_faulty_router_fails_only_its_own_trajectories(tmp_path, alone, name):
    spec = router_file(tmp_path, name)
    results = replay([spec, GOOD])
    faulty = [r for r in results if r.router == spec]
    if name == "exits_when_made":
        faulty = faulty[1:]  # the first trajectory's router was made
    assert faulty and {r.status for r in faulty} == {"incomplete"}
    for run in faulty:
        assert run.reason.startswith(f"router {spec!r} ")
        assert EXPECTED[name].format(i=run.instance_id) in run.reason
    assert good_part(results) == alone


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import sys\nsys.exit(2)\n", "loading {path} raised SystemExit: 2"),
        (
            "import sys\nclass Router:\n    def __init__(self):\n        sys.exit(5)\n",
            "cannot be created: SystemExit: 5",
        ),
    ],
)
def test_a_router_that_exits_before_it_exists_is_a_bad_spec(tmp_path, source, message):
    from simulator.replay.setup import Setup
    from simulator.routers.registry import router_factory

    path = tmp_path / "router.py"
    path.write_text(source)
    with pytest.raises(ValueError, match=message.format(path=path)):
        router_factory(str(path), Setup.from_recording(QUICKSTART).pool)


@pytest.mark.parametrize("name", ["exits", "sleeps"])
def test_a_faulty_router_in_a_worker_process_fails_only_its_trajectories(tmp_path, alone, name):
    spec = router_file(tmp_path, name)
    results = replay([spec, GOOD], jobs=2)
    for run in results[: len(INSTANCES)]:
        assert run.router == spec and EXPECTED[name].format(i=run.instance_id) in run.reason
    assert good_part(results) == alone


def test_select_timeout_flag_on_the_command_line(tmp_path):
    spec = router_file(tmp_path, "sleeps")
    args = ["replay", str(QUICKSTART), "-r", spec, "-i", INSTANCES[0], "--json", "-", "-q"]
    (run,) = json.loads(twinsim(*args, "--select-timeout", "0.5").stdout)["runs"]
    assert run["reason"] == f"router {spec!r} at step 0 of {INSTANCES[0]}: no answer within 0.5 s (--select-timeout)"
    refused = twinsim(*args, "--select-timeout", "-1", check=False)
    assert refused.returncode == 2 and "--select-timeout" in refused.stderr


def test_an_alarm_set_outside_still_fires_after_a_time_limit():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(time.monotonic()))
    try:
        start = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0.4)
        with Deadline(5) as deadline:  # longer than the outer alarm: left alone
            time.sleep(0.05)
        with Deadline(0.1) as inner:
            time.sleep(0.05)
        time.sleep(1)
        assert not deadline.expired and not inner.expired and len(fired) == 1 and fired[0] - start >= 0.39
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- the read-only views themselves ----------------------------------------------------------


MESSAGES = [
    {"role": "user", "content": [{"type": "text", "text": "fix it"}]},
    {"role": "assistant", "content": "ls", "extra": {"actions": [{"command": "ls"}]}},
]


def test_views_read_like_the_messages_and_serialise_like_them():
    view = FrozenList(MESSAGES)
    assert view == MESSAGES and view[1] == MESSAGES[1] and isinstance(view[1], dict)
    assert json.dumps(view) == json.dumps(MESSAGES)
    assert json.dumps(view[1], indent=1, sort_keys=True) == json.dumps(MESSAGES[1], indent=1, sort_keys=True)
    assert isinstance(view[0]["content"], FrozenList) and isinstance(view[-1]["extra"], FrozenDict)
    assert [m["role"] for m in view] == ["user", "assistant"] and isinstance(view[:1], FrozenList)
    assert all(isinstance(v, FrozenList) for v in view[1].get("extra").values())  # nested, wrapped when read


@pytest.mark.parametrize(
    "edit",
    [
        lambda v: v.append({}),
        lambda v: v.__iadd__([{}]),
        lambda v: v.pop(),
        lambda v: v.sort(),
        lambda v: v.__setitem__(0, {}),
        lambda v: v[0].__setitem__("content", "x"),
        lambda v: v[0].update(content="x"),
        lambda v: v[0].setdefault("name", "x"),
        lambda v: v[0]["content"][0].pop("text"),
        lambda v: v[1]["extra"]["actions"].clear(),
        lambda v: [a for _, a in v[1].items()][2].clear(),
    ],
)
def test_every_edit_raises_a_type_error_and_changes_nothing(edit):
    messages = copy.deepcopy(MESSAGES)
    with pytest.raises(TypeError, match="router context messages are read-only"):
        edit(freeze(messages))
    assert messages == MESSAGES


def test_copies_of_views_are_plain_and_editable():
    messages = copy.deepcopy(MESSAGES)
    view = freeze(messages)
    for made in (copy.deepcopy(view), view.copy(), pickle.loads(pickle.dumps(view))):
        assert type(made) is list and type(made[1]) is dict and made == MESSAGES
        made[1]["extra"]["actions"].append({"command": "rm -rf /"})
        made.append({})
    assert messages == MESSAGES


def test_a_trajectorys_view_grows_with_the_agents_messages_and_is_rebuilt_when_they_change():
    messages = copy.deepcopy(MESSAGES[:1])
    view = follow(None, messages)
    messages.append(copy.deepcopy(MESSAGES[1]))
    assert follow(view, messages) is view and view == MESSAGES  # grown in place, not copied
    with pytest.raises(TypeError, match="read-only"):
        view.extend([{}])
    messages[0] = {"role": "user", "content": "another task"}  # not an extension: a new view
    rebuilt = follow(view, messages)
    assert rebuilt is not view and rebuilt == messages and view == MESSAGES
    assert follow(rebuilt, messages[:1]) == messages[:1]  # fewer messages: a new view too


# --- Ctrl-C -----------------------------------------------------------------------------------

BLOCKS = """import os, time
from pathlib import Path

def select(ctx):
    if ctx.instance_id not in {FREE!r}:
        (Path(os.environ["TWINSIM_TEST_MARKS"]) / ctx.instance_id).touch()
        time.sleep(120)
    return "high"
"""


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_writes_the_partial_report_of_what_finished_and_exits_130(tmp_path, jobs):
    """Ctrl-C as a terminal sends it (to the whole process group) once the router blocks on every worker."""
    marks = tmp_path / "marks"
    marks.mkdir()
    router = tmp_path / "blocks.py"
    router.write_text(BLOCKS.replace("{FREE!r}", repr(set(INSTANCES))))
    out = tmp_path / "report.json"
    four = [*INSTANCES, "twinsim__pagekit-1", "twinsim__slugger-1"]
    args = ["replay", str(QUICKSTART), "-r", str(router), "-r", GOOD, "--select-timeout", "0", "-j", str(jobs)]
    args += [a for i in four for a in ("-i", i)] + ["--json", str(out), "-q"]
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", *args],
        cwd=ROOT,
        env=os.environ | {"TWINSIM_TEST_MARKS": str(marks)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while len(list(marks.iterdir())) < jobs and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # the finished results reach the parent
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert "the report holds the 2 of 8 trajectories that finished" in stderr.replace("\n", " ")
    report = json.loads(out.read_text())
    assert report["partial"] == {"finished": 2, "planned": 8}
    assert [(r["router"], r["instance_id"], r["status"]) for r in report["runs"]] == [
        (str(router), "twinsim__tempconv-1", "unresolved"),
        (str(router), "twinsim__wordfreq-1", "resolved"),
    ]


def test_ctrl_c_while_the_command_line_is_still_importing_exits_130_without_a_traceback(monkeypatch, capsys):
    import builtins

    from simulator.__main__ import run

    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "simulator.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(SystemExit) as e:
        run()
    assert e.value.code == 130 and capsys.readouterr().err == "interrupted\n"


# --- environment runs ---------------------------------------------------------------------------


def test_approximate_env_runs_happen_in_a_throwaway_copy_never_the_shared_testbed(monkeypatch):
    import simulator.replay.setup as setup_module
    from simulator.replay.context import MissPolicy
    from simulator.replay.engine import run_replays
    from simulator.replay.setup import Setup

    made = []
    materialize = setup_module.materialize  # the real one, watched
    watched = lambda suite, instance, path=None: made.append(path) or materialize(suite, instance, path)
    monkeypatch.setattr(setup_module, "materialize", watched)
    setup = Setup.from_recording(QUICKSTART, policy=MissPolicy.parse("approximate"))
    (run,) = run_replays(setup, ["random:seed=3"], ["twinsim__tempconv-1"], show_progress=False)
    assert sum(a.how == "live-env" for a in run.approximations) == 6
    testbed = setup.suite.workdir_for("twinsim__tempconv-1")
    assert len(made) == 1 and made[0] != testbed and made[0].parent.name.startswith("twinsim-env-")
    assert not made[0].parent.exists()  # removed with the trajectory


def test_a_relocated_environment_looks_like_the_testbed_and_changes_only_its_copy(tmp_path):
    from minisweagent.exceptions import Submitted

    from simulator.replay.setup import Setup

    setup = Setup.from_recording(QUICKSTART)
    instance = setup.suite.instance("twinsim__tempconv-1")
    testbed = str(setup.suite.workdir_for("twinsim__tempconv-1"))
    env = setup.make_environment(instance, copy_in=tmp_path)
    out = env.execute({"command": f"cd {testbed} && pwd && touch made-here.txt && ls {tmp_path}/*/made-here.txt"})
    assert out["returncode"] == 0 and out["output"] == f"{testbed}\n{testbed}/made-here.txt\n"
    assert (tmp_path / "twinsim__tempconv-1" / "made-here.txt").is_file()
    with pytest.raises(Submitted) as submitted:
        env.execute({"command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && pwd"})
    assert submitted.value.messages[0]["content"] == f"{testbed}\n"


def test_no_env_runs_approximates_from_recorded_states_and_the_notice_counts_env_runs():
    args = ["replay", str(QUICKSTART), "-r", "random:seed=3", "-i", "twinsim__tempconv-1", "--on-miss", "approximate"]
    ran = twinsim(*args, "--json", "-", "-q")
    assert json.loads(ran.stdout)["routers"][0]["env_runs"] == 6
    assert "note: 6 actions or grades the recording lacks ran on this machine" in ran.stderr.replace("\n", " ")
    refused = twinsim(*args, "--no-env-runs", "--json", "-", "-q")
    (run,) = json.loads(refused.stdout)["runs"]  # its first unrecorded action was never recorded in any state
    assert run["status"] == "incomplete" and run["reason"].endswith("and there is no environment to run it")
    assert json.loads(refused.stdout)["routers"][0]["env_runs"] == 0 and "note:" not in refused.stderr
    live = twinsim(*args[:-1], "live", "--no-env-runs", check=False)
    assert live.returncode == 2 and "--no-env-runs forbids what `live` does" in live.stderr
