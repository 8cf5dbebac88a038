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

TIMERS = hasattr(signal, "setitimer")


class SelectTimeout(BaseException):
    """Raised inside a router that ran past its limit (a BaseException: `except Exception` in it cannot swallow it)."""


class Deadline:
    """Raises SelectTimeout in its `with` block after `seconds` (0: no limit); `expired` says it fired (even if
    swallowed). A class, not a generator: it is entered at every router step."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.expired, self.armed = seconds, False, False

    def __enter__(self) -> "Deadline":
        self.outer = signal.getitimer(signal.ITIMER_REAL)[0] if TIMERS else 0.0
        usable = TIMERS and threading.current_thread() is threading.main_thread()
        if self.seconds <= 0 or not usable or 0 < self.outer <= self.seconds:
            return self
        self.previous = set_handler(signal.SIGALRM, self.expire)
        self.start, self.armed = time.monotonic(), True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def expire(self, signum, frame):
        self.expired = True
        raise SelectTimeout(self.seconds)

    def __exit__(self, *exc) -> None:
        if not self.armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        set_handler(signal.SIGALRM, self.previous)
        if self.outer:
            signal.setitimer(signal.ITIMER_REAL, max(self.outer - (time.monotonic() - self.start), 1e-3))
