import pytest

from timespan import format_duration, parse_duration


def test_parse_hours_and_minutes():
    assert parse_duration("1h30m") == 5400


def test_parse_ignores_spaces_and_case():
    assert parse_duration("2H 5s") == 7205


def test_parse_invalid():
    with pytest.raises(ValueError):
        parse_duration("10 minutes")


def test_format():
    assert format_duration(5400) == "1h30m"


def test_format_zero():
    assert format_duration(0) == "0s"
