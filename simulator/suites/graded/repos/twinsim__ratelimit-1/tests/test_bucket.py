from ratelimit.bucket import TokenBucket
from ratelimit.clock import FakeClock


def test_burst_up_to_capacity():
    bucket = TokenBucket(3, 1.0, FakeClock())
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]


def test_refill_after_a_second():
    clock = FakeClock()
    bucket = TokenBucket(1, 1.0, clock)
    assert bucket.allow() and not bucket.allow()
    clock.advance(1.0)
    assert bucket.allow()
