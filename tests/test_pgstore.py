"""The PostgreSQL store against a real server: the Store protocol, idempotent puts, verified reads,
export / import between it and recording folders, leases that die with their holder, no password printed."""

import os
import signal
import string
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import twinsim
from hypothesis import given
from hypothesis import strategies as st
from pgserver import PASSWORD, fresh_database, postgres_server

REPO = Path(__file__).resolve().parent.parent
QUICKSTART = REPO / "recordings" / "quickstart"


@pytest.fixture(scope="module")
def pg_server():
    with postgres_server() as url:
        yield url


@pytest.fixture
def pg_url(pg_server):
    return fresh_database(pg_server)


def test_objects_round_trip_and_a_second_put_of_a_key_is_one_row(pg_url):
    from simulator.keys import message_key
    from simulator.pgstore import PostgresStore

    a, b = PostgresStore(pg_url), PostgresStore(pg_url)  # two recorders, two connections
    message = {"role": "user", "content": "hello"}
    key = message_key(message)
    a.put("message", key, {"message": message})
    b.put("message", key, {"message": message})
    b.put_many({("message", key): {"message": message}, ("run", "r1"): {"n": 1}})
    assert a.count() == 2
    assert b.get("message", key) == {"message": message}
    assert a.contains("message", key) and not a.contains("message", "0" * 64)
    assert a.get("message", "0" * 64) is None
    # Runs (not content-addressed) are replaced, as in a disk cache.
    a.put("run", "r1", {"n": 2})
    assert b.get("run", "r1") == {"n": 2}
    assert list(b.iter("run")) == [("r1", {"n": 2})]


def test_a_corrupt_or_mis_keyed_row_is_refused_with_its_kind_and_key(pg_url):
    import psycopg

    from simulator.keys import canonical_json, message_key, sha256
    from simulator.pgstore import PostgresStore, StoreCorrupt

    store = PostgresStore(pg_url)
    message = {"role": "user", "content": "hello"}
    key = message_key(message)
    store.put("message", key, {"message": message})
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE twinsim_objects SET value = replace(value, 'hello', 'HELLO')")
    with pytest.raises(StoreCorrupt, match=f"message {key[:12]}.*checksum"):
        store.get("message", key)
    other = canonical_json({"message": {"role": "user", "content": "bye"}}).decode()
    with psycopg.connect(pg_url, autocommit=True) as conn:  # consistent checksum, but not this key's content
        conn.execute("UPDATE twinsim_objects SET value = %s, checksum = %s", (other, sha256(other)))
    with pytest.raises(StoreCorrupt, match="does not match its key material"):
        store.get("message", key)
    with pytest.raises(StoreCorrupt):
        list(store.iter("message"))


def test_export_of_the_database_is_byte_identical_to_export_of_a_disk_cache(pg_url, tmp_path):
    twinsim("import", str(QUICKSTART), "--store", pg_url)
    twinsim("import", str(QUICKSTART), "--cache", str(tmp_path / "cache"))
    from_db = twinsim("export", pg_url, str(tmp_path / "db" / "qs"))
    twinsim("export", str(tmp_path / "cache"), str(tmp_path / "disk" / "qs"))
    for name in ("objects.jsonl.gz", "manifest.json"):
        assert (tmp_path / "db" / "qs" / name).read_bytes() == (tmp_path / "disk" / "qs" / name).read_bytes()
    # Every object of the recording is there, and the export replays strictly as the recording does.
    quick = twinsim("replay", str(QUICKSTART), "--json", "-", "-q").stdout
    again = twinsim("replay", str(tmp_path / "db" / "qs"), "--json", "-", "-q").stdout
    assert '"exact": 16' in again and again.replace('"qs"', '"quickstart"') == quick
    assert PASSWORD not in from_db.stdout + from_db.stderr


def test_twinsim_store_selects_the_database_and_no_output_shows_its_password(pg_url, tmp_path):
    imported = twinsim("import", str(QUICKSTART), env={"TWINSIM_STORE": pg_url})
    assert "imported" in imported.stderr and "***@" in imported.stderr
    assert PASSWORD not in imported.stdout + imported.stderr
    wrong = pg_url.replace(PASSWORD, "not-the-password")
    failed = twinsim("export", wrong, str(tmp_path / "out"), check=False)
    assert failed.returncode != 0 and "cannot connect to postgresql://twinsim:***@" in failed.stderr
    assert "not-the-password" not in failed.stdout + failed.stderr
    from simulator.store import open_store

    assert PASSWORD not in repr(open_store(pg_url))


URL_SAFE = string.ascii_letters + string.digits + "-._~%!$&'()*+,;="  # a password in a URL, percent-encoded


@given(st.text(alphabet=URL_SAFE, min_size=1), st.text(alphabet=string.printable.replace("@", "")))
def test_scrub_url_never_leaves_a_password(password, text):
    from simulator.pgstore import scrub_url

    scrubbed = scrub_url(f"{text} postgresql://u:{password}@host:5432/db {text}")
    assert f"u:{password}@" not in scrubbed and "postgresql://u:***@host:5432/db" in scrubbed


HOLDER = """
import sys, time
from simulator.pgstore import PostgresStore
store = PostgresStore(sys.argv[1])
with store.lease("response", "k" * 64):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_lease_makes_others_wait_and_dies_with_its_holder(pg_url):
    from simulator.pgstore import PostgresStore

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, pg_url],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        acquired = threading.Event()

        def wait_for_lease():
            with PostgresStore(pg_url).lease("response", "k" * 64):
                acquired.set()

        waiter = threading.Thread(target=wait_for_lease, daemon=True)
        waiter.start()
        assert not acquired.wait(2), "a second holder got the lease while the first held it"
        with PostgresStore(pg_url).lease("response", "other" * 12):  # other keys are not held
            pass
        holder.send_signal(signal.SIGKILL)
        assert acquired.wait(30), "the lease outlived its killed holder"
    finally:
        holder.kill()
        holder.wait()
