import pytest

from retrykit import retry


def flaky(failures):
    calls = []

    def func():
        calls.append(1)
        if len(calls) <= failures:
            raise OSError("try again")
        return len(calls)

    return func


def test_eventually_succeeds():
    assert retry(flaky(2), retries=3, sleep=lambda s: None) == 3


def test_reraises_last_error():
    with pytest.raises(OSError):
        retry(flaky(10), retries=2, sleep=lambda s: None)
