"""Load and fault: three recorders on one PostgreSQL database, on the same live misses against the local llama.cpp
tier, one of them killed with SIGKILL in the middle of a model call. Every call reaches the model server once,
nothing is lost, and a strict replay of every recorded run is exact. Then three replays that go live on the
same misses at the same moment: two wait on the lease of the first, and each call is still made once."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import INSTANCE, send_json, twinsim, write_agent, write_pool
from pgserver import PASSWORD, fresh_database, postgres_server

KILLED = "key-killed"  # the API key of the recorder that is killed: the proxy knows its requests by it


class CountingProxy(ThreadingHTTPServer):
    """In front of the model server: forwards each request and keeps (API key, request body) of every call the model
    server answered. The killed recorder's request number `hold_at` is held, never forwarded."""

    daemon_threads = True

    def __init__(self, upstream: str, hold_at: int) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream, self.hold_at = upstream.rstrip("/"), hold_at
        self.forwarded: list[tuple[str, str]] = []
        self.sent_by_killed = 0
        self.holding, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.gate = None  # called once before the next forwarded request (it may wait)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Forward(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        proxy: CountingProxy = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        api_key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if api_key == KILLED:
            with proxy.lock:
                proxy.sent_by_killed += 1
                hold = proxy.sent_by_killed == proxy.hold_at
            if hold:  # the killed recorder dies in this call: the model never sees it
                proxy.holding.set()
                proxy.release.wait(900)
                self.send_error(503)
                return
        with proxy.lock:
            gate, proxy.gate = proxy.gate, None
        if gate:
            gate()
        path = self.path.removeprefix("/v1")
        request = urllib.request.Request(proxy.upstream + path, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as e:
            status, answer = e.code, e.read()
        with proxy.lock:
            proxy.forwarded.append((api_key, json.dumps(json.loads(body), sort_keys=True)))
        send_json(self, status, answer)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def pg_server():
    with postgres_server() as url:
        yield url


def _recorder(tmp_path, name: str, api_key: str, url: str, routers: list[str], instances: list[str]):
    args = [sys.executable, "-m", "simulator", "record", "--pool", str(tmp_path / "pool.yaml")]
    args += ["--agent", str(tmp_path / "agent.yaml"), "--fanout", "--store", url, "--out", str(tmp_path / name), "-q"]
    args += [a for r in routers for a in ("-r", r)] + [a for i in instances for a in ("-i", i)]
    env = os.environ | {"TWINSIM_TEST_KEY": api_key}
    return subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.live
def test_three_recorders_make_each_live_call_once_and_lose_nothing_when_one_is_killed(
    pg_server, smollm2_api_base, tmp_path
):
    url = fresh_database(pg_server)
    proxy = CountingProxy(smollm2_api_base, hold_at=3)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    write_pool(tmp_path / "pool.yaml", proxy.base)
    write_agent(tmp_path / "agent.yaml", step_limit=3)
    routers, instances = ["always:low", "always:high"], [INSTANCE, "twinsim__wordfreq-1"]
    # The doomed recorder starts first and is killed in its third model call, holding that response's lease
    # (and its instance's testbed); the other two then reach the same prefixes, in other orders.
    doomed = _recorder(tmp_path, "killed", KILLED, url, routers, instances[::-1])
    survivors = []
    try:
        assert proxy.holding.wait(900), "the doomed recorder never reached its third model call"
        survivors = [
            _recorder(tmp_path, "a", "key-a", url, routers, instances),
            _recorder(tmp_path, "b", "key-b", url, routers[::-1], instances[::-1]),
        ]
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(60)
        proxy.release.set()
        for recorder in survivors:
            out, err = recorder.communicate(timeout=1800)
            assert recorder.returncode == 0, err
            assert PASSWORD not in out + err
    finally:
        for p in [doomed, *survivors]:
            p.kill()
        proxy.shutdown()

    # Each live call reached the model server once, whoever made it; the killed call was made once, by a survivor.
    calls = Counter(body for _, body in proxy.forwarded)
    assert calls and max(calls.values()) == 1, [c for c, n in calls.items() if n > 1][:1]
    by_key = Counter(key for key, _ in proxy.forwarded)
    assert by_key[KILLED] == 2 and by_key["key-a"] + by_key["key-b"] == len(calls) - 2

    # Nothing lost: every response the model server gave is in the store, once; every run replays exactly.
    import psycopg

    with psycopg.connect(url) as conn:
        (responses,) = conn.execute("SELECT count(*) FROM twinsim_objects WHERE kind = 'response'").fetchone()
    assert responses == len(calls)
    twinsim("export", url, str(tmp_path / "all"))
    manifest = json.loads((tmp_path / "all" / "manifest.json").read_text())
    assert sorted((r["router"], r["instance_id"]) for r in manifest["runs"]) == sorted(
        (r, i) for r in routers for i in instances
    )
    report = json.loads(twinsim("replay", str(tmp_path / "all"), "--json", "-", "-q").stdout)
    assert [r["fidelity"] for r in report["runs"]] == ["exact"] * 4
    recorded = {(r["router"], r["instance_id"]): r["status"] for r in manifest["runs"]}
    assert {(r["router"], r["instance_id"]): r["status"] for r in report["runs"]} == recorded
    for name in ("a", "b"):  # the command line each survivor kept in its recording shows no password
        kept = (tmp_path / name / "manifest.json").read_text()
        assert "--store postgresql://twinsim:***@" in kept and PASSWORD not in kept

    # The same misses at the same moment: on one machine the testbed lock serialises recorders of one instance,
    # so three replays that go live on responses only (no testbed) ask for sample 1 of the recorded prefixes.
    # The proxy holds the first call until the other two wait on its lease in the database.
    proxy = CountingProxy(smollm2_api_base, hold_at=0)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    _repoint_pool(tmp_path / "all", proxy.base)
    proxy.gate = lambda: _wait_for(lambda: _lease_waiters(url) >= 2, 600)
    args = [sys.executable, "-m", "simulator", "replay", str(tmp_path / "all"), "--sample", "1", "--store", url]
    args += ["--on-miss", "response=live", "-r", "always:low", "-i", INSTANCE, "-q", "--json", "-"]
    env = os.environ | {"TWINSIM_TEST_KEY": "key-replay"}
    replays = [subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        outputs = [p.communicate(timeout=1800)[0] for p in replays]
    finally:
        for p in replays:
            p.kill()
        proxy.shutdown()
    assert all(p.returncode == 0 for p in replays)
    assert proxy.gate is None, "the first live call never went through"
    calls = Counter(body for _, body in proxy.forwarded)
    assert calls and max(calls.values()) == 1
    runs = [json.loads(out)["runs"][0] for out in outputs]
    assert sum(r["live"].get("response", 0) for r in runs) == len(calls)  # the waiters were served the answer
    assert len({tuple((s["tier"], s["response"]) for s in r["steps"]) for r in runs}) == 1  # one trajectory


def _lease_waiters(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        return conn.execute(query).fetchone()[0]


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)


def _repoint_pool(recording, api_base: str) -> None:
    """Send the recording's tiers to another address (endpoints are not part of any key)."""
    manifest = json.loads((recording / "manifest.json").read_text())
    for tier in manifest["pool"]["tiers"]:
        tier["api_base"] = api_base
    (recording / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))


@pytest.mark.live
def test_record_on_ray_fills_the_shared_store_and_replays_exactly(pg_server, smollm2_api_base, tmp_path):
    url = fresh_database(pg_server)
    write_pool(tmp_path / "pool.yaml", smollm2_api_base)
    write_agent(tmp_path / "agent.yaml", step_limit=2)
    pairs = ["-r", "always:low", "-r", "always:high", "-i", INSTANCE, "-i", "twinsim__wordfreq-1"]
    common = ["--pool", str(tmp_path / "pool.yaml"), "--agent", str(tmp_path / "agent.yaml"), "-q"]
    twinsim(
        "record", *common, *pairs, "--store", url, "--out", str(tmp_path / "rec"), "--executor", "ray", cwd=tmp_path
    )
    local = json.loads(twinsim("replay", str(tmp_path / "rec"), "--json", "-", "-q").stdout)
    assert [r["fidelity"] for r in local["runs"]] == ["exact"] * 4
    assert sum(r["live"].get("response", 0) for r in local["runs"]) == 0
