import pytest

from roman.numerals import from_roman, to_roman


def test_to_roman():
    assert to_roman(1994) == "MCMXCIV"


def test_additive():
    assert from_roman("MDCLXVI") == 1666


def test_out_of_range():
    with pytest.raises(ValueError):
        to_roman(0)
