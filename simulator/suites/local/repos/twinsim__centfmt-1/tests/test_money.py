from centfmt import format_cents, parse_cents


def test_format_positive():
    assert format_cents(1234) == "$12.34"


def test_format_thousands():
    assert format_cents(123456789) == "$1,234,567.89"


def test_format_negative_whole_dollars():
    assert format_cents(-500) == "-$5.00"


def test_format_other_symbol():
    assert format_cents(5, symbol="€") == "€0.05"


def test_parse():
    assert parse_cents("$1,234.50") == 123450
    assert parse_cents("-$0.05") == -5
