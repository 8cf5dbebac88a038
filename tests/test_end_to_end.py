"""Record with a real local model over HTTP, replay in new processes, compare.
(What needs no model server is in test_offline_cli.py.)

SmolLM2-135M is served by llama.cpp (xllamacpp) on 127.0.0.1 and reached through
litellm exactly as a hosted provider would be; the agent is mini-swe-agent's
DefaultAgent; grading is swebench's.
"""

import gzip
import json
import os
import signal
import subprocess
import sys
import time

import diskcache
import pytest
from conftest import INSTANCE, TEST_KEY, twinsim, write_agent, write_pool

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, smollm2_api_base):
    """One live recording: always:low with fan-out to `high` at every visited prefix."""
    d = tmp_path_factory.mktemp("rec")
    pool, agent = write_pool(d / "pool.yaml", smollm2_api_base), write_agent(d / "agent.yaml")
    result = twinsim(
        "record",
        "--pool",
        str(pool),
        "--agent",
        str(agent),
        "-r",
        "always:low",
        "-i",
        INSTANCE,
        "--fanout",
        "--out",
        str(d / "recording"),
        "--cache",
        str(d / "cache"),
        "--json",
        "-",
        "-q",
    )
    return {
        "dir": d,
        "pool": pool,
        "agent": agent,
        "report": json.loads(result.stdout),
        "recording": d / "recording",
        "cache": d / "cache",
    }


def replay_json(recording, *args):
    return twinsim("replay", str(recording), "--json", "-", "-q", *args).stdout


def test_strict_replay_reproduces_the_recorded_run_exactly(recorded):
    live_run = recorded["report"]["runs"][0]
    assert live_run["live"]["response"] == len(live_run["steps"]) > 0
    first, second = replay_json(recorded["recording"]), replay_json(recorded["recording"])
    assert first == second  # byte-identical across two fresh processes
    replayed = json.loads(first)["runs"][0]
    assert replayed["live"] == {} and replayed["misses"] == {}
    for field in ("status", "exit_status", "spend_usd", "observations", "evaluation"):
        assert replayed[field] == live_run[field], field
    assert [s | {"source": "live"} for s in replayed["steps"]] == live_run["steps"]
    assert all(step["source"] == "hit" for step in replayed["steps"])


def test_fanout_stored_the_other_tier_at_visited_prefixes(recorded):
    run = recorded["report"]["runs"][0]
    assert run["live"]["fanout"] == len(run["steps"])  # one `high` answer per visited prefix
    report = json.loads(replay_json(recorded["recording"], "-r", "always:high"))
    high = report["runs"][0]
    assert high["steps"][0]["source"] == "hit" and high["steps"][0]["tier"] == "high"


def test_leaving_the_recorded_paths_gives_incomplete_with_a_reason(recorded):
    report = json.loads(replay_json(recorded["recording"], "-r", "always:high", "-r", "always:low"))
    high, low = report["runs"]
    if high["status"] == "incomplete":  # high's own answer led off the recorded tree
        assert high["reason"].startswith(f"response miss at step {len(high['steps'])}: tier high")
    assert low["status"] != "incomplete"
    agg = {a["router"]: a for a in report["routers"]}
    assert agg["always:high"]["incomplete"] == (high["status"] == "incomplete")
    lo, hi = agg["always:high"]["resolved_rate_bounds"]
    assert lo <= hi


def test_no_api_key_or_auth_header_is_stored(recorded):
    blobs = [
        gzip.decompress((recorded["recording"] / "objects.jsonl.gz").read_bytes()),
        (recorded["recording"] / "manifest.json").read_bytes(),
    ]
    cache = diskcache.Cache(str(recorded["cache"]))
    blobs += [cache[k] for k in cache.iterkeys()]
    blobs += [p.read_bytes() for p in recorded["cache"].rglob("*") if p.is_file()]
    for blob in blobs:
        data = blob if isinstance(blob, bytes) else str(blob).encode()
        assert TEST_KEY.encode() not in data
        assert b"Bearer " not in data and b"authorization" not in data.lower()


def test_router_errors_end_only_that_trajectory(recorded, tmp_path):
    bad = tmp_path / "bad_router.py"
    bad.write_text(
        "def select(ctx):\n    if ctx.step_index == 1:\n        raise RuntimeError('no idea')\n    return 'low'\n"
    )
    report = json.loads(replay_json(recorded["recording"], "-r", str(bad), "-r", "always:low"))
    bad_run, good_run = report["runs"]
    if len(good_run["steps"]) > 1:
        assert bad_run["status"] == "incomplete"
        assert bad_run["reason"] == f"router '{bad}' at step 1 of {INSTANCE} raised RuntimeError: no idea"
    assert good_run["status"] != "incomplete"


def test_the_spend_cap_ends_the_trajectory_cleanly(recorded, tmp_path):
    capped = twinsim(
        "record",
        "--pool",
        str(recorded["pool"]),
        "--agent",
        str(recorded["agent"]),
        "-r",
        "always:low",
        "-i",
        INSTANCE,
        "--max-live-usd",
        "0.0000001",
        "--out",
        str(tmp_path / "r2"),
        "--cache",
        str(tmp_path / "c2"),
        "--json",
        "-",
        "-q",
    )
    run = json.loads(capped.stdout)["runs"][0]
    assert run["status"] == "incomplete" and "live spend cap reached" in run["reason"]
    assert run["live"]["response"] == 1  # the first call crossed the cap; no second call was made


def test_sigkill_mid_record_loses_nothing_and_reissues_no_stored_call(tmp_path, smollm2_api_base):
    pool, agent = (
        write_pool(tmp_path / "pool.yaml", smollm2_api_base),
        write_agent(tmp_path / "agent.yaml", step_limit=5),
    )
    cache = tmp_path / "cache"
    args = [
        sys.executable,
        "-m",
        "simulator",
        "record",
        "--pool",
        str(pool),
        "--agent",
        str(agent),
        "-r",
        "always:low",
        "-i",
        INSTANCE,
        "--out",
        str(tmp_path / "rec"),
        "--cache",
        str(cache),
        "--json",
        "-",
        "-q",
    ]
    env = os.environ | {"TWINSIM_TEST_KEY": TEST_KEY}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    responses = lambda: (
        {k: diskcache.Cache(str(cache))[k] for k in diskcache.Cache(str(cache)).iterkeys() if k.startswith("response/")}
        if cache.exists()
        else {}
    )
    deadline = time.monotonic() + 300
    while len(responses()) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = responses()
    assert len(before) >= 2, "the recorder stored too little before the kill"
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=True)
    run = json.loads(result.stdout)["runs"][0]
    after = responses()
    assert all(after[k] == v for k, v in before.items())  # nothing lost or rewritten
    assert run["hits"]["response"] == len(before)  # every stored call was served from the cache
    assert run["live"].get("response", 0) == len(run["steps"]) - len(before)
