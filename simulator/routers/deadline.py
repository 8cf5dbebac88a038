"""A time limit on a router's select() in this process: a router that sleeps, loops or waits forever is stopped.

It is a SIGALRM timer (`setitimer`), so it interrupts a sleep or a blocking call in the
main thread of any process, worker processes included. Where there is no such timer
(another thread, a platform without SIGALRM) there is no limit; an earlier alarm set by
someone else is left to fire first and is re-armed afterwards.
"""

import signal
import threading
import time
from _signal import signal as set_handler  # signal.signal without its enum conversions (~half its cost per step)
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class SelectTimeout(BaseException):
    """Raised inside a router that ran past its limit (a BaseException: `except Exception` in it cannot swallow it)."""


@dataclass
class Deadline:
    seconds: float
    expired: bool = False


@contextmanager
def time_limit(seconds: float) -> Iterator[Deadline]:
    """Raise SelectTimeout in the block after `seconds` (0: no limit); `expired` says it fired (even if swallowed)."""
    deadline = Deadline(seconds)
    outer = signal.getitimer(signal.ITIMER_REAL)[0] if hasattr(signal, "setitimer") else 0.0
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds <= 0 or not usable or 0 < outer <= seconds:
        yield deadline
        return

    def expire(signum, frame):
        deadline.expired = True
        raise SelectTimeout(seconds)

    previous = set_handler(signal.SIGALRM, expire)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield deadline
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        set_handler(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 1e-3))
