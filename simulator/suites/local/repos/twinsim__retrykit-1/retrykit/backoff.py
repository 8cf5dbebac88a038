"""Exponential backoff schedules."""


def delays(retries, base=0.5, factor=2.0, cap=30.0):
    """Seconds to wait before each retry: base, base*factor, base*factor**2, ... at most `cap`."""
    return [min(base * factor ** i, cap) for i in range(1, retries + 1)]
