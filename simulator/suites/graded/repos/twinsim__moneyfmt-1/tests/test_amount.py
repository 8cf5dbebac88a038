from moneyfmt.amount import format_amount


def test_positive():
    assert format_amount(1234567.891) == "1,234,567.89 EUR"


def test_small():
    assert format_amount(5, "USD") == "5.00 USD"


def test_small_negative():
    assert format_amount(-12.5) == "-12.50 EUR"
