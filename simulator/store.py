"""Stores: where content-addressed objects live between runs.

A store maps (kind, key) to a JSON object. Runs are kept too (kind "run"),
keyed by their run id, so a store can be exported as a recording. A store's
location is a folder (diskcache) or a `postgresql://` URL (`pgstore`, shared by
many recorders).
"""

import json
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Protocol

import diskcache

from simulator.keys import canonical_json

DEFAULT_CACHE_DIR = Path("cache")


class Store(Protocol):
    def get(self, kind: str, key: str) -> dict | None: ...

    def put(self, kind: str, key: str, value: dict) -> None: ...

    def contains(self, kind: str, key: str) -> bool: ...

    def iter(self, kind: str) -> Iterator[tuple[str, dict]]: ...


def open_store(location: Path | str) -> Store:
    """The store at `location`: a PostgreSQL URL, else a diskcache folder."""
    from simulator.pgstore import PostgresStore, is_database_url

    return PostgresStore(location) if is_database_url(location) else DiskStore(location)


def lease(store: Store, kind: str, key: str):
    """Hold (kind, key) against other recorders sharing `store` while computing it live; a no-op for a store
    no other process writes to."""
    hold = getattr(store, "lease", None)
    return hold(kind, key) if hold else nullcontext()


class MemoryStore:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict] = {}

    def get(self, kind: str, key: str) -> dict | None:
        return self.objects.get((kind, key))

    def put(self, kind: str, key: str, value: dict) -> None:
        self.objects[(kind, key)] = value

    def contains(self, kind: str, key: str) -> bool:
        return (kind, key) in self.objects

    def iter(self, kind: str) -> Iterator[tuple[str, dict]]:
        for (k, key), value in sorted(self.objects.items()):
            if k == kind:
                yield key, value


class DiskStore:
    """diskcache (SQLite) on disk: each put is its own committed transaction, so a
    process killed mid-run loses at most the object it was writing."""

    def __init__(self, directory: Path | str = DEFAULT_CACHE_DIR) -> None:
        self.directory = Path(directory)
        self.cache = diskcache.Cache(str(self.directory), size_limit=2**40, eviction_policy="none")

    def get(self, kind: str, key: str) -> dict | None:
        raw = self.cache.get(f"{kind}/{key}")
        return None if raw is None else json.loads(raw)

    def put(self, kind: str, key: str, value: dict) -> None:
        self.cache.set(f"{kind}/{key}", canonical_json(value), tag=kind)

    def put_many(self, objects: dict[tuple[str, str], dict]) -> None:
        """Several objects in one transaction: all or none of them survive a crash."""
        with self.cache.transact():
            for (kind, key), value in objects.items():
                self.put(kind, key, value)

    def contains(self, kind: str, key: str) -> bool:
        return f"{kind}/{key}" in self.cache

    def iter(self, kind: str) -> Iterator[tuple[str, dict]]:
        prefix = f"{kind}/"
        for name in sorted(k for k in self.cache.iterkeys() if k.startswith(prefix)):
            value = self.get(kind, name[len(prefix) :])
            if value is not None:
                yield name[len(prefix) :], value


class LayeredStore:
    """Reads a recording (in memory) first, then a writable store that takes every new object."""

    def __init__(self, base: Store, top: Store) -> None:
        self.base, self.top = base, top

    def get(self, kind: str, key: str) -> dict | None:
        value = self.base.get(kind, key)
        return value if value is not None else self.top.get(kind, key)

    def put(self, kind: str, key: str, value: dict) -> None:
        self.top.put(kind, key, value)

    def contains(self, kind: str, key: str) -> bool:
        return self.base.contains(kind, key) or self.top.contains(kind, key)

    def lease(self, kind: str, key: str):
        return lease(self.top, kind, key)

    def iter(self, kind: str) -> Iterator[tuple[str, dict]]:
        merged = dict(self.top.iter(kind)) | dict(self.base.iter(kind))
        yield from sorted(merged.items())
