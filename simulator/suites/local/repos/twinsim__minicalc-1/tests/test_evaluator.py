import pytest

from minicalc import evaluate


def test_addition():
    assert evaluate("1 + 2") == 3


def test_precedence():
    assert evaluate("2 + 3 * 4") == 14


def test_parentheses():
    assert evaluate("(2 + 3) * 4") == 20


def test_unary_minus():
    assert evaluate("-3 + 5") == 2


def test_division_is_fractional():
    assert evaluate("10 / 4") == 2.5


def test_unexpected_character():
    with pytest.raises(ValueError):
        evaluate("2 $ 3")


def test_missing_parenthesis():
    with pytest.raises(ValueError):
        evaluate("(1 + 2")
