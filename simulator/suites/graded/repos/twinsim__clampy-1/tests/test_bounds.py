import pytest

from clampy.bounds import clamp, in_range


def test_below_range():
    assert clamp(-5, 0, 10) == 0


def test_empty_range():
    with pytest.raises(ValueError):
        clamp(1, 5, 0)


def test_in_range():
    assert in_range(3, 0, 10) and not in_range(11, 0, 10)
