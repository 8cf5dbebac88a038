"""A token-bucket rate limiter."""

from .clock import MonotonicClock


class TokenBucket:
    """Up to `capacity` tokens; `rate` tokens come back per second, never more than `capacity`."""

    def __init__(self, capacity, rate, clock=None):
        self.capacity = capacity
        self.rate = rate
        self.clock = clock or MonotonicClock()
        self.tokens = capacity
        self.updated = self.clock.now()

    def _refill(self):
        now = self.clock.now()
        self.tokens = self.tokens + (now - self.updated) * self.rate

    def allow(self, cost=1):
        """Take `cost` tokens if there are enough; say whether the request may go ahead."""
        self._refill()
        if self.tokens >= cost:
            self.tokens -= cost
            self.updated = self.clock.now()
            return True
        return False
