import pytest

from dayrange.core import days_between


def test_same_day():
    assert days_between("2024-03-03", "2024-03-03") == 0


def test_not_a_date():
    with pytest.raises(ValueError):
        days_between("2024/03/03", "2024-03-04")
