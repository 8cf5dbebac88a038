from retrykit import delays


def test_no_retries():
    assert delays(0) == []


def test_one_delay_per_retry():
    assert len(delays(4)) == 4


def test_delays_are_capped():
    assert delays(10, base=1.0, cap=5.0)[-1] == 5.0
