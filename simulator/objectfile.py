"""A recording's object lines, verified at the cost of hashing them, and held as bytes until first used.

Every line is `{"key":…,"kind":…,"sha256":…,"value":…}` in canonical JSON, so the value's canonical
bytes are the tail of the line as written: the checksum is the hash of that slice, with no parse and
no re-dump. Each key is recomputed from its key material: for messages, prefixes, observations and
responses (nearly all of a recording's bytes) from slices of those bytes (a value whose slices do not
read, say a nested field that looks like a key field, is parsed whole instead), so their values stay
bytes (`Encoded`) until something reads them; they are parsed and schema-checked then, and a bad one is
named by its line. Environments and evaluations are parsed and checked whole at load. Lines must end
with `}` and a newline.
"""

import json
import re
from collections.abc import Iterator, MutableMapping

from pydantic import ValidationError

from simulator import keys
from simulator.records import RECORD_TYPES, verify

HEADER = re.compile(rb'\{"key":"([0-9a-f]{64})","kind":"([a-z]+)","sha256":"([0-9a-f]{64})","value":')
PREFIX_VALUE = re.compile(rb'\{"message":"([0-9a-f]{64})","parent":"([0-9a-f]{64})"\}')
PARENT_TAIL = re.compile(rb',"parent":"([0-9a-f]{64})"\}\Z')
RESPONSE_PREFIX = re.compile(rb',"prefix":"([0-9a-f]{64})","provider_model":')
MESSAGE_HEAD = b'{"message":'
ACTION_HEAD = b'{"action":'


class LineError(ValueError):
    """What is wrong with one line (the caller names the file and the line)."""


class Encoded:
    """A verified value kept as its canonical bytes; `file` and `line` name it if its schema is wrong."""

    __slots__ = ("data", "file", "line", "value")

    def __init__(self, data: bytes, file: str, line: int) -> None:
        self.data, self.file, self.line, self.value = data, file, line, None

    def decode(self, kind: str) -> dict:
        """The value, parsed and schema-checked once (copies of `Objects` share their `Encoded`)."""
        if self.value is None:
            value = json.loads(self.data)
            try:
                RECORD_TYPES[kind].model_validate(value)
            except ValidationError as e:
                raise LineError(f"{self.file} line {self.line}: {kind} is malformed: {e}") from None
            self.value = value
        return self.value


def parse_line(line: bytes, file: str, lineno: int) -> tuple[str, str, dict | Encoded]:
    """(kind, key, value) of one object line, checksum and key verified; raises LineError."""
    header = HEADER.match(line)
    if not line.endswith(b"}\n"):
        raise LineError("cut short (every object line ends with `}` and a newline)")
    if header is None:
        raise LineError("not an object line (expected canonical JSON with key, kind, sha256 and value)")
    key, kind, digest = header.group(1).decode(), header.group(2).decode(), header.group(3).decode()
    data = line[header.end() : -2]
    if keys.sha256(data) != digest:
        raise LineError(f"{kind} {key[:12]}…: content does not match its checksum")
    try:
        if kind in LAZY:
            # From slices of the bytes; a value they do not read (a nested look-alike field) is parsed.
            if LAZY[kind](data) != key and FULL[kind](data) != key:
                raise ValueError(f"{kind} {key[:12]}… does not match its key material")
            return kind, key, Encoded(data, file, lineno)
        value = json.loads(data)
        try:
            verify(kind, key, value)
        except ValidationError as e:
            raise ValueError(f"{kind} {key[:12]}… is malformed: {e}") from None
    except (ValueError, TypeError, KeyError) as e:
        raise LineError(str(e) if isinstance(e, ValueError) else f"{kind} {key[:12]}… is malformed: {e!r}") from None
    return kind, key, value


def _message_key(data: bytes) -> str:
    if not data.startswith(MESSAGE_HEAD):
        raise ValueError("a message value is {message: …}")
    return keys.sha256("message", data[len(MESSAGE_HEAD) : -1])


def _prefix_key(data: bytes) -> str:
    match = PREFIX_VALUE.fullmatch(data)
    if match is None:
        raise ValueError("a prefix value is {message: <key>, parent: <key>}")
    return keys.prefix_key(match.group(2).decode(), match.group(1).decode())


def _observation_key(data: bytes) -> str:
    """From slices: the action (its canonical bytes as written, no tool-call id) and the parent."""
    parent, end = PARENT_TAIL.search(data, len(data) - 80), data.find(b',"duration_ms":')
    if not data.startswith(ACTION_HEAD) or parent is None or end < 0 or b'"tool_call_id"' in data[:end]:
        return ""
    return keys.sha256("observation", parent.group(1), data[len(ACTION_HEAD) : end])


def _response_key(data: bytes) -> str:
    """From slices: `prefix`, and from the tail `sample` and `tier` (`usage`, the last field, holds numbers)."""
    usage = data.rfind(b',"usage":')
    tier = data.rfind(b',"tier":', 0, usage)
    sample = data.rfind(b',"sample":', 0, tier)
    prefix = RESPONSE_PREFIX.search(data)
    if min(usage, tier, sample) < 0 or prefix is None:
        return ""
    return keys.sha256("response", prefix.group(1), data[tier + 8 : usage], data[sample + 10 : tier])


def _parsed_key(kind: str):
    def key(data: bytes) -> str:
        return RECORD_TYPES[kind].model_validate(json.loads(data)).key()

    return key


LAZY = {"message": _message_key, "prefix": _prefix_key, "observation": _observation_key, "response": _response_key}
FULL = {kind: _parsed_key(kind) for kind in LAZY}


class Objects(MutableMapping):
    """(kind, key) -> value of a recording; values still `Encoded` are parsed (and schema-checked) on first read.

    Copies share the parse (every replay of a loaded recording in this process parses an object once, not once
    per store), and the objects copied from keep the parsed value instead of its bytes."""

    def __init__(self, entries=None) -> None:
        self._entries: dict = dict(entries._entries if isinstance(entries, Objects) else entries or {})
        self._source: Objects | None = (entries._source or entries) if isinstance(entries, Objects) else None

    def __getitem__(self, item: tuple[str, str]) -> dict:
        value = self._entries[item]
        return self._decode(item, value) if type(value) is Encoded else value

    def get(self, item, default=None):
        value = self._entries.get(item, default)
        return self._decode(item, value) if type(value) is Encoded else value

    def _decode(self, item: tuple[str, str], encoded: Encoded) -> dict:
        value = self._entries[item] = encoded.decode(item[0])
        source = self._source
        if source is not None and source._entries.get(item) is encoded:
            source._entries[item] = value
        return value

    def __contains__(self, item) -> bool:
        return item in self._entries

    def __setitem__(self, item: tuple[str, str], value) -> None:
        self._entries[item] = value

    def __delitem__(self, item: tuple[str, str]) -> None:
        del self._entries[item]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def copy(self) -> "Objects":
        return Objects(self._entries)

    def __or__(self, other) -> "Objects":
        merged = self.copy()
        merged._entries.update(other._entries if isinstance(other, Objects) else other)
        return merged
