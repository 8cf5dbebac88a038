import pytest

from envcfg import parse_bool, parse_int


def test_parse_bool_false():
    assert parse_bool("no") is False


def test_parse_bool_invalid():
    with pytest.raises(ValueError):
        parse_bool("maybe")


def test_parse_int():
    assert parse_int("42") == 42
