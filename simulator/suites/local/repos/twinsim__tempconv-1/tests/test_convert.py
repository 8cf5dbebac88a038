import pytest

from tempconv import celsius_to_fahrenheit, celsius_to_kelvin, fahrenheit_to_celsius


def test_celsius_to_fahrenheit():
    assert celsius_to_fahrenheit(100) == 212


def test_celsius_to_kelvin():
    assert celsius_to_kelvin(0) == 273.15


def test_below_absolute_zero():
    with pytest.raises(ValueError):
        celsius_to_kelvin(-300)


def test_freezing_point():
    assert fahrenheit_to_celsius(32) == 0
