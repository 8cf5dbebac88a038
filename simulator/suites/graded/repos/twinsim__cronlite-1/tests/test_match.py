import pytest

from cronlite.match import matches


def test_every_minute():
    assert matches("* * * * *", 7, 3, 9, 4, 2)


def test_exact():
    assert matches("30 8 * * *", 30, 8, 1, 1, 0) and not matches("30 8 * * *", 31, 8, 1, 1, 0)


def test_bad_expression():
    with pytest.raises(ValueError):
        matches("* * *", 0, 0, 1, 1, 0)
