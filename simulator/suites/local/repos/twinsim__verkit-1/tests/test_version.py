import pytest

from verkit import parse_version


def test_invalid_version():
    with pytest.raises(ValueError):
        parse_version("1.x")


def test_order():
    assert parse_version("v1.2") < parse_version("1.3")
