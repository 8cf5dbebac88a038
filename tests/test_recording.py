"""Recordings: byte-reproducible, verified on load, merged by union; stores keep objects."""

import gzip
import json
import multiprocessing
import os
import signal

import pytest

from simulator import keys
from simulator.config import load_agent_config, load_pool
from simulator.recording import (
    Recording,
    RecordingError,
    import_recording,
    load_recording,
    merge,
    recording_from_store,
    save_recording,
)
from simulator.records import Manifest
from simulator.store import DiskStore, LayeredStore, MemoryStore


def manifest(name="t") -> Manifest:
    return Manifest(
        name=name,
        pool=load_pool("local"),
        agent=load_agent_config("textbased"),
        suite={"name": "local", "version": "1", "sha256": "x"},
    )


def response(content: str, sample: int = 0) -> tuple[str, dict]:
    chain = keys.PrefixChain()
    head = chain.extend_to([{"role": "user", "content": content}])
    spec = keys.tier_spec("openai/m", {"temperature": 0})
    record = {
        "prefix": head,
        "tier": spec,
        "sample": sample,
        "message": {"role": "assistant", "content": "ok " + content},
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "cached_tokens": 0},
        "latency_ms": 5,
        "raw": {"id": "x"},
    }
    return keys.response_key(head, spec, sample), record


def small_recording(n=5, name="t") -> Recording:
    objects = {}
    for i in range(n):
        key, record = response(f"q{i}")
        objects[("response", key)] = record
    return Recording(manifest(name), objects)


def test_save_is_byte_reproducible(tmp_path):
    rec = small_recording()
    save_recording(rec, tmp_path / "a")
    save_recording(load_recording(tmp_path / "a"), tmp_path / "b")
    for f in ("manifest.json", "objects.jsonl.gz"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert load_recording(tmp_path / "b").objects == rec.objects


def _rewrite_line(path, lineno, edit):
    lines = gzip.decompress((path / "objects.jsonl.gz").read_bytes()).decode().splitlines(keepends=True)
    lines[lineno - 1] = edit(lines[lineno - 1])
    (path / "objects.jsonl.gz").write_bytes(gzip.compress("".join(lines).encode()))


def test_an_edited_object_is_refused_with_its_line(tmp_path):
    save_recording(small_recording(), tmp_path)
    _rewrite_line(tmp_path, 3, lambda line: line.replace('"ok ', '"OK '))
    with pytest.raises(RecordingError, match=r"line 3: response .* checksum"):
        load_recording(tmp_path)


def test_an_object_under_the_wrong_key_is_refused(tmp_path):
    save_recording(small_recording(), tmp_path)

    def swap_key(line):
        entry = json.loads(line)
        entry["key"] = "f" * 64
        return keys.canonical_json(entry).decode() + "\n"

    _rewrite_line(tmp_path, 2, swap_key)
    with pytest.raises(RecordingError, match=r"line 2: response fffffffffff.* does not match its key"):
        load_recording(tmp_path)


def test_a_truncated_file_is_refused(tmp_path):
    save_recording(small_recording(50), tmp_path)
    data = (tmp_path / "objects.jsonl.gz").read_bytes()
    (tmp_path / "objects.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordingError, match="truncated or corrupt"):
        load_recording(tmp_path)


def test_a_malformed_manifest_is_refused(tmp_path):
    save_recording(small_recording(), tmp_path)
    (tmp_path / "manifest.json").write_text('{"schema_version": 1}')
    with pytest.raises(RecordingError, match="manifest.json is malformed"):
        load_recording(tmp_path)


def test_a_newer_schema_is_refused_with_a_hint_to_upgrade(tmp_path):
    save_recording(small_recording(), tmp_path)
    manifest_file = tmp_path / "manifest.json"
    manifest_file.write_text(manifest_file.read_text().replace('"schema_version": 1', '"schema_version": 2'))
    with pytest.raises(RecordingError, match="schema_version 2; this twinsim reads up to 1: upgrade twinsim"):
        load_recording(tmp_path)


def test_a_missing_objects_file_is_named(tmp_path):
    save_recording(small_recording(), tmp_path)
    (tmp_path / "objects.jsonl.gz").unlink()
    with pytest.raises(RecordingError, match="not a complete recording: no objects.jsonl.gz"):
        load_recording(tmp_path)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda lines: lines[:3] + [lines[2]] + lines[3:], "line 4: response .* a duplicate of an earlier line"),
        (lambda lines: lines[:1] + [lines[2], lines[1]] + lines[3:], "line 3: response .* out of sorted order"),
    ],
)
def test_duplicate_or_unsorted_lines_are_refused_with_their_line(tmp_path, edit, expected):
    save_recording(small_recording(), tmp_path)
    objects = tmp_path / "objects.jsonl.gz"
    lines = gzip.decompress(objects.read_bytes()).decode().splitlines(keepends=True)
    objects.write_bytes(gzip.compress("".join(edit(lines)).encode()))
    with pytest.raises(RecordingError, match=expected):
        load_recording(tmp_path)


def test_merge_is_a_union_and_refuses_other_setups():
    a, b = small_recording(3), small_recording(5)
    extra_key, extra = response("only in a")
    a.objects[("response", extra_key)] = extra
    merged = merge(a, b)
    assert set(merged.objects) == set(a.objects) | set(b.objects)
    other = small_recording()
    other.manifest.pool.cache_ttl_sec = 1
    with pytest.raises(RecordingError, match="different pool"):
        merge(a, other)


def test_export_and_import_round_trip_through_a_disk_store(tmp_path):
    rec = small_recording()
    store = DiskStore(tmp_path / "cache")
    assert import_recording(rec, store) == 5
    assert import_recording(rec, store) == 0
    assert recording_from_store(store, manifest()).objects == rec.objects
    assert recording_from_store(MemoryStore(), manifest()).objects == {}


def _writer(directory, ready):
    store = DiskStore(directory)
    for i in range(100000):
        key, record = response(f"w{i}")
        store.put("response", key, record)
        if i == 20:
            ready.set()


def test_disk_store_keeps_every_finished_put_when_the_process_is_killed(tmp_path):
    ready = multiprocessing.Event()
    proc = multiprocessing.get_context("fork").Process(target=_writer, args=(tmp_path, ready))
    proc.start()
    assert ready.wait(30)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    stored = dict(DiskStore(tmp_path).iter("response"))
    assert len(stored) > 20
    for i in range(len(stored) - 1):  # every object before the one in flight is there and intact
        key, record = response(f"w{i}")
        assert stored[key] == record


def test_a_layered_store_reads_the_recording_first_and_writes_only_on_top(tmp_path):
    (k1, v1), (k2, v2), (k3, v3) = response("in the recording"), response("on top"), response("new")
    base, top = MemoryStore(), DiskStore(tmp_path / "cache")
    base.put("response", k1, v1)
    top.put("response", k2, v2)
    top.put("response", k1, v1 | {"latency_ms": 99})  # a stale copy below the recording's
    layered = LayeredStore(base, top)
    assert layered.get("response", k1) == v1 and layered.get("response", k2) == v2
    assert layered.get("response", k3) is None and not layered.contains("response", k3)
    layered.put("response", k3, v3)
    assert base.objects == {("response", k1): v1}  # the recording is never written
    assert top.get("response", k3) == v3 and layered.contains("response", k3)
    assert list(layered.iter("response")) == sorted({k1: v1, k2: v2, k3: v3}.items())
    assert list(layered.iter("evaluation")) == []


def test_stores_of_a_loaded_recording_parse_an_object_once_and_write_only_their_own(tmp_path):
    save_recording(small_recording(2), tmp_path / "rec")
    loaded = load_recording(tmp_path / "rec")
    (kind, key), other = sorted(loaded.objects)[:2]
    first, second = loaded.store(), loaded.store()
    value = first.get(kind, key)
    assert second.get(kind, key) is value and loaded.objects[(kind, key)] is value  # parsed once, for every store
    first.put(*other, {"written": "by the first"})
    assert second.get(*other) != {"written": "by the first"} and loaded.objects[other] != {"written": "by the first"}
