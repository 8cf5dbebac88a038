"""Corrupted recordings are refused, each with the line named: random byte flips (in the objects and in
the compressed stream), truncations, duplicated and reordered lines, on a slice of the quickstart recording."""

import gzip
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.recording import MANIFEST, OBJECTS, RecordingError, load_recording

QUICKSTART = Path(__file__).resolve().parent.parent / "recordings" / "quickstart"
LINES = gzip.decompress((QUICKSTART / OBJECTS).read_bytes()).splitlines(keepends=True)[::25]  # every kind, in order
CASES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
GZIP_HEADER = 10  # magic, method, flags, mtime, extra flags, OS: no content, nothing to verify


@pytest.fixture
def folder(tmp_path) -> Path:
    shutil.copy(QUICKSTART / MANIFEST, tmp_path / MANIFEST)
    return tmp_path


def write(folder: Path, lines: list[bytes]) -> None:
    (folder / OBJECTS).write_bytes(gzip.compress(b"".join(lines), mtime=0))


def refused(folder: Path) -> str:
    with pytest.raises(RecordingError, match=r"line \d+") as e:
        load_recording(folder)
    return str(e.value)


def test_the_slice_itself_loads(folder):
    write(folder, LINES)
    recording = load_recording(folder)
    assert len(recording.objects) == len(LINES)
    assert {kind for kind, _ in recording.objects} >= {"message", "prefix", "response", "observation"}
    assert all(isinstance(v, dict) for v in recording.objects.values())  # every lazy value parses


@CASES
@given(position=st.integers(0, sum(map(len, LINES)) - 1), bits=st.integers(1, 255))
def test_a_flipped_byte_in_an_object_line_is_refused(folder, position, bits):
    data = bytearray(b"".join(LINES))
    data[position] ^= bits
    (folder / OBJECTS).write_bytes(gzip.compress(bytes(data), mtime=0))
    refused(folder)


@CASES
@given(data=st.data())
def test_a_flipped_byte_in_the_compressed_file_is_refused(folder, data):
    write(folder, LINES)
    raw = bytearray((folder / OBJECTS).read_bytes())
    raw[data.draw(st.integers(GZIP_HEADER, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    (folder / OBJECTS).write_bytes(bytes(raw))
    refused(folder)


@CASES
@given(data=st.data())
def test_a_truncated_file_is_refused(folder, data):
    write(folder, LINES)
    raw = (folder / OBJECTS).read_bytes()
    (folder / OBJECTS).write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
    assert "truncated or corrupt" in refused(folder)


@CASES
@given(line=st.integers(0, len(LINES) - 1), cut=st.integers(1, 10_000))
def test_a_line_cut_short_is_refused(folder, line, cut):
    cut = min(cut, len(LINES[line]) - 1)
    write(folder, [*LINES[:line], LINES[line][:-cut]])
    assert f"line {line + 1}" in refused(folder)


@CASES
@given(line=st.integers(0, len(LINES) - 1), at=st.integers(0, len(LINES)))
def test_a_duplicated_line_is_refused(folder, line, at):
    write(folder, [*LINES[:at], LINES[line], *LINES[at:]])
    assert re.search("a duplicate of an earlier line|out of sorted order", refused(folder))


@CASES
@given(pair=st.lists(st.integers(0, len(LINES) - 1), min_size=2, max_size=2, unique=True))
def test_two_lines_swapped_are_refused(folder, pair):
    lines = list(LINES)
    i, j = pair
    lines[i], lines[j] = lines[j], lines[i]
    write(folder, lines)
    assert re.search("a duplicate of an earlier line|out of sorted order", refused(folder))
