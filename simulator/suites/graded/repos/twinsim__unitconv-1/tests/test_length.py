from unitconv.length import miles_to_km


def test_miles_to_km():
    assert round(miles_to_km(10), 3) == 16.093


def test_zero():
    assert miles_to_km(0) == 0
