from percent.fmt import percent


def test_zero_whole():
    assert percent(3, 0) == 0.0


def test_zero_part():
    assert percent(0, 7) == 0.0
