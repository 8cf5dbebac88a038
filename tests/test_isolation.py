"""Routers are isolated from the replay: read-only messages, and any fault fails only the faulty router's trajectories.

Each faulty router is a real file in tmp, replayed against the committed quickstart
recording next to a good router whose runs must come out as without it.
"""

import copy
import json
import pickle
from pathlib import Path

import pytest

from simulator.report.aggregate import build_report, deterministic
from simulator.routers.readonly import FrozenDict, FrozenList, freeze

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
    # made once to check the spec, then once per trajectory: the second trajectory's router exits
    "exits_when_made": "import sys\nMADE = []\nclass Router:\n    def __init__(self):\n        MADE.append(1)\n"
    "        if len(MADE) == 3:\n            sys.exit(4)\n    def select(self, ctx):\n        return 'high'\n",
}
EXPECTED = {
    "raises": "at step 0 of {i} raised RuntimeError: boom",
    "exits": "at step 0 of {i} raised SystemExit: 3",
    "mutates": "at step 0 of {i} raised TypeError: FrozenDict.__setitem__: router context messages are read-only",
    "appends": "at step 0 of {i} raised TypeError: FrozenList.append: router context messages are read-only",
    "nested": "of {i} raised TypeError: FrozenDict.clear: router context messages are read-only",
    "garbage": "at step 0 of {i} returned {{'tier': 'high'}}; expected a RouterDecision or a tier name",
    "exits_when_made": "could not be made for {i}: SystemExit: 4",
}


def router_file(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(FAULTY[name])
    return str(path)


def replay(routers: list[str], jobs: int = 1) -> list:
    from simulator.replay.engine import run_replays
    from simulator.replay.setup import Setup

    return run_replays(Setup.from_recording(QUICKSTART), routers, INSTANCES, jobs=jobs, show_progress=False)


def good_part(results: list) -> dict:
    """The good router's runs and its table row (the Pareto flag depends on the others, so it is left out)."""
    report = deterministic(build_report(results, source={}, policy="error"))
    (row,) = [{k: v for k, v in a.items() if k != "pareto"} for a in report["routers"] if a["router"] == GOOD]
    return {"row": row, "runs": [r for r in report["runs"] if r["router"] == GOOD]}


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


def test_a_router_exiting_in_a_worker_process_fails_only_its_trajectories(tmp_path, alone):
    spec = router_file(tmp_path, "exits")
    results = replay([spec, GOOD], jobs=2)
    assert {r.status for r in results if r.router == spec} == {"incomplete"}
    assert good_part(results) == alone


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
