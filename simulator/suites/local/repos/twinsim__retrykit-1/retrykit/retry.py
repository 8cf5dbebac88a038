"""Call a function again when it raises."""
import time

from .backoff import delays


def retry(func, retries=3, base=0.5, sleep=time.sleep):
    """Call `func` until it succeeds, sleeping between attempts; re-raise the last error."""
    for wait in delays(retries, base):
        try:
            return func()
        except Exception:
            sleep(wait)
    return func()
