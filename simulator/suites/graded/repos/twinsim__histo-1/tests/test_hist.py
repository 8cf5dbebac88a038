import pytest

from histo.hist import histogram


def test_no_values():
    with pytest.raises(ValueError):
        histogram([], 3)


def test_bad_bins():
    with pytest.raises(ValueError):
        histogram([1], 0)
