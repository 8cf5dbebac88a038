import pytest

from appconf import load_config, parse
from appconf.defaults import DEFAULTS


def test_parse():
    assert parse("port = 9000\nhost = example.org") == {"port": 9000, "host": "example.org"}


def test_parse_comments():
    assert parse("# comment\nretries = 5  # more\n") == {"retries": 5}


def test_parse_bad_line():
    with pytest.raises(ValueError):
        parse("timeout 5")


def test_defaults_when_empty():
    assert load_config("") == DEFAULTS


def test_extra_keys_are_kept():
    assert load_config("log_file = app.log")["log_file"] == "app.log"
