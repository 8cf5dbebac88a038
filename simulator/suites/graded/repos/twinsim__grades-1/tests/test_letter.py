import pytest

from grades.letter import letter


def test_top():
    assert letter(97) == "A"


def test_fail():
    assert letter(12) == "F"


def test_out_of_range():
    with pytest.raises(ValueError):
        letter(101)
