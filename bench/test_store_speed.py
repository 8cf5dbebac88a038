"""Store speed: put and get latency and throughput of the PostgreSQL store vs diskcache (the quickstart's objects).

Run: python -m pytest bench/test_store_speed.py -s   (see README for the numbers)
The server is a local one started here (initdb + pg_ctl on a temporary directory, fsync off as in the tests:
a server with fsync on pays one WAL flush per put on top).
"""

import random
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pgserver import fresh_database, postgres_server  # noqa: E402

QUICKSTART = Path(__file__).resolve().parent.parent / "recordings" / "quickstart"


@pytest.fixture(scope="module")
def objects():
    from simulator.recording import load_recording

    return sorted(load_recording(QUICKSTART).objects.items())


@pytest.fixture(scope="module")
def pg_server():
    with postgres_server() as url:
        yield url


def open_store(kind: str, pg_server: str, tmp_path: Path):
    from simulator.pgstore import PostgresStore
    from simulator.store import DiskStore

    return DiskStore(tmp_path / "cache") if kind == "diskcache" else PostgresStore(fresh_database(pg_server))


@pytest.mark.parametrize("kind", ["diskcache", "postgresql"])
def test_put_latency(benchmark, kind, objects, pg_server, tmp_path):
    """One new object per put (its own transaction), the quickstart's objects in order."""
    store, todo = open_store(kind, pg_server, tmp_path), iter(objects)

    def put_next():
        (k, key), value = next(todo)
        store.put(k, key, value)

    benchmark.pedantic(put_next, rounds=1000, iterations=1, warmup_rounds=20)


@pytest.mark.parametrize("kind", ["diskcache", "postgresql"])
def test_get_latency(benchmark, kind, objects, pg_server, tmp_path):
    """A hit on a random stored object (PostgreSQL verifies checksum and key on every read; diskcache does not)."""
    store = open_store(kind, pg_server, tmp_path)
    for (k, key), value in objects:
        store.put(k, key, value)
    rng = random.Random(0)

    def get_one():
        (k, key), _ = objects[rng.randrange(len(objects))]
        assert store.get(k, key) is not None

    benchmark.pedantic(get_one, rounds=2000, iterations=1, warmup_rounds=20)


@pytest.mark.parametrize("kind", ["diskcache", "postgresql"])
def test_bulk_import_throughput(kind, objects, pg_server, tmp_path):
    """The whole quickstart in one transaction (put_many, as imports stage runs), then read back whole."""
    store = open_store(kind, pg_server, tmp_path)
    size = sum(len(str(v)) for _, v in objects)
    start = time.perf_counter()
    store.put_many(dict(objects))
    put_sec = time.perf_counter() - start
    start = time.perf_counter()
    read = sum(1 for k in {k for (k, _), _ in objects} for _ in store.iter(k))
    read_sec = time.perf_counter() - start
    assert read == len(objects)
    print(
        f"\n{kind}: put_many {len(objects)} objects ({size / 1e6:.1f} MB) in {put_sec:.2f} s = "
        f"{len(objects) / put_sec:,.0f} objects/s; iter back {len(objects) / read_sec:,.0f} objects/s"
    )


def _put_share(location: str, share: list) -> None:
    from simulator.store import open_store

    store = open_store(location)
    for (k, key), value in share:
        store.put(k, key, value)


@pytest.mark.parametrize("kind", ["diskcache", "postgresql"])
def test_three_writers_throughput(kind, objects, pg_server, tmp_path):
    """Three processes putting a third of the objects each, one put per object, at once (as three recorders)."""
    import multiprocessing

    location = str(tmp_path / "cache") if kind == "diskcache" else fresh_database(pg_server)
    if kind == "diskcache":  # its SQLite tables made once, before three processes open it
        open_store(kind, pg_server, tmp_path)
    shares = [objects[i::3] for i in range(3)]
    workers = [multiprocessing.get_context("fork").Process(target=_put_share, args=(location, s)) for s in shares]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - start
    assert all(w.exitcode == 0 for w in workers)
    print(f"\n{kind}: 3 writers, {len(objects)} puts in {wall:.2f} s = {len(objects) / wall:,.0f} puts/s in total")
