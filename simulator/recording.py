"""Recordings: a portable folder with `manifest.json` and `objects.jsonl.gz`.

Every object line carries its kind, its key, its value and the SHA-256 of the
value; loading recomputes both, so a corrupt, edited or truncated file is
refused with the line that is wrong. Writing is byte-reproducible (sorted
lines, gzip without timestamp or name).
"""

import datetime
import gzip
import importlib.metadata
import json
import zlib
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from simulator.keys import canonical_json, sha256
from simulator.objectfile import Encoded, Objects, parse_line
from simulator.records import KINDS, Manifest, RunResult
from simulator.store import MemoryStore, Store

MANIFEST = "manifest.json"
OBJECTS = "objects.jsonl.gz"
SCHEMA_VERSION = Manifest.model_fields["schema_version"].default


class RecordingError(ValueError):
    pass


@dataclass
class Recording:
    manifest: Manifest
    objects: MutableMapping[tuple[str, str], dict] = field(default_factory=dict)
    """(kind, key) -> value; a loaded recording's are `Objects`, parsed on first read."""
    transitions: dict = field(default_factory=dict, repr=False, compare=False)
    """What the fast path of strict replay learned from replaying this recording in this process."""

    def store(self) -> MemoryStore:
        store = MemoryStore()
        store.objects = self.objects.copy()
        return store


def read_manifest(path: Path | str) -> Manifest:
    """The manifest alone: what a command needs before it loads (and verifies) the objects."""
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise RecordingError(f"{path} is not a recording: no {MANIFEST}")
    text = (path / MANIFEST).read_text()
    version = _schema_version(text)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise RecordingError(
            f"{path / MANIFEST} has schema_version {version}; this twinsim reads up to {SCHEMA_VERSION}: "
            "upgrade twinsim"
        )
    try:
        return Manifest.model_validate_json(text)
    except ValidationError as e:
        raise RecordingError(f"{path / MANIFEST} is malformed: {e}") from None


def _schema_version(text: str):
    try:
        return json.loads(text).get("schema_version")
    except (json.JSONDecodeError, AttributeError):
        return None  # the model validation names what is wrong


def load_recording(path: Path | str) -> Recording:
    """Every object, checksum and key verified (`objectfile`); lines in strictly increasing (kind, key) order."""
    path = Path(path)
    manifest = read_manifest(path)
    if not (path / OBJECTS).is_file():
        raise RecordingError(f"{path} is not a complete recording: no {OBJECTS}")
    objects: dict[tuple[str, str], dict | Encoded] = {}
    lineno = 0
    previous: tuple[str, str] | None = None
    file = str(path / OBJECTS)
    try:
        if (path / OBJECTS).stat().st_size == 0:  # not even an empty gzip stream
            raise EOFError("empty file")
        with gzip.open(path / OBJECTS, "rb") as fh:
            for lineno, line in enumerate(fh, 1):  # noqa: B007 (named in the error message)
                kind, key, value = parse_line(line, file, lineno)
                # Lines are written sorted and unique; anything else was edited or concatenated by hand.
                if previous is not None and (kind, key) <= previous:
                    order = "a duplicate of an earlier line" if (kind, key) == previous else "out of sorted order"
                    raise ValueError(f"{kind} {key[:12]}… is {order}")
                previous = (kind, key)
                objects[(kind, key)] = value
    except (EOFError, OSError, zlib.error) as e:
        raise RecordingError(f"{path / OBJECTS} is truncated or corrupt after line {lineno}: {e}") from None
    except ValueError as e:
        raise RecordingError(f"{path / OBJECTS} line {lineno}: {e}") from None
    return Recording(manifest, Objects(objects))


def save_recording(recording: Recording, path: Path | str) -> None:
    objects = recording.objects
    write_recording(path, recording.manifest, ((kind, key, objects[(kind, key)]) for kind, key in sorted(objects)))


def write_recording(path: Path | str, manifest: Manifest, objects: Iterable[tuple[str, str, dict]]) -> None:
    """Write a recording from (kind, key, value) in sorted order, streaming: one object in memory at a time."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    # Write-then-rename: an interrupted save never leaves a half recording behind.
    tmp = path / (OBJECTS + ".tmp")
    with tmp.open("wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
        for kind, key, value in objects:
            line = {"kind": kind, "key": key, "value": value, "sha256": sha256(canonical_json(value))}
            gz.write(canonical_json(line) + b"\n")
    tmp.replace(path / OBJECTS)
    write_manifest(path, manifest)


def write_manifest(path: Path | str, manifest: Manifest) -> None:
    text = json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False)
    _atomic_write(Path(path) / MANIFEST, (text + "\n").encode())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def recording_from_store(store: Store, manifest: Manifest) -> Recording:
    """Export: every object of the store, its runs and the sessions that made them into the manifest."""
    objects = {(kind, key): value for kind in KINDS for key, value in store.iter(kind)}
    runs = [RunResult.model_validate(v) for _, v in store.iter("run")]
    sessions = [v for _, v in store.iter("session")] + manifest.made_with.get("sessions", [])
    made_with = manifest.made_with | {"sessions": _dated(sessions)} if sessions else manifest.made_with
    return Recording(manifest.model_copy(update={"runs": _ordered(runs), "made_with": made_with}), objects)


def export_store(store: Store, manifest: Manifest, out: Path | str, made_by: dict | None = None) -> Recording:
    """Write the store's objects and runs as a recording at OUT, merged with what is there (the store wins).
    `made_by`, the session that computed them, is kept in the store too, so a later export names it as well."""
    if made_by:
        put_sessions(store, [made_by])
    recording = recording_from_store(store, manifest)
    if (Path(out) / MANIFEST).is_file():
        recording = merge(recording, load_recording(out))
    save_recording(recording, out)
    return recording


def session(command: str, wall_sec: float) -> dict:
    """A manifest session: the command, its date, its live wall time and the versions that ran it."""
    versions = {p: importlib.metadata.version(p) for p in ("twinsim", "mini-swe-agent", "litellm", "swebench")}
    return {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "live_wall_sec": round(wall_sec, 1),
        "versions": versions,
    }


def import_recording(recording: Recording, store: Store) -> int:
    """Import: put every object, run and session of the recording into the store; returns how many objects
    were new."""
    new = 0
    for (kind, key), value in sorted(recording.objects.items()):
        if not store.contains(kind, key):
            store.put(kind, key, value)
            new += 1
    for run in recording.manifest.runs:
        store.put("run", run_id(run), run.model_dump(mode="json"))
    put_sessions(store, recording.manifest.made_with.get("sessions", []))
    return new


def put_sessions(store: Store, sessions: list[dict]) -> None:
    """Keep the sessions that made a store's objects in the store (kind "session"), so its export names them."""
    for s in sessions:
        store.put("session", sha256("session", canonical_json(s)), s)


def _dated(sessions: list[dict]) -> list[dict]:
    """Sessions once each, in date order."""
    return sorted({canonical_json(s): s for s in sessions}.values(), key=lambda s: s.get("date", ""))


def run_id(run: RunResult) -> str:
    return sha256("run", run.router, run.instance_id, str(run.sample))


def _ordered(runs: list[RunResult]) -> list[RunResult]:
    return sorted(runs, key=lambda r: (r.router, r.instance_id, r.sample))


def check_same_setup(a: Manifest, b: Manifest) -> None:
    for part in ("pool", "agent", "suite"):
        if getattr(a, part) != getattr(b, part):
            raise RecordingError(f"cannot merge recordings with different {part}")


def merge(a: Recording, b: Recording) -> Recording:
    """Union of two recordings of the same pool, agent and suite; `a` wins where both have a run.
    The sessions that made them are all kept, in date order."""
    check_same_setup(a.manifest, b.manifest)
    runs = {run_id(r): r for r in b.manifest.runs} | {run_id(r): r for r in a.manifest.runs}
    sessions = [s for m in (a.manifest, b.manifest) for s in m.made_with.get("sessions", [])]
    made_with = b.manifest.made_with | a.manifest.made_with | {"sessions": _dated(sessions)}
    manifest = a.manifest.model_copy(update={"runs": _ordered(list(runs.values())), "made_with": made_with})
    return Recording(manifest, Objects(b.objects) | a.objects)
