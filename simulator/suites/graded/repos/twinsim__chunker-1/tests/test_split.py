import pytest

from chunker.split import chunks


def test_even_split():
    assert chunks([1, 2, 3, 4], 2) == [[1, 2], [3, 4]]


def test_bad_size():
    with pytest.raises(ValueError):
        chunks([1], 0)


def test_strings():
    assert chunks("abcdef", 3) == ["abc", "def"]
